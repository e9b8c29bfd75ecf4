"""The one training loop (demo zoo, baseline and candidates alike): AdamW, linear schedule,
evaluation on a dev split every few steps, early stopping, best dev checkpoint scored on eval.

Two ways to read a label off a model, chosen by its architecture:
- ClassifierOutput: encoder + freshly initialised classification (or regression) head;
- TextToTextOutput: encoder-decoder (T5) trained to write the label id as text, scored by
  restricted choice: the most likely of the allowed label strings, so a prediction is never an
  unparseable generation.
"""

from __future__ import annotations

import copy
import math
import random
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from model_recycling.devices import autocast, grad_scaler, loader_settings
from model_recycling.metrics import METRICS, NonFiniteError, require_finite
from model_recycling.modeling import (
    DEFAULT_BATCH_TOKENS,
    collate,
    length_grouped_batches,
    length_sorted_batches,
    model_inputs,
)
from model_recycling.progress import Progress
from model_recycling.tokenized import encoded_splits

SPLITS = ("train", "dev", "eval")


@dataclass(frozen=True)
class Hyperparameters:
    epochs: float = 10
    learning_rate: float = 5e-5
    batch_size: int = 256
    weight_decay: float = 0.01
    warmup_ratio: float = 0.0
    eval_every_steps: int = 50
    patience: int = 20
    min_delta: float = 0.001
    max_length: int = 250
    max_grad_norm: float = 1.0
    eval_batch_size: int = 256
    # Evaluation batches also stop at this many padded tokens (rows x longest row).
    eval_batch_tokens: int = DEFAULT_BATCH_TOKENS
    # Gradient accumulation: batches of batch_size are run in pieces of at most this many
    # examples (same result, less GPU memory). None: the whole batch at once.
    micro_batch_size: int | None = None
    # Training batches of similar lengths (modeling.length_grouped_batches): less padding, same
    # random batch order. False: plain random batches.
    group_by_length: bool = True

    @classmethod
    def from_config(cls, section: dict) -> Hyperparameters:
        known = {k: v for k, v in section.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def as_dict(self) -> dict:
        return asdict(self)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


class ClassifierOutput:
    """Logits of a classification head; one value for regression."""

    def __init__(self, task, tokenizer):
        self.regression = task.is_regression

    def loss(self, model, batch, labels):
        dtype = torch.float32 if self.regression else torch.long
        return model(
            **batch, labels=torch.as_tensor(labels, dtype=dtype, device=_device(model))
        ).loss

    def predict(self, model, batch) -> np.ndarray:
        logits = model(**batch).logits.float().cpu()
        require_finite(logits, "model outputs")  # NaN logits would still give an argmax
        return (logits[:, 0] if self.regression else logits.argmax(1)).numpy()


class TextToTextOutput:
    """Targets are label strings: the label id as text ("0", "1", ...) or, for regression, the
    value rounded to `regression_step` (as T5 did for STS-B)."""

    regression_step = 0.2

    def __init__(self, task, tokenizer):
        self.regression = task.is_regression
        if self.regression:
            values = {self._round(ex["label"]) for ex in task.train}
            self.choices = sorted(values)
            self.strings = [f"{v:g}" for v in self.choices]
        else:
            self.choices = list(range(task.num_labels))
            self.strings = [str(i) for i in self.choices]
        ids = tokenizer(self.strings)["input_ids"]
        width = max(len(i) for i in ids)
        self.targets = torch.tensor([i + [-100] * (width - len(i)) for i in ids])

    def _round(self, value: float) -> float:
        return round(round(value / self.regression_step) * self.regression_step, 6)

    def choice_of(self, label) -> int:
        if self.regression:
            return int(np.argmin([abs(c - label) for c in self.choices]))
        return int(label)

    def loss(self, model, batch, labels):
        targets = self.targets[[self.choice_of(label) for label in labels]]
        return model(**batch, labels=targets.to(_device(model))).loss

    def predict(self, model, batch) -> np.ndarray:
        """Log-likelihood of every allowed string; the best one wins."""
        encoder_outputs = model.get_encoder()(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        )
        n = batch["input_ids"].shape[0]
        scores = []
        for target in self.targets.to(_device(model)):
            labels = target.unsqueeze(0).expand(n, -1).contiguous()
            logits = model(
                encoder_outputs=encoder_outputs,
                attention_mask=batch["attention_mask"],
                labels=labels,
            ).logits.float()
            mask = labels != -100
            token_logp = logits.log_softmax(-1).gather(-1, labels.clamp(min=0).unsqueeze(-1))
            scores.append((token_logp.squeeze(-1) * mask).sum(-1))
        scores = torch.stack(scores, dim=1).cpu()
        require_finite(scores, "model outputs")
        best = scores.argmax(1).numpy()
        return np.array([self.choices[i] for i in best], dtype=float if self.regression else int)


def output_for(model, task, tokenizer):
    if getattr(model.config, "is_encoder_decoder", False):
        return TextToTextOutput(task, tokenizer)
    return ClassifierOutput(task, tokenizer)


def _device(model) -> torch.device:
    return next(model.parameters()).device


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
    model,
    output,
    features,
    labels,
    metric,
    pad_id,
    batch_size,
    device,
    threads=1,
    batch_tokens=DEFAULT_BATCH_TOKENS,
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


def _optimizer(model, hp: Hyperparameters):
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 else decay).append(param)  # no decay on biases, norms
    groups = [{"params": decay, "weight_decay": hp.weight_decay}, {"params": no_decay}]
    return torch.optim.AdamW(groups, lr=hp.learning_rate, weight_decay=0.0)


def _linear_schedule(optimizer, total_steps: int, warmup_ratio: float):
    warmup = int(total_steps * warmup_ratio)

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


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
    accepted = model_inputs(model)
    train, dev = encoded["train"], encoded["dev"]
    dev_labels = [ex["label"] for ex in task.dev]
    batches = _Batches(train, [ex["label"] for ex in task.train], pad_id, accepted)
    lengths = [len(f["input_ids"]) for f in train]

    steps_per_epoch = math.ceil(len(train) / hp.batch_size)
    total_steps = max(1, math.ceil(steps_per_epoch * hp.epochs))
    optimizer = _optimizer(model, hp)
    schedule = _linear_schedule(optimizer, total_steps, hp.warmup_ratio)
    scaler = grad_scaler(device)
    generator = torch.Generator().manual_seed(seed)

    best_dev, best_state, best_step, evals_without_gain, step = -math.inf, None, 0, 0, 0
    history, examples_trained, eval_seconds = [], 0, 0.0
    model.to(device)
    # total_steps is the most it can run: early stopping may end it sooner than the ETA says
    progress = Progress("train", total_steps)
    loop_started = time.perf_counter()
    while step < total_steps and evals_without_gain < hp.patience:
        if hp.group_by_length:
            order = length_grouped_batches(lengths, hp.batch_size, generator)
        else:
            order = [
                b.tolist()
                for b in torch.randperm(len(train), generator=generator).split(hp.batch_size)
            ]
        for batch, labels in _loader(batches, order, device, threads):
            model.train()
            optimizer.zero_grad(set_to_none=True)
            loss = 0.0
            for piece, piece_labels in _pieces(batch, labels, hp.micro_batch_size):
                piece = {k: v.to(device, non_blocking=True) for k, v in piece.items()}
                with autocast(device):
                    piece_loss = output.loss(model, piece, piece_labels)
                share = len(piece_labels) / len(labels)  # mean over the whole batch
                scaler.scale(piece_loss * share).backward()
                loss += piece_loss.item() * share
            if not math.isfinite(loss):  # stop before the update spreads it into every weight
                raise NonFiniteError(f"non-finite training loss at step {step + 1}")
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), hp.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            step += 1
            examples_trained += len(labels)
            last_evaluated = history[-1]["step"] if history else 0
            if dev_evaluation_due(step, total_steps, hp.eval_every_steps, last_evaluated):
                eval_started = time.perf_counter()
                try:
                    current = evaluate(
                        model, output, dev, dev_labels, metric, pad_id, hp.eval_batch_size,
                        device, batch_tokens=hp.eval_batch_tokens,
                    )["score"]  # fmt: skip
                except NonFiniteError as err:
                    raise NonFiniteError(f"{err} in the dev evaluation at step {step}") from err
                eval_seconds += time.perf_counter() - eval_started
                history.append({"step": step, "loss": loss, "dev_score": current})
                if current > best_dev + hp.min_delta or best_state is None:
                    best_dev, best_step, evals_without_gain = current, step, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    evals_without_gain += 1
            progress.step(len(labels), f"loss {loss:.4f}")
            if step >= total_steps or evals_without_gain >= hp.patience:
                break
    progress.finish(f"stopped early at step {step}, best dev step {best_step}")

    # Training alone: no tokenizing, no dev evaluation (the best-state copies stay in: they
    # are part of what a training step costs here).
    training_seconds = time.perf_counter() - loop_started - eval_seconds
    model.load_state_dict(best_state)
    evaluation = encoded["eval"]
    eval_labels = [ex["label"] for ex in task.eval]
    result = evaluate(
        model, output, evaluation, eval_labels, metric, pad_id, hp.eval_batch_size, device,
        threads, hp.eval_batch_tokens,
    )  # fmt: skip
    return {
        **result,
        "metric": metric,
        "dev_score": best_dev,
        "best_step": best_step,
        "steps": step,
        "epochs_run": step / steps_per_epoch,
        "stopped_early": evals_without_gain >= hp.patience,
        "n_train": len(train),
        "n_dev": len(dev),
        "train_seconds": time.perf_counter() - started,
        "training_seconds": training_seconds,
        "examples_trained": examples_trained,
        "train_examples_per_second": examples_trained / training_seconds,
        "history": history,
    }
