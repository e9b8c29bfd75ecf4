"""Where every candidate ended, per architecture: ranked by the probe, failed (at probing or in a
finetuning cell) with its reason, or excluded at listing with its reason. A reader sees why a model
is not in the ranking without opening a log; `candidates.csv` holds the same rows for download.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from model_recycling.escaping import link, text
from model_recycling.io import atomic_write_text
from model_recycling.markdown import gain_page_path, md_table
from model_recycling.selection import finetuned, read_selection
from model_recycling.sources import read_candidates

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


OUTCOME_TEXT = {"probed": "not selected"}


def _model_cell(arch: str, row: dict):
    """A fully tested model links to its gain page."""
    if row["outcome"] == "tested":
        return link(row["model_id"], gain_page_path(arch, row["model_id"]))
    return row["model_id"]


def candidates_page(arch: str, base_id: str, rows: list, front_matter: str) -> str:
    ranked = [r for r in rows if r["probe_score"] != ""]  # probed ok (unranked: no rank_by value)
    failed = [r for r in rows if r["outcome"] == "failed"]
    excluded = [r for r in rows if r["outcome"] == "excluded"]
    parts = [
        front_matter,
        f"# {text(arch)}: every candidate, ranked by the probe\n\n",
        f"Base model: {text(base_id)}. {len(rows)} candidates: {len(ranked)} ranked by the probe, "
        f"{len(failed)} failed, {len(excluded)} excluded at listing. Download: "
        f"[candidates.csv](data/{arch}/candidates.csv).\n\n",
        "## Ranked by the probe\n\n",
        "Linear-probe score x100, best first. `tested`: fully finetuned (linked to its page); "
        "`selected`: chosen for finetuning, cells not complete yet; `not selected`: ranked "
        "only; `failed`: a finetuning cell failed (reason below). A calibration "
        "sample is finetuned although the probe did not pick it, to measure how well the probe "
        "picks.\n\n",
        md_table(
            ["#", "model", "linear probe x100", "outcome"],
            [
                [
                    r["probe_rank"],
                    _model_cell(arch, r),
                    f"{float(r['probe_score']):.2f}",
                    OUTCOME_TEXT.get(r["outcome"], r["outcome"])
                    + (" (calibration sample)" if r["sample"] else ""),
                ]
                for r in ranked
            ],
            "rlrl",
        ),
    ]
    for title, group in (("Failed", failed), ("Excluded at listing", excluded)):
        parts.append(f"\n## {title}\n\n")
        if not group:
            parts.append("None.\n")
            continue
        parts.append(
            md_table(["model", "reason"], [[r["model_id"], r["reason"]] for r in group], "ll")
        )
    return "".join(parts)


def render_candidates(out: Path, arch: str, base_id: str, tables_dir, front_matter: str) -> None:
    """The page and its download, from the aggregate step's candidates.csv."""
    rows = read_candidates_csv(Path(tables_dir) / "candidates.csv")
    atomic_write_text(
        out / f"{arch}_candidates.md", candidates_page(arch, base_id, rows, front_matter)
    )
