"""Linear probe: frozen features extracted in one pass, a linear head fitted on them, accuracy on
the probe task's evaluation split; the other proxies (proxies.py) reuse the same features. Works on
the encoder of encoder-decoders too (mean pooling)."""

from __future__ import annotations

import time

import torch

from model_recycling.metrics import require_finite
from model_recycling.models.batching import (
    collate,
    length_sorted_batches,
    model_inputs,
)
from model_recycling.models.devices import autocast
from model_recycling.probing.proxies import feature_proxies
from model_recycling.progress import Progress
from model_recycling.tasks.tokenized import encode, encoded_splits

PROBE_SPLITS = ("train", "eval")


def extract_features(model, tokenizer, examples, max_length, *args, **kwargs):
    """features_of the examples encoded by `tokenizer` (same further arguments)."""
    features = encode(tokenizer, examples, max_length)
    return features_of(model, features, tokenizer.pad_token_id, *args, **kwargs)


def features_of(model, features, pad_id, batch_size, device, pooling, batch_tokens):
    """One pass over encoded examples, no grad, length-sorted batches capped by rows and padded
    tokens; returns float32 [n, hidden] in input order."""
    accepted = model_inputs(model)
    out = torch.empty(len(features), model.config.hidden_size)
    batches = length_sorted_batches(features, batch_size, batch_tokens)
    # batches grow longer towards the end (length-sorted): the ETA is a lower bound
    progress = Progress("features", len(batches))
    with torch.no_grad(), autocast(device):
        for idx in batches:
            batch = collate([features[i] for i in idx], pad_id)
            batch = {k: v.to(device) for k, v in batch.items() if k in accepted}
            hidden = model(**batch).last_hidden_state.float()
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            out[torch.tensor(idx)] = pooled.cpu()
            progress.step(len(idx))
    return out


def fit_linear_head(features, labels, num_labels, l2=1e-3, max_iter=200, seed=0):
    """Multinomial logistic regression on standardised features, full-batch L-BFGS
    (deterministic, no learning rate to tune). Returns the fitted scorer: features -> logits."""
    torch.manual_seed(seed)
    mean, std = features.mean(0), features.std(0).clamp(min=1e-6)
    x = (features - mean) / std
    y = torch.as_tensor(labels, dtype=torch.long)
    head = torch.nn.Linear(x.shape[1], num_labels)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    optimizer = torch.optim.LBFGS(
        head.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe"
    )

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(x), y) + l2 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return lambda feats: head((feats - mean) / std)


def run_probe(encoder, tokenizer, task, cfg: dict, device, encoded: dict | None = None) -> dict:
    """cfg: the probe settings (max_length, batch_size, batch_tokens, pooling, l2, max_iter).
    encoded: the train and eval splits already encoded (tokenized.encoded_splits); None: encoded
    here."""
    started = time.perf_counter()
    if encoded is None:
        encoded = encoded_splits(tokenizer, task, cfg["max_length"], PROBE_SPLITS)
    kwargs = dict(
        batch_size=cfg["batch_size"],
        device=device,
        pooling=cfg["pooling"],
        batch_tokens=cfg["batch_tokens"],
    )
    # Both splits in one pass: one length sort, so fewer half-empty batches of mixed lengths.
    both = features_of(
        encoder, encoded["train"] + encoded["eval"], tokenizer.pad_token_id, **kwargs
    )
    train_x, eval_x = both[: len(task.train)], both[len(task.train) :]
    require_finite(train_x, "probe features of the training split")
    require_finite(eval_x, "probe features of the evaluation split")
    extracted = time.perf_counter()
    logits_of = fit_linear_head(
        train_x, [ex["label"] for ex in task.train], task.num_labels, cfg["l2"], cfg["max_iter"]
    )
    with torch.no_grad():
        scores = logits_of(eval_x)
    require_finite(scores, "probe head outputs")
    predictions = scores.argmax(1)
    labels = torch.tensor([ex["label"] for ex in task.eval])
    n_correct = int((predictions == labels).sum())
    fitted = time.perf_counter()
    # On the training split's features, as the linear head saw them; a non-finite value is
    # recorded as null with its note and decides nothing (the linear probe rules the status).
    proxies, notes = feature_proxies(train_x, [ex["label"] for ex in task.train])
    return {
        "score": n_correct / len(labels),
        "n_correct": n_correct,
        "n_eval": len(labels),
        "n_train": len(task.train),
        "proxies": {"linear_probe": n_correct / len(labels), **proxies},
        "proxy_notes": notes,
        "feature_seconds": extracted - started,
        "fit_seconds": fitted - extracted,
        "proxy_seconds": time.perf_counter() - fitted,
    }
