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
    "model_id", "revision", "outcome", "sample", "probe_rank", "probe_score", "reason", "weights",
]  # fmt: skip

# Where a listed candidate ended: the one vocabulary of every page and of candidates.csv.
TESTED = "tested"  # a valid ok cell on every task and seed that counts
SELECTED = "selected, cells pending"  # picked for finetuning, its cells not all there yet
NOT_SELECTED = "not selected"  # ranked by the probe, not picked
CELLS_FAILED = "cells failed"  # a finetuning cell failed (its reason recorded)
CELLS_INVALID = "cells invalid"  # a cell record was refused (validation.py)
STOPPED = "stopped by racing"  # behind the leader, or within epsilon of it (rounds/racing.py)
PROBE_FAILED = "probe failed"
PROBE_INVALID = "probe invalid"  # the probe record was refused, or is implausible
EXCLUDED = "excluded at listing"
RANKED = (TESTED, SELECTED, NOT_SELECTED, CELLS_FAILED, CELLS_INVALID, STOPPED)  # by the probe
OUTCOMES = (*RANKED, PROBE_FAILED, PROBE_INVALID, EXCLUDED)
MEANING = {
    TESTED: "fully finetuned, every cell valid (linked to its page)",
    SELECTED: "chosen for finetuning, cells not complete yet",
    NOT_SELECTED: "ranked by the probe, not chosen",
    CELLS_FAILED: "a finetuning cell failed",
    CELLS_INVALID: "a cell record was refused by the checks",
    STOPPED: "racing stopped it: clearly behind the leader, or within epsilon of it at the end",
    PROBE_FAILED: "the probe failed",
    PROBE_INVALID: "the probe record was refused by the checks (or is implausible)",
    EXCLUDED: "excluded at listing",
}


WHY = {"behind": "behind the leader", "within epsilon": "within epsilon of the leader"}


def _probe_outcome(probe: dict | None, refused: str) -> tuple[str, str]:
    """(outcome, reason) when the probe decides where a candidate ended; ("", "") when not."""
    if probe is None:
        return "", ""
    if probe["status"] == "failed":
        return PROBE_FAILED, probe["reason"]
    if probe["status"] != "ok" or refused:
        return PROBE_INVALID, refused or probe["reason"]
    return "", ""


def stopped_reason(row: dict, n_tasks: int) -> str:
    """'stopped after 8 of 36 tasks: mean gain -3.10, interval -5.02 to -1.18; behind the
    leader' (points; the last part: why, where the round recorded it)."""

    def points(value):
        return "undefined" if value is None else f"{value:.2f}"

    return (
        f"stopped after {row['tasks']} of {n_tasks} tasks: mean gain {points(row['mean_gain'])}, "
        f"interval {points(row['low'])} to {points(row['high'])}"
        + (f"; {WHY[row['why']]}" if row.get("why") in WHY else "")
    )


def _cells_outcome(model_id: str, cells: pd.DataFrame, tested: set, probe: dict, raced) -> tuple:
    """(outcome, reasons) of a validly probed candidate, from its cells of the current tasks and,
    with racing, the last round's decision (raced: model id -> its row, n_tasks)."""
    mine = cells[cells.model_id == model_id].sort_values(["task", "seed"])
    failed = [f"{c.task} seed {c.seed}: {c.reason}" for c in mine.itertuples()
              if c.status != "ok" and not c.invalid]  # fmt: skip
    refused = [f"{c.task} seed {c.seed}: {c.invalid}" for c in mine.itertuples() if c.invalid]
    if failed:
        return CELLS_FAILED, failed + refused
    if refused:
        return CELLS_INVALID, refused
    decisions, n_tasks = raced
    if decisions.get(model_id, {}).get("status") == "stopped":
        return STOPPED, [stopped_reason(decisions[model_id], n_tasks)]
    if model_id in tested:
        return TESTED, []
    return (SELECTED if finetuned(probe) else NOT_SELECTED), []


def candidate_outcomes(
    candidates_tsv, selection_tsv, cells: pd.DataFrame, tested: set, refused_probes=None,
    raced=None, n_targets=0,
) -> list:  # fmt: skip
    """One row per listed model, in page order: probe ranking first, then the probes that failed
    or were refused, then exclusions. `outcome` is one of OUTCOMES; `sample` says "calibration"
    for a model finetuned as part of the calibration sample (not picked by the probe). cells:
    the current tasks and seeds ("invalid": the reason a record was refused, "" when valid);
    refused_probes: model id -> why its probe record was refused (the tables' own check);
    raced: with racing, the last round's decisions (model id -> status, tasks, interval) over
    the n_targets tasks."""
    selection = {row["model_id"]: row for row in read_selection(selection_tsv)}
    refused_probes = refused_probes or {}
    rows = []
    for candidate in read_candidates(candidates_tsv):
        row = {"model_id": candidate.model_id, "revision": candidate.revision,
               "weights": candidate.weight_format}  # fmt: skip
        probe = selection.get(candidate.model_id)
        outcome, reason = _probe_outcome(probe, refused_probes.get(candidate.model_id, ""))
        if candidate.status != "ok":
            row.update(outcome=EXCLUDED, reason=candidate.reason)
        elif probe is None:
            continue  # filtered out by the config (candidates.only / exclude): not a result
        elif outcome:
            also = "; its cells are all valid: it ranks" if candidate.model_id in tested else ""
            row.update(outcome=outcome, reason=reason + also)
        else:
            outcome, reasons = _cells_outcome(
                candidate.model_id, cells, tested, probe, (raced or {}, n_targets)
            )
            row.update(
                outcome=outcome,
                sample="calibration" if probe.get("calibration") == "yes" else "",
                # unranked when the proxy that ranks (probe.rank_by) has no value for it
                probe_rank=int(probe["rank"]) if probe["rank"] else "",
                probe_score=float(probe["probe_score"]) * 100,
                reason="; ".join(reasons or ([] if probe["rank"] else [probe["reason"]])),
            )
        rows.append({column: row.get(column, "") for column in CSV_COLUMNS})
    return sorted(rows, key=_page_order)


def _page_order(row: dict) -> tuple:
    """Ranked first (by rank; unranked after), then probe failures and refusals, exclusions."""
    if row["outcome"] == EXCLUDED:
        group = 3
    elif row["outcome"] in (PROBE_FAILED, PROBE_INVALID):
        group = 2
    else:
        group = 1 if row["probe_rank"] == "" else 0
    return group, row["probe_rank"] if row["probe_rank"] != "" else 0, row["model_id"]


def outcome_counts(rows: list) -> dict:
    """How many listed candidates ended each way (every outcome named, zero included)."""
    return {outcome: sum(r["outcome"] == outcome for r in rows) for outcome in OUTCOMES}


def write_candidates_csv(path, rows: list) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


# candidates.csv written before the vocabulary above: its words, read as today's.
_EARLIER_WORDS = {"probed": NOT_SELECTED, "selected": SELECTED, "excluded": EXCLUDED}


def read_candidates_csv(path) -> list:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["outcome"] == "failed":  # then one word for a failed probe and failed cells
            row["outcome"] = PROBE_FAILED if row["reason"].startswith("probe:") else CELLS_FAILED
        row["outcome"] = _EARLIER_WORDS.get(row["outcome"], row["outcome"])
    return rows
