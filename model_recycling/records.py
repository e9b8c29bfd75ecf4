"""A job's JSON record: what made it, how it ended, and the exit status of a job that failed for a
reason that is not the model's.

Probes and finetuning cells each write one small self-describing record (atomically). Every record
names the task data, settings, packages and code that made it; a failure record holds the reason
in one line, and the whole story goes to the job's log.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from datetime import UTC, datetime

from model_recycling.io import atomic_write_json, read_json
from model_recycling.provenance import code_version, package_versions

# A job exits with this (sysexits' EX_TEMPFAIL) when it failed for a reason that is not the
# model's, such as the Hub being unreachable: the guard never records it, so a later run tries
# again.
TEMPORARY_FAILURE = 75


def read_record(path) -> tuple[dict, str]:
    """(record, "") or ({}, why it cannot be read): a probe or cell file as a dict."""
    try:
        record = read_json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return {}, f"unreadable: {type(err).__name__}: {err}"
    return (record, "") if isinstance(record, dict) else ({}, "not a JSON object")


def one_line(err: BaseException, limit: int = 300) -> str:
    """An exception as a one-line reason (type and message), for candidates.tsv and the pages."""
    text = " ".join(f"{type(err).__name__}: {err}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def job_provenance(task, settings: dict) -> dict:
    """What made a record: the task data (`task`: a prepared task), the settings, the packages
    and the code, and which device the job was given (GPU slot claim or scheduler)."""
    return {
        "started_at": now(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "task": task.name,
        "task_fingerprint": task.meta.get("fingerprint"),  # none: a task that failed
        "settings": settings,
        "packages": package_versions(),
        "code_version": code_version(),
    }


def record_failure(record: dict, err: Exception) -> None:
    traceback.print_exc()  # the whole story goes to the job's log; the reason to the record
    record.update(status="failed", reason=f"{type(err).__name__}: {err}", score=None)


def finish(record: dict, started: float, output) -> dict:
    """Stamp the wall time and the end, and write the record."""
    record["wall_seconds"] = time.perf_counter() - started
    record["finished_at"] = now()
    atomic_write_json(output, record)
    return record


def write_died(output, record: dict, reason: str) -> str:
    """The failure record of a job whose process died before writing its own (killed, out of
    memory, segfault): its identity and provenance, the reason, no device (it never said)."""
    record.update(status="failed", reason=reason, score=None, wall_seconds=None)
    record["finished_at"] = record["started_at"]
    atomic_write_json(output, record)
    return output
