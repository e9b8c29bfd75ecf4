"""The one training loop (demo zoo, baseline and candidates alike): AdamW, linear schedule,
evaluation on a dev split every few steps, early stopping, best dev checkpoint scored on eval.

Read top-down: `finetune` plans each epoch's batches (`epoch_batches`), takes optimizer steps
(`Optimization.train_step`), lets `EarlyStopping` evaluate the dev split when due and keep the
best state, then scores that state on the eval split and returns the record.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from model_recycling.finetuning.outputs import output_for
from model_recycling.metrics import METRICS, NonFiniteError
from model_recycling.models.batching import (
    collate,
    length_grouped_batches,
    length_sorted_batches,
    model_inputs,
)
from model_recycling.models.devices import autocast, grad_scaler, loader_settings, seed_everything
from model_recycling.progress import Progress
from model_recycling.settings import with_defaults
from model_recycling.tasks.tokenized import encoded_splits

SPLITS = ("train", "dev", "eval")


@dataclass(frozen=True)
class Hyperparameters:
    """A cell's finetuning settings; their defaults and meaning: schemas/config.schema.yaml
    ($defs/hyperparameters)."""

    epochs: float
    learning_rate: float
    batch_size: int
    weight_decay: float
    warmup_ratio: float
    eval_every_steps: int
    patience: int
    min_delta: float
    max_length: int
    max_grad_norm: float
    eval_batch_size: int
    eval_batch_tokens: int  # evaluation batches stop at this many padded tokens
    micro_batch_size: int | None  # gradient accumulation: same result, less GPU memory
    group_by_length: bool  # training batches of similar lengths, in random order

    @classmethod
    def from_config(cls, section: dict) -> Hyperparameters:
        """The settings a config section gives, the schema's defaults for the rest (other keys,
        such as the job's device, are ignored)."""
        known = {k: v for k, v in section.items() if k in cls.__dataclass_fields__}
        return cls(**with_defaults(known, "hyperparameters"))

    def as_dict(self) -> dict:
        return asdict(self)


class _Batches(torch.utils.data.Dataset):
    """Pads a list of encoded examples into batches; a DataLoader adds workers and pinned
    memory on GPUs (devices.loader_settings)."""

    def __init__(self, features, labels, pad_id, accepted):
        self.features, self.labels, self.pad_id, self.accepted = features, labels, pad_id, accepted

    def __len__(self):
        return len(self.features)

    def __getitem__(self, i):
        return i

    def collate(self, indices):
        batch = collate([self.features[i] for i in indices], self.pad_id)
        return {k: v for k, v in batch.items() if k in self.accepted}, [
            self.labels[i] for i in indices
        ]


def _loader(batches: _Batches, batch_sampler, device, threads):
    return torch.utils.data.DataLoader(
        batches,
        batch_sampler=batch_sampler,
        collate_fn=batches.collate,
        **loader_settings(device, threads),
    )


def evaluate(
    model, output, features, labels, metric, pad_id, batch_size, device, batch_tokens, threads=1
):
    """Metric of the model's predictions; length-sorted batches capped by rows and padded
    tokens (less padding)."""
    accepted = model_inputs(model)
    sampler = length_sorted_batches(features, batch_size, batch_tokens)
    predictions = np.empty(len(features), dtype=float if output.regression else int)
    model.eval()
    loader = _loader(_Batches(features, labels, pad_id, accepted), sampler, device, threads)
    with torch.no_grad(), autocast(device):
        for indices, (batch, _) in zip(sampler, loader, strict=True):
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            predictions[indices] = output.predict(model, batch)
    return METRICS[metric](predictions, labels)


def _pieces(batch: dict, labels: list, size: int | None):
    if not size or size >= len(labels):
        yield batch, labels
        return
    for start in range(0, len(labels), size):
        yield {k: v[start : start + size] for k, v in batch.items()}, labels[start : start + size]


def _optimizer(model, hp: Hyperparameters, device):
    """AdamW, fused: one kernel per step over all weights, on CPUs too, where the default is a
    loop of small operations per weight (3.8 s against 0.9 s of 50 s at 2,000 examples, and
    far worse on a loaded machine). The HF Trainer's default (adamw_torch_fused) as well."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 else decay).append(param)  # no decay on biases, norms
    groups = [{"params": decay, "weight_decay": hp.weight_decay}, {"params": no_decay}]
    fused = device.type in ("cpu", "cuda")
    return torch.optim.AdamW(groups, lr=hp.learning_rate, weight_decay=0.0, fused=fused)


def _linear_schedule(optimizer, total_steps: int, warmup_ratio: float):
    warmup = int(total_steps * warmup_ratio)

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def epoch_batches(lengths: list, hp: Hyperparameters, generator: torch.Generator) -> list:
    """One epoch's batches (index lists): grouped by length in random order, or plain random
    batches. Seeded by `generator`."""
    if hp.group_by_length:
        return length_grouped_batches(lengths, hp.batch_size, generator)
    order = torch.randperm(len(lengths), generator=generator)
    return [b.tolist() for b in order.split(hp.batch_size)]


class Optimization:
    """AdamW with a linear schedule, gradient clipping and, for fp16, a gradient scaler."""

    def __init__(self, model, hp: Hyperparameters, total_steps: int, device):
        self.model, self.hp = model, hp
        self.optimizer = _optimizer(model, hp, device)
        self.schedule = _linear_schedule(self.optimizer, total_steps, hp.warmup_ratio)
        self.scaler = grad_scaler(device)

    def train_step(self, output, batch: dict, labels: list, device) -> torch.Tensor:
        """One optimizer step on a batch (in micro-batches when set); returns the batch's mean
        loss, on the device (Losses reads it)."""
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = torch.zeros((), device=device)
        for piece, piece_labels in _pieces(batch, labels, self.hp.micro_batch_size):
            piece = {k: v.to(device, non_blocking=True) for k, v in piece.items()}
            with autocast(device):
                piece_loss = output.loss(self.model, piece, piece_labels)
            share = len(piece_labels) / len(labels)  # mean over the whole batch
            self.scaler.scale(piece_loss * share).backward()
            loss += piece_loss.detach().float() * share
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.hp.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.schedule.step()
        return loss


class Losses:
    """Each step's training loss, kept on the device until it is read: at a dev evaluation, a
    progress line and the end of training (reading it every step would make the host wait for
    the GPU every step). A non-finite loss fails the cell at the next read, naming its step; the
    steps in between ran on a broken model, which is all they cost."""

    def __init__(self):
        self.pending, self.steps_read, self.last = [], 0, math.nan

    def add(self, loss: torch.Tensor) -> None:
        self.pending.append(loss)

    def latest(self) -> float:
        """The last step's loss, once every loss since the previous read is found finite."""
        if self.pending:
            values = torch.stack(self.pending).tolist()  # one transfer
            for step, value in enumerate(values, start=self.steps_read + 1):
                if not math.isfinite(value):
                    raise NonFiniteError(f"non-finite training loss at step {step}")
            self.pending, self.steps_read, self.last = [], self.steps_read + len(values), values[-1]
        return self.last


def dev_evaluation_due(step: int, total_steps: int, every: int, last_evaluated: int) -> bool:
    """Every `every` steps; at the last step too unless the last evaluation was less than half
    an interval before it. The best checkpoint is chosen among evaluated states, so there must
    be at least one (none yet: evaluate), and a real stretch of training after the last
    evaluation deserves a look; a few end-of-schedule steps at a near-zero learning rate barely
    change the model and are not worth a dev pass. Early stopping itself only ever breaks right
    after an evaluation, so it is unaffected."""
    if step % every == 0:
        return True
    return step == total_steps and (last_evaluated == 0 or step - last_evaluated >= every / 2)


class EarlyStopping:
    """Dev evaluations when due, the best state so far (a gain must exceed min_delta), and
    whether patience ran out."""

    def __init__(self, evaluate_dev, hp: Hyperparameters, total_steps: int):
        self.evaluate_dev, self.hp, self.total_steps = evaluate_dev, hp, total_steps
        self.best_dev, self.best_state, self.best_step = -math.inf, None, 0
        self.evals_without_gain, self.history, self.eval_seconds = 0, [], 0.0

    @property
    def out_of_patience(self) -> bool:
        return self.evals_without_gain >= self.hp.patience

    def after_step(self, model, step: int, losses: Losses) -> None:
        last_evaluated = self.history[-1]["step"] if self.history else 0
        if not dev_evaluation_due(step, self.total_steps, self.hp.eval_every_steps, last_evaluated):
            return
        loss = losses.latest()  # a non-finite training loss fails here, not in the evaluation
        started = time.perf_counter()
        try:
            current = self.evaluate_dev()["score"]
        except NonFiniteError as err:
            raise NonFiniteError(f"{err} in the dev evaluation at step {step}") from err
        self.eval_seconds += time.perf_counter() - started
        self.history.append({"step": step, "loss": loss, "dev_score": current})
        if current > self.best_dev + self.hp.min_delta or self.best_state is None:
            self.best_dev, self.best_step, self.evals_without_gain = current, step, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.evals_without_gain += 1


def _train(model, output, batches, lengths, hp, generator, optimizer, stopping, device, threads):
    """Epochs of optimizer steps until the last step or early stopping: (steps, examples
    trained, seconds of training alone: no tokenizing, no dev evaluation; the best-state copies
    stay in, they are part of what a step costs here)."""
    total_steps = stopping.total_steps
    step, examples_trained = 0, 0
    # total_steps is the most it can run: early stopping may end it sooner than the ETA says
    progress = Progress("train", total_steps)
    losses = Losses()
    loop_started = time.perf_counter()
    while step < total_steps and not stopping.out_of_patience:
        order = epoch_batches(lengths, hp, generator)
        for batch, labels in _loader(batches, order, device, threads):
            losses.add(optimizer.train_step(output, batch, labels, device))
            step += 1
            examples_trained += len(labels)
            stopping.after_step(model, step, losses)
            progress.step(len(labels), lambda: f"loss {losses.latest():.4f}")
            if step >= total_steps or stopping.out_of_patience:
                break
    losses.latest()  # the last steps' losses are checked too
    progress.finish(f"stopped early at step {step}, best dev step {stopping.best_step}")
    return step, examples_trained, time.perf_counter() - loop_started - stopping.eval_seconds


def finetune(
    model, tokenizer, task, hp: Hyperparameters, seed: int, device, threads=1, encoded=None
) -> dict:
    """Train `model` on task.train, early-stop on task.dev, score the best state on task.eval.
    Leaves the best state loaded in `model`. encoded: the three splits already encoded
    (tokenized.encoded_splits); None: encoded here."""
    seed_everything(seed)
    started = time.perf_counter()
    if encoded is None:
        encoded = encoded_splits(tokenizer, task, hp.max_length, SPLITS)
    pad_id, metric = tokenizer.pad_token_id, task.meta["metric"]
    output = output_for(model, task, tokenizer)
    train = encoded["train"]
    batches = _Batches(train, [ex["label"] for ex in task.train], pad_id, model_inputs(model))
    lengths = [len(f["input_ids"]) for f in train]
    steps_per_epoch = math.ceil(len(train) / hp.batch_size)
    total_steps = max(1, math.ceil(steps_per_epoch * hp.epochs))
    generator = torch.Generator().manual_seed(seed)
    dev_labels = [ex["label"] for ex in task.dev]
    stopping = EarlyStopping(
        lambda: evaluate(
            model, output, encoded["dev"], dev_labels, metric, pad_id, hp.eval_batch_size,
            device, hp.eval_batch_tokens,
        ),
        hp, total_steps,
    )  # fmt: skip
    model.to(device)
    optimizer = Optimization(model, hp, total_steps, device)
    step, examples_trained, training_seconds = _train(
        model, output, batches, lengths, hp, generator, optimizer, stopping, device, threads
    )
    model.load_state_dict(stopping.best_state)
    eval_labels = [ex["label"] for ex in task.eval]
    result = evaluate(
        model, output, encoded["eval"], eval_labels, metric, pad_id, hp.eval_batch_size, device,
        hp.eval_batch_tokens, threads,
    )  # fmt: skip
    return {
        **result,
        "metric": metric,
        "dev_score": stopping.best_dev,
        "best_step": stopping.best_step,
        "steps": step,
        "epochs_run": step / steps_per_epoch,
        "stopped_early": stopping.out_of_patience,
        "n_train": len(train),
        "n_dev": len(encoded["dev"]),
        "finetune_seconds": time.perf_counter() - started,
        "training_seconds": training_seconds,
        "examples_trained": examples_trained,
        "train_examples_per_second": examples_trained / training_seconds,
        "history": stopping.history,
    }
