"""The dev set held out of a task's training split (early stopping and the checkpoint to score).

Two rules of the same size (config `dev_holdout`):
- `stratified` (default): a seeded random sample in which each class keeps its share of train
  (a plain seeded sample for regression), so the dev set can tell checkpoints apart;
- `ends`: the reference's rule, half from each end of train. On a class-sorted training file
  (dbpedia's is) it holds only the first and last classes and is solved at the first evaluation.
"""

from __future__ import annotations

import math
import random

METHODS = ("stratified", "ends")


def dev_size(n_train: int, large_threshold: int, large_size: int, small_fraction: float) -> int:
    """large_size examples when train has at least large_threshold, else small_fraction of it."""
    n_dev = large_size if n_train >= large_threshold else math.ceil(n_train * small_fraction)
    return min(n_dev, n_train)


def hold_out_ends(train: list, n_dev: int):
    """(train, dev): dev is n_dev // 2 examples from the start of train, the rest from its end."""
    head, tail = n_dev // 2, n_dev - n_dev // 2
    return train[head : len(train) - tail], train[:head] + train[len(train) - tail :]


def class_quotas(class_sizes: dict, n_dev: int) -> dict:
    """Dev examples per class, proportional to the class sizes; the rounding leftovers go to the
    largest remainders (ties: the first class in sorted order), so the quotas sum to n_dev."""
    total = sum(class_sizes.values())
    exact = {c: n_dev * n / total for c, n in class_sizes.items()}
    quotas = {c: math.floor(q) for c, q in exact.items()}
    by_remainder = sorted(class_sizes, key=lambda c: (quotas[c] - exact[c], c))
    for c in by_remainder[: n_dev - sum(quotas.values())]:
        quotas[c] += 1
    return quotas


def hold_out_stratified(train: list, n_dev: int, seed: int, stratify: bool):
    """(train, dev), both in train's order: a seeded sample of n_dev examples, drawn per class
    (`stratify`, on the examples' "label") or from all examples at once (regression)."""
    members = {}
    for i, example in enumerate(train):
        members.setdefault(example["label"] if stratify else None, []).append(i)
    quotas = class_quotas({c: len(ids) for c, ids in members.items()}, n_dev)
    # A stream of its own: the eval sample drawn with the same seed stays independent of it.
    rng = random.Random(f"dev:{seed}")
    chosen = set()
    for c in sorted(members, key=str):
        chosen.update(rng.sample(members[c], quotas[c]))
    dev = [x for i, x in enumerate(train) if i in chosen]
    return [x for i, x in enumerate(train) if i not in chosen], dev


def hold_out_dev(train: list, rule: dict, seed: int = 0, stratify: bool = True):
    """(train, dev) by `rule` (config dev_holdout: method, large_threshold, large_size,
    small_fraction)."""
    method = rule["method"]
    if method not in METHODS:
        raise ValueError(f"dev_holdout.method '{method}' is not one of {', '.join(METHODS)}")
    sizes = {k: rule[k] for k in ("large_threshold", "large_size", "small_fraction")}
    n_dev = dev_size(len(train), **sizes)
    if method == "ends":
        return hold_out_ends(train, n_dev)
    return hold_out_stratified(train, n_dev, seed, stratify)
