"""Model-card sections: for each fully tested model, the "Model Recycling" section the reference
offered model owners for their card (rank within its architecture, average against the
pretrained baseline, per-task table, the date of the results, the revision tested and a link to
the model's page on the site).

One markdown file per model, results/model_cards/<arch>/<model>.md, and index.json listing them
(what card_pr.py proposes on the Hub). Deterministic: the date is the day of the model's newest
counted cell (its `started_at`), never the clock.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from model_recycling.io import atomic_write_json, atomic_write_text, read_json
from model_recycling.naming import safe_name
from model_recycling.pages.escaping import code, link, text
from model_recycling.pages.markdown import fmt, md_table
from model_recycling.pages.rankings import rank_numbers
from model_recycling.tables.aggregate import read_cells_csv
from model_recycling.tables.coverage import read_coverage

MARKER = "## Model Recycling"  # the heading a card that has the section already shows


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def page_url(site_url: str, arch: str, model_id: str) -> str:
    """The model's gain page as the published site serves it (Jekyll turns .md into .html);
    relative to the site's root when no site_url is configured."""
    path = f"model_gain_chart/{arch}/{safe_name(model_id)}.html"
    return f"{site_url.rstrip('/')}/{path}" if site_url else path


def results_date(cells: pd.DataFrame, model_id: str, tasks, seeds) -> str:
    """YYYY-MM-DD of the newest counted cell of the model (its cell files' started_at)."""
    mine = cells[
        (cells.model_id == model_id) & (cells.status == "ok") & cells.invalid.isna()
        & cells.task.isin(tasks) & cells.seed.isin(seeds)
    ]  # fmt: skip
    stamps = [read_json(path).get("started_at") or "" for path in mine.path]
    return max(stamps, default="")[:10] or "unknown"


def card_section(arch, base_id, row, rank, n_ranked, baseline, tasks, date, site_url) -> str:
    """The section's markdown; row: the model's line of ranking.csv (x100)."""
    means = baseline["mean"].to_dict()
    rows = [
        [task, fmt(row[task]), fmt(means[task]), fmt(row[task] - means[task])] for task in tasks
    ]
    return (
        f"{MARKER}\n\n"
        f"{link(f'Evaluation on {len(tasks)} datasets', page_url(site_url, arch, row.model_id))} "
        f"using {text(row.model_id)} as a base model yields an average score of "
        f"{fmt(row.avg)} in comparison to {fmt(means['avg'])} by {text(base_id)} "
        f"(gain {fmt(row.gain_avg)}).\n\n"
        f"The model is ranked {ordinal(rank)} among the {n_ranked} fully tested models for the "
        f"{text(arch)} architecture as of {date}, tested at revision {code(row.revision)}.\n\n"
        "Results (x100; baseline: mean over its seeds):\n\n"
        + md_table(["task", "score", "baseline", "gain"], rows, ["l", "r", "r", "r"])
        + "\nFrom the model-recycling workflow "
        "([Choshen et al., arXiv 2211.00107](https://arxiv.org/abs/2211.00107)).\n"
    )


def write_model_cards(out_dir, archs: dict, settings: dict) -> list:
    """archs: name -> {"base_id", "tables_dir", "source_type"}; writes one file per fully
    tested model and index.json; returns the index."""
    out = Path(out_dir)
    site_url = settings["site_url"]
    index = []
    for arch, info in sorted(archs.items()):
        tables = Path(info["tables_dir"])
        tasks, _ = read_coverage(tables, settings["targets"])
        ranking = pd.read_csv(tables / "ranking.csv")
        baseline = pd.read_csv(tables / "baseline.csv", index_col="task")
        cells = read_cells_csv(tables / "cells.csv")
        # tied averages share a rank, as on the ranking pages
        for rank, (_, row) in zip(rank_numbers(ranking), ranking.iterrows(), strict=True):
            date = results_date(cells, row.model_id, tasks, settings["seeds"])
            section = card_section(
                arch, info["base_id"], row, rank, len(ranking), baseline, tasks, date, site_url
            )
            file = f"{arch}/{safe_name(row.model_id)}.md"
            atomic_write_text(out / file, section)
            index.append({
                "arch": arch, "model_id": row.model_id, "revision": row.revision,
                "source_type": info["source_type"], "file": file,
            })  # fmt: skip
    atomic_write_json(out / "index.json", index)
    return index


def model_cards_job(settings: dict, tables: dict, out_dir) -> list:
    """The model_cards rule. settings: the config; tables: architecture -> its tables folder."""
    archs = {
        arch: {
            "base_id": settings["architectures"][arch]["base_model"]["id"],
            "tables_dir": tables_dir,
            "source_type": settings["architectures"][arch]["source"]["type"],
        }
        for arch, tables_dir in tables.items()
    }
    index = write_model_cards(out_dir, archs, settings)
    print(f"{len(index)} model-card sections written to {out_dir}")
    return index
