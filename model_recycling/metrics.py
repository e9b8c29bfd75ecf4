"""Task metrics. Accuracy keeps its count so that every score can be checked on its own."""

import numpy as np


class NonFiniteError(ValueError):
    """A NaN or infinite value where a number is needed: whatever were computed from it would
    look like a result and mean nothing."""


def require_finite(values, what: str) -> None:
    """Raise, naming `what` and how many values are bad, unless every value is finite."""
    values = np.asarray(values)
    if values.dtype.kind in "fc":
        bad = int((~np.isfinite(values)).sum())
        if bad:
            raise NonFiniteError(f"non-finite {what}: {bad} of {values.size} values")


def _checked(predictions, labels) -> tuple:
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    require_finite(predictions, "predictions")
    require_finite(labels, "labels")
    return predictions, labels


def accuracy(predictions, labels) -> dict:
    predictions, labels = _checked(predictions, labels)
    n_correct = int((predictions == labels).sum())
    return {"score": n_correct / len(labels), "n_correct": n_correct, "n_eval": len(labels)}


def average_ranks(values) -> np.ndarray:
    """Ranks 1..n; tied values share the mean of the ranks they span."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + 1 + end) / 2  # mean of ranks start+1..end
            start = end
    return ranks


def spearman(predictions, labels) -> dict:
    predictions, labels = _checked(
        np.asarray(predictions, dtype=float), np.asarray(labels, dtype=float)
    )
    a, b = average_ranks(predictions), average_ranks(labels)
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    score = float((a * b).sum() / denominator) if denominator > 0 else 0.0
    return {"score": score, "n_correct": None, "n_eval": len(labels)}


METRICS = {"accuracy": accuracy, "spearman": spearman}
