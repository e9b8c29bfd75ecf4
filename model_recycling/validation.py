"""Checks a cell or probe record before aggregation counts it.

A record is a claim: "this model, at this revision, scored this on this task's current data". The
reference's published results held rows whose accuracy was no whole number of correct answers
(columns shifted by one), and two of them became "Best model". So every record is checked against
what it must agree with, and one that does not is shown as invalid and never ranks. Each function
returns the first reason a record is invalid, or "" when it is valid.
"""

from __future__ import annotations

import math

from model_recycling.io import non_finite_key

METRIC_RANGES = {"accuracy": (0.0, 1.0), "spearman": (-1.0, 1.0)}
# A probe more than this many standard errors below chance is implausible (`implausible`). A model
# that learned nothing falls that low about once in six probes: never one the top-k would pick.
IMPLAUSIBLE_Z = 1
STATUSES = ("ok", "failed")

# Required keys and their types, of every record and, in addition, of an "ok" one.
INT, NUMBER = "integer", "number"
CELL_KEYS = {"model_id": str, "task": str, "seed": INT, "status": str}
OK_CELL_KEYS = {
    "score": NUMBER, "metric": str, "n_eval": INT, "model_revision": str, "task_fingerprint": str,
}  # fmt: skip
PROBE_KEYS = {"model_id": str, "status": str}
OK_PROBE_KEYS = {
    "score": NUMBER, "n_correct": INT, "n_eval": INT, "model_revision": str,
    "task_fingerprint": str,
}  # fmt: skip


def _has_type(value, kind) -> bool:
    if isinstance(value, bool):  # JSON true is no number
        return False
    if kind == INT:
        return isinstance(value, int)
    if kind == NUMBER:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def _schema(record, keys: dict) -> str:
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    for key, kind in keys.items():
        if key not in record:
            return f"missing key '{key}'"
        if not _has_type(record[key], kind):
            expected = kind if isinstance(kind, str) else "string"
            return f"'{key}' is {record[key]!r}, not a {expected}"
    return ""


def _status_and_schema(record, keys: dict, ok_keys: dict) -> str:
    reason = _schema(record, keys)
    if reason:
        return reason
    if record["status"] not in STATUSES:
        return f"status '{record['status']}' is neither ok nor failed"
    if record["status"] != "ok":
        return ""  # a recorded failure is a valid record of a failure; it never ranks anyway
    reason = _schema(record, ok_keys)
    key = non_finite_key(record)
    return reason or (f"'{key}' is not a finite number" if key else "")


def _score(record, metric: str, meta: dict) -> str:
    """Score in the metric's range, counts behind an accuracy, evaluated on the current data."""
    if metric not in METRIC_RANGES:
        return f"no known range for metric '{metric}'"
    low, high = METRIC_RANGES[metric]
    score, n_eval = record["score"], record["n_eval"]
    if not low <= score <= high:
        return f"score {score:.6g} outside the {metric} range [{low:g}, {high:g}]"
    if n_eval != meta["sizes"]["eval"]:
        return f"n_eval {n_eval} is not the task's evaluation size {meta['sizes']['eval']}"
    if metric == "accuracy":
        n_correct = record.get("n_correct")
        if not _has_type(n_correct, INT) or not 0 <= n_correct <= n_eval:
            return f"n_correct {n_correct!r} is not a count between 0 and n_eval {n_eval}"
        if not math.isclose(score, n_correct / n_eval, rel_tol=0, abs_tol=1e-9):
            return f"accuracy {score} is not n_correct / n_eval = {n_correct}/{n_eval}"
    if record["task_fingerprint"] != meta["fingerprint"]:
        return (
            f"task fingerprint {record['task_fingerprint']} is not the current "
            f"{meta['fingerprint']} (computed on other task data)"
        )
    return ""


def _revision(record, revisions: dict) -> str:
    current = revisions.get(record["model_id"])
    if current is None:
        return "model not among the listed candidates (candidates.tsv) nor the base"
    if record["model_revision"] != current:
        return f"model revision {record['model_revision']} is not the current {current}"
    return ""


def validate_cell(cell, task_metas: dict, revisions: dict) -> str:
    """A finetuning cell. task_metas: task -> meta.json of the current targets (metric,
    sizes.eval, fingerprint); revisions: model id -> its current revision."""
    reason = _status_and_schema(cell, CELL_KEYS, OK_CELL_KEYS)
    if reason or cell["status"] != "ok":
        return reason
    meta = task_metas.get(cell["task"])
    if meta is None:
        return f"task '{cell['task']}' is not a current target"
    if cell["metric"] != meta["metric"]:
        return f"metric '{cell['metric']}' is not the task's metric '{meta['metric']}'"
    return _score(cell, meta["metric"], meta) or _revision(cell, revisions)


def validate_probe(record, probe_meta: dict, revisions: dict) -> str:
    """A probe record (accuracy on the probe task). probe_meta: the probe task's meta.json."""
    reason = _status_and_schema(record, PROBE_KEYS, OK_PROBE_KEYS)
    if reason or record["status"] != "ok":
        return reason
    task = record.get("task", probe_meta["task"])
    if task != probe_meta["task"]:
        return f"probed on task '{task}', not the probe task '{probe_meta['task']}'"
    reason = _score(record, "accuracy", probe_meta) or _revision(record, revisions)
    return reason or implausible(record["score"], record["n_eval"], probe_meta.get("num_labels"))


def implausible(accuracy: float, n_eval: int, num_labels: int | None) -> str:
    """Why a classification probe's accuracy cannot be a model's ('' when it can): exactly 0,
    or below chance (1 / classes) by more than IMPLAUSIBLE_Z standard errors of an accuracy at
    chance on n_eval examples. A model that learned nothing scores about chance; one that scores
    far below it was scored wrong (labels shifted, a broken probe)."""
    if not num_labels or num_labels < 2:
        return ""
    if accuracy == 0:
        return f"implausible: accuracy 0 on {n_eval:,} examples of a {num_labels}-class task"
    chance = 1 / num_labels
    margin = IMPLAUSIBLE_Z * math.sqrt(chance * (1 - chance) / n_eval)
    if accuracy < chance - margin:
        return (
            f"implausible: accuracy {accuracy:.4f} is below chance {chance:.4f} by more than "
            f"{IMPLAUSIBLE_Z:g} standard error{'s' if IMPLAUSIBLE_Z != 1 else ''} ({margin:.4f}) "
            f"on {n_eval:,} examples"
        )
    return ""
