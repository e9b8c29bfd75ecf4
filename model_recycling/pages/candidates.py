"""The every-candidate page of an architecture: every listed model ranked by the probe, failed
(at probing or in a finetuning cell) with its reason, or excluded at listing with its reason
(tables/outcomes.py decides which). A reader sees why a model is not in the ranking without
opening a log.
"""

from __future__ import annotations

from pathlib import Path

from model_recycling.io import atomic_write_text
from model_recycling.pages.escaping import link, text
from model_recycling.pages.invalid import invalid_page_path
from model_recycling.pages.markdown import gain_page_path, md_table
from model_recycling.tables.outcomes import (
    CELLS_FAILED,
    CELLS_INVALID,
    EXCLUDED,
    MEANING,
    OUTCOMES,
    PROBE_FAILED,
    PROBE_INVALID,
    RANKED,
    STOPPED,
    TESTED,
    outcome_counts,
    read_candidates_csv,
)


def _model_cell(arch: str, row: dict):
    """A fully tested model links to its gain page."""
    if row["outcome"] == TESTED:
        return link(row["model_id"], gain_page_path(arch, row["model_id"]))
    return row["model_id"]


def _legend(ranked: list) -> str:
    shown = {row["outcome"] for row in ranked} | {TESTED}
    meanings = "; ".join(f"`{o}`: {MEANING[o]}" for o in RANKED if o in shown)
    return (
        f"Linear-probe score x100, best first. {meanings}. A calibration sample is finetuned "
        "although the probe did not pick it, to measure how well the probe picks. `weights`: "
        "the file format the model was loaded from (safetensors; a safetensors conversion pull "
        "request of a pickle-only model, pinned at its commit; or pytorch, a pickle loaded with "
        "torch.load(weights_only=True)).\n\n"
    )


def _ranked_table(arch: str, ranked: list) -> str:
    rows = [
        [
            r["probe_rank"], _model_cell(arch, r), f"{float(r['probe_score']):.2f}",
            r["outcome"] + (" (calibration sample)" if r["sample"] else ""),
            text(r.get("weights") or ""),  # candidates.csv written before it: unknown
        ]
        for r in ranked
    ]  # fmt: skip
    return md_table(["#", "model", "linear probe x100", "outcome", "weights"], rows, "rlrll")


def candidates_page(arch: str, base_id: str, rows: list, front_matter: str) -> str:
    ranked = [r for r in rows if r["probe_score"] != ""]  # validly probed (a proxy may be missing)
    counts = outcome_counts(rows)
    summary = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts[o])
    parts = [
        front_matter,
        f"# {text(arch)}: every candidate, ranked by the probe\n\n",
        f"Base model: {text(base_id)}. {len(rows)} candidates: {len(ranked)} ranked by the probe"
        f"{' (' + summary + ')' if summary else ''}. Download: "
        f"[candidates.csv](data/{arch}/candidates.csv).\n\n",
        "## Ranked by the probe\n\n",
        _legend(ranked),
        _ranked_table(arch, ranked),
    ]
    groups = (
        ("Cells failed or invalid", (CELLS_FAILED, CELLS_INVALID)),
        ("Stopped by racing", (STOPPED,)),
        ("Probe failed", (PROBE_FAILED,)),
        ("Probe invalid", (PROBE_INVALID,)),
        ("Excluded at listing", (EXCLUDED,)),
    )
    for title, outcomes in groups:
        group = [r for r in rows if r["outcome"] in outcomes]
        if not group and STOPPED in outcomes:
            continue  # a section only where racing ran
        parts.append(f"\n## {title}\n\n")
        table = md_table(["model", "reason"], [[r["model_id"], r["reason"]] for r in group], "ll")
        parts.append(table if group else "None.\n")
        if group and set(outcomes) & {CELLS_INVALID, PROBE_INVALID}:
            refused = link("invalid records", invalid_page_path(arch))
            parts.append(f"\nEvery refused record, per model: {refused}.\n")
    return "".join(parts)


def render_candidates(out: Path, arch: str, base_id: str, tables_dir, front_matter: str) -> None:
    """The page and its download, from the aggregate step's candidates.csv."""
    rows = read_candidates_csv(Path(tables_dir) / "candidates.csv")
    atomic_write_text(
        out / f"{arch}_candidates.md", candidates_page(arch, base_id, rows, front_matter)
    )
