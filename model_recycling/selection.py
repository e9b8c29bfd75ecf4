"""Rank probed candidates and pick the top-k for full finetuning."""

from __future__ import annotations

import csv
import io

from model_recycling.io import atomic_write_text
from model_recycling.naming import safe_name

COLUMNS = [
    "rank",
    "model_id",
    "safe_name",
    "revision",
    "probe_score",
    "status",
    "reason",
    "selected",
]


def select_top_k(probes: list, k: int) -> list:
    """probes: probe result records. Failed probes are kept (unranked) with their reason.
    Ties are broken by model id so the choice is deterministic."""
    ok = sorted(
        (p for p in probes if p["status"] == "ok"), key=lambda p: (-p["score"], p["model_id"])
    )
    failed = sorted((p for p in probes if p["status"] != "ok"), key=lambda p: p["model_id"])
    rows = []
    for rank, probe in enumerate(ok, start=1):
        rows.append(_row(probe, rank, selected=rank <= k))
    rows.extend(_row(probe, "", selected=False) for probe in failed)
    return rows


def _row(probe: dict, rank, selected: bool) -> dict:
    return {
        "rank": rank,
        "model_id": probe["model_id"],
        "safe_name": safe_name(probe["model_id"]),
        "revision": probe["model_revision"],
        "probe_score": "" if probe.get("score") is None else probe["score"],
        "status": probe["status"],
        "reason": probe.get("reason", ""),
        "selected": "yes" if selected else "no",
    }


def write_selection(path, rows: list) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def read_selection(path) -> list:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))
