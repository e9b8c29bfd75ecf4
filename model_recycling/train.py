"""The one training loop (demo zoo, baseline and candidates alike): AdamW, linear schedule,
evaluation on a dev split every few steps, early stopping, best dev checkpoint scored on eval."""

from __future__ import annotations

import copy
import math
import random
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from model_recycling.devices import autocast, grad_scaler
from model_recycling.metrics import METRICS
from model_recycling.modeling import collate, encode


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


def predict(model, features: list, pad_id: int, batch_size: int, device) -> np.ndarray:
    """Logits (classification) or values (regression), in input order, length-sorted batches."""
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    outputs = [None] * len(features)
    model.eval()
    with torch.no_grad(), autocast(device):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = collate([features[i] for i in idx], pad_id)
            logits = model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu()
            for i, row in zip(idx, logits, strict=True):
                outputs[i] = row.numpy()
    return np.stack(outputs)


def score(model, features, labels, metric: str, regression: bool, pad_id, batch_size, device):
    raw = predict(model, features, pad_id, batch_size, device)
    predictions = raw[:, 0] if regression else raw.argmax(axis=1)
    return METRICS[metric](predictions, labels)


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


def finetune(model, tokenizer, task, hp: Hyperparameters, seed: int, device) -> dict:
    """Train `model` on task.train, early-stop on task.dev, score the best state on task.eval.
    Leaves the best state loaded in `model`."""
    seed_everything(seed)
    started = time.perf_counter()
    pad_id = tokenizer.pad_token_id
    regression, metric = task.is_regression, task.meta["metric"]
    label_dtype = torch.float32 if regression else torch.long
    train = encode(tokenizer, task.train, hp.max_length)
    dev = encode(tokenizer, task.dev, hp.max_length)
    train_labels = [ex["label"] for ex in task.train]

    steps_per_epoch = math.ceil(len(train) / hp.batch_size)
    total_steps = max(1, math.ceil(steps_per_epoch * hp.epochs))
    optimizer = _optimizer(model, hp)
    schedule = _linear_schedule(optimizer, total_steps, hp.warmup_ratio)
    scaler = grad_scaler(device)
    generator = torch.Generator().manual_seed(seed)

    def dev_score():
        labels = [ex["label"] for ex in task.dev]
        return score(model, dev, labels, metric, regression, pad_id, hp.eval_batch_size, device)

    best_dev, best_state, best_step, evals_without_gain, step = -math.inf, None, 0, 0, 0
    history = []
    model.to(device)
    while step < total_steps and evals_without_gain < hp.patience:
        for batch_idx in torch.randperm(len(train), generator=generator).split(hp.batch_size):
            model.train()
            batch = collate([train[i] for i in batch_idx], pad_id)
            labels = torch.tensor([train_labels[i] for i in batch_idx], dtype=label_dtype)
            batch = {k: v.to(device) for k, v in batch.items()}
            with autocast(device):
                loss = model(**batch, labels=labels.to(device)).loss
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), hp.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            step += 1
            if step % hp.eval_every_steps == 0 or step == total_steps:
                current = dev_score()["score"]
                history.append({"step": step, "loss": loss.item(), "dev_score": current})
                if current > best_dev + hp.min_delta or best_state is None:
                    best_dev, best_step, evals_without_gain = current, step, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    evals_without_gain += 1
            if step >= total_steps or evals_without_gain >= hp.patience:
                break

    model.load_state_dict(best_state)
    evaluation = encode(tokenizer, task.eval, hp.max_length)
    eval_labels = [ex["label"] for ex in task.eval]
    result = score(
        model, evaluation, eval_labels, metric, regression, pad_id, hp.eval_batch_size, device
    )
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
        "history": history,
    }
