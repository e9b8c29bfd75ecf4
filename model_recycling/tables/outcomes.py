"""Where every candidate ended, per architecture: ranked by the probe, failed (at probing or in a
finetuning cell) with its reason, or excluded at listing with its reason: `candidates.csv`, which
the every-candidate page (pages/candidates.py) shows.
"""

from __future__ import annotations

import csv
import io

import pandas as pd

from model_recycling.io import atomic_write_text
from model_recycling.listing.candidates import read_candidates
from model_recycling.probing.selection import finetuned, read_selection

CSV_COLUMNS = [
    "model_id", "revision", "outcome", "sample", "probe_rank", "probe_score", "reason",
]  # fmt: skip


def candidate_outcomes(candidates_tsv, selection_tsv, cells: pd.DataFrame, tested: set) -> list:
    """One row per listed model, in page order: probe ranking first, then failures, then
    exclusions. `outcome` is one of tested, selected, probed, failed, excluded; `sample` says
    "calibration" for a model finetuned as part of the calibration sample (not picked by the
    probe)."""
    selection = {row["model_id"]: row for row in read_selection(selection_tsv)}
    # cells: the current tasks and seeds; "invalid" holds the validation reason ("" when valid)
    failed_cells = cells[(cells.status != "ok") | (cells.invalid != "")]
    failed_cells = failed_cells.sort_values(["task", "seed"])
    rows = []
    for candidate in read_candidates(candidates_tsv):
        row = {"model_id": candidate.model_id, "revision": candidate.revision}
        probe = selection.get(candidate.model_id)
        if candidate.status != "ok":
            row.update(outcome="excluded", reason=candidate.reason)
        elif probe is None:
            continue  # filtered out by the config (candidates.only / exclude): not a result
        elif probe["status"] != "ok":
            row.update(outcome="failed", reason=f"probe: {probe['reason']}")
        else:
            mine = failed_cells[failed_cells.model_id == candidate.model_id]
            reasons = [
                f"{c.task} seed {c.seed}: "
                + (f"invalid record: {c.invalid}" if c.invalid else c.reason)
                for c in mine.itertuples()
            ]
            outcome = "tested" if candidate.model_id in tested else "probed"
            if reasons:
                outcome = "failed"
            elif finetuned(probe) and outcome == "probed":
                outcome = "selected"  # its cells are not complete yet
            row.update(
                outcome=outcome,
                sample="calibration" if probe.get("calibration") == "yes" else "",
                # unranked when the proxy that ranks (probe.rank_by) has no value for it
                probe_rank=int(probe["rank"]) if probe["rank"] else "",
                probe_score=float(probe["probe_score"]) * 100,
                reason="; ".join(reasons or ([] if probe["rank"] else [probe["reason"]])),
            )
        rows.append({column: row.get(column, "") for column in CSV_COLUMNS})
    order = {"excluded": 2}
    return sorted(
        rows,
        key=lambda r: (
            order.get(r["outcome"], 1 if r["probe_rank"] == "" else 0),
            r["probe_rank"] if r["probe_rank"] != "" else 0,
            r["model_id"],
        ),
    )


def write_candidates_csv(path, rows: list) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def read_candidates_csv(path) -> list:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
