"""Cheap proxies of a candidate's value, all from the features the linear probe already extracted
(no extra forward pass): the linear probe's accuracy, and LogME, H-score and kNN accuracy computed
by the estimators of the maintained transformer-ranker package (not reimplemented here)."""

from __future__ import annotations

import math

# The names a probe record's "proxies" holds, and the choices of probe.rank_by.
PROXIES = ("linear_probe", "logme", "hscore", "knn")


def _estimators() -> dict:
    # Imported here: transformer_ranker pulls in its embedder (transformers, torchmetrics), which
    # only the probe job needs.
    from transformer_ranker.estimators import HScore, LogME, NearestNeighbors

    return {"logme": LogME, "hscore": HScore, "knn": NearestNeighbors}


def feature_proxies(features, labels) -> tuple[dict, dict]:
    """LogME, H-score and kNN (leave-one-out, k=3) accuracy of `features` [n, hidden] (CPU float)
    for the class `labels` [n]. Returns (values, notes): a value that is not a finite number, or
    whose estimator fails on these features, is None with a one-line note saying why."""
    import torch  # here: selection and the pages read PROXIES without starting torch

    labels = torch.as_tensor(labels, dtype=torch.long)
    values, notes = {}, {}
    for name, estimator in _estimators().items():
        try:
            value = float(estimator(regression=False).fit(embeddings=features, labels=labels))
        except (RuntimeError, ValueError) as err:  # torch's LinAlgError is a RuntimeError
            values[name], notes[name] = None, f"{type(err).__name__}: {err}"
            continue
        if math.isfinite(value):
            values[name] = value
        else:
            values[name], notes[name] = None, f"not a finite number ({value})"
    return values, notes


def proxy_value(probe: dict, name: str):
    """A probe record's value of proxy `name`, or None (failed probe, non-finite value, or a
    record written before the extra proxies were recorded)."""
    if probe.get("status") != "ok":
        return None
    if name == "linear_probe":
        return probe.get("score")
    return probe.get("proxies", {}).get(name)
