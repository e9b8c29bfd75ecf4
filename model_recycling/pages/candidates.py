"""The every-candidate page of an architecture: every listed model ranked by the probe, failed
(at probing or in a finetuning cell) with its reason, or excluded at listing with its reason
(tables/outcomes.py decides which). A reader sees why a model is not in the ranking without
opening a log.
"""

from __future__ import annotations

from pathlib import Path

from model_recycling.io import atomic_write_text
from model_recycling.pages.escaping import link, text
from model_recycling.pages.markdown import gain_page_path, md_table
from model_recycling.tables.outcomes import read_candidates_csv

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
