"""With racing: every raced candidate of an architecture, finished or stopped, with the tasks it
ran and its interval of mean gain when the rule last looked at it (tables/aggregate.py writes
racing.csv from the last racing round). A stopped candidate is listed here, never ranked."""

from __future__ import annotations

import pandas as pd

from model_recycling.pages.escaping import link, text
from model_recycling.pages.markdown import arch_page_front_matter, fmt, gain_page_path, md_table
from model_recycling.tables.outcomes import WHY


def racing_page_path(arch: str) -> str:
    return f"{arch}_racing.md"


def racing_line(arch: str, racing: pd.DataFrame | None) -> str:
    """The ranking page's line about racing ('' without racing)."""
    if racing is None:
        return ""
    stopped = int((racing.status == "stopped").sum())
    return (
        f"\nRacing: {stopped} of {len(racing)} selected candidate"
        f"{'s' if len(racing) != 1 else ''} stopped early, behind the leader or within epsilon "
        f"of it; they are not ranked: {link('racing', racing_page_path(arch))}.\n"
    )


def _status(row, n_tasks: int) -> str:
    if row.status == "stopped":
        why = f" ({WHY[row.why]})" if getattr(row, "why", "") in WHY else ""
        return f"stopped after {row.tasks} of {n_tasks} tasks{why}"
    return "finished every task" if row.status == "finished" else f"racing ({row.tasks} tasks)"


def racing_page(arch: str, base_id: str, racing: pd.DataFrame, n_tasks: int, tested) -> str:
    """tested: the fully tested models' ids (linked to their gain pages)."""
    rows = [
        [
            link(r.model_id, gain_page_path(arch, r.model_id)) if r.model_id in tested
            else r.model_id,
            _status(r, n_tasks), fmt(r.mean_gain), f"{fmt(r.low)} to {fmt(r.high)}",
        ]
        for r in racing.itertuples()
    ]  # fmt: skip
    return (
        arch_page_front_matter(arch, f"{arch} racing", 6) + f"# {text(arch)}: racing\n\n"
        f"Base model: {text(base_id)}. The selected candidates ran the target tasks in one seeded "
        "order; after each round the rule compared each with the leader on the tasks both ran "
        "and stopped those clearly behind it, and, once every one was within epsilon of the "
        'leader, all but the leader (the README, "Fewer cells"). A stopped '
        "candidate's figures are over the tasks it ran, not the full protocol's average, so it "
        "is never ranked. Mean gain and interval in points (x100).\n\n"
        + md_table(["model", "status", "mean gain", "interval"], rows, "llrr")
        + f"\nDownload: [racing.csv](data/{arch}/racing.csv).\n"
    )
