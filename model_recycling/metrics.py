"""Task metrics. Accuracy keeps its count so that every score can be checked on its own."""

import numpy as np


def accuracy(predictions, labels) -> dict:
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    n_correct = int((predictions == labels).sum())
    return {"score": n_correct / len(labels), "n_correct": n_correct, "n_eval": len(labels)}


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks, ties sharing the mean of their positions."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + end - 1) / 2
            start = end
    return ranks


def spearman(predictions, labels) -> dict:
    predictions = np.asarray(predictions, dtype=float)
    labels = np.asarray(labels, dtype=float)
    a, b = _ranks(predictions), _ranks(labels)
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    score = float((a * b).sum() / denominator) if denominator > 0 else 0.0
    return {"score": score, "n_correct": None, "n_eval": len(labels)}


METRICS = {"accuracy": accuracy, "spearman": spearman}
