"""probe.train_size: a seeded, stratified subsample of the probe task's training split (the
evaluation split is never subsampled). Proportional by label, deterministic: same rows, same
seed, same subsample; so the tokenized cache (keyed by the texts' hash) gets files of its own."""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict

# Fixed so that a train_size always picks the same rows: changing it would change every probe.
SUBSAMPLE_SEED = 0


def stratified_indices(labels: list, size: int, seed: int = SUBSAMPLE_SEED) -> list:
    """Sorted indices of `size` rows, each label's share within one row of its share of all rows
    (largest remainder); size >= len(labels): all rows."""
    if size >= len(labels):
        return list(range(len(labels)))
    by_label = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    order = sorted(by_label, key=repr)  # a fixed order whatever the labels' types
    exact = {label: size * len(by_label[label]) / len(labels) for label in order}
    quota = {label: int(exact[label]) for label in order}
    # the rows left over go to the labels that lost most by rounding down (ties: label order)
    short = size - sum(quota.values())
    for label in sorted(order, key=lambda lb: quota[lb] - exact[lb])[:short]:
        quota[label] += 1
    rng = random.Random(seed)
    chosen = []
    for label in order:
        rows = list(by_label[label])
        rng.shuffle(rows)
        chosen += rows[: quota[label]]
    return sorted(chosen)


def with_train_size(task, train_size: int | None):
    """The task with its training split cut to `train_size` rows (None: unchanged). A regression
    task's labels are not classes: a plain seeded sample."""
    if train_size is None:
        return task
    regression = getattr(task, "is_regression", False)
    labels = [0 if regression else ex["label"] for ex in task.train]
    keep = stratified_indices(labels, train_size)
    return dataclasses.replace(task, train=[task.train[i] for i in keep])
