"""Rankings that read like rankings: per architecture a top-N page with rank numbers (the
pretrained baseline first) that links the full ranked table; the home table's order (gain over the
baseline); and the cite page. The probe's ranking of every candidate is candidate_pages.py.
"""

from __future__ import annotations

import pandas as pd

from model_recycling.pages.escaping import link, text
from model_recycling.pages.invalid import invalid_line
from model_recycling.pages.markdown import (
    arch_page_front_matter,
    fmt,
    front_matter,
    gain_page_path,
    md_table,
)

PAPER_URL = "https://arxiv.org/abs/2211.00107"
PAPER_TITLE = "Where to start? Analyzing the potential value of intermediate models"
PAPER_AUTHORS = "Leshem Choshen, Elad Venezian, Shachar Don-Yehiya, Noam Slonim and Yoav Katz"


def rank_numbers(ranking: pd.DataFrame) -> list[int]:
    """1 for the best average; models with equal averages share a rank (1, 2, 2, 4)."""
    return [int(r) for r in ranking.avg.rank(method="min", ascending=False)]


def ranked_rows(arch, base_id, ranking, baseline, tasks, limit=None) -> list:
    """Table rows: the pretrained baseline first (rank "-"), then the first `limit` models."""
    rows = [
        [
            "-",
            link(f"{base_id} (baseline)", f"{arch}_pretrain_scores_table.md"),
            fmt(baseline.loc["avg", "mean"]),
            "",
            "",
            *(fmt(baseline.loc[t, "mean"]) for t in tasks),
        ]
    ]
    shown = ranking if limit is None else ranking.head(limit)
    ranks = rank_numbers(ranking)[: len(shown)]
    for rank, (_, row) in zip(ranks, shown.iterrows(), strict=True):
        rows.append(
            [
                rank,
                link(row.model_id, gain_page_path(arch, row.model_id)),
                fmt(row.avg),
                fmt(row.gain_avg),
                fmt(row.probe_score),
                *(fmt(row[t]) for t in tasks),
            ]
        )
    return rows


def ranking_table(arch, base_id, ranking, baseline, tasks, limit=None) -> str:
    header = ["#", "model_name", "avg", "gain", "probe", *tasks]
    rows = ranked_rows(arch, base_id, ranking, baseline, tasks, limit)
    return md_table(header, rows, ["r", "l"] + ["r"] * (len(header) - 2))


def _legend(n_tasks: int) -> str:
    return (
        f"Averages over {n_tasks} tasks (x100); `gain` is the average's gain over the pretrained "
        "model (the first row, mean over its seeds). `probe` is the linear-probe score that picked "
        "the models to test; it is not part of the average.\n\n"
    )


def unreadable_note(info: dict) -> str:
    """Tasks whose text the base's tokenizer mostly cannot read (tables/coverage.py)."""
    unreadable = info.get("unreadable") or []
    if not unreadable:
        return ""
    named = "; ".join(f"{text(task)} ({rate:.0%} of its tokens)" for task, rate in unreadable)
    return (
        f"**Text mostly unknown to {text(info['base_id'])}'s tokenizer:** {named} are its "
        "unknown token, so every model there reads mostly noise and its scores tell little.\n\n"
    )


def coverage_note(arch: str, info: dict) -> str:
    """What the averages rest on, when some target tasks are left out (tables/coverage.py), and
    which tasks the tokenizer mostly cannot read."""
    left_out = info.get("left_out") or []
    if not left_out:
        return unreadable_note(info)
    reasons = "; ".join(f"{text(task)} ({text(reason)})" for task, reason in left_out)
    n_targets = len(info["tasks"]) + len(left_out)
    return (
        f"**These results rest on {len(info['tasks'])} of the {n_targets} target tasks.** Left "
        f"out of every average: {reasons}. See {link('tasks.csv', f'data/{arch}/tasks.csv')}."
        "\n\n" + unreadable_note(info)
    )


def top_ranking_page(arch, info, ranking, baseline, invalid, tasks, order, top_n) -> str:
    """The architecture's ranking page: its top `top_n` fully tested models."""
    shown = min(top_n, len(ranking))
    return (
        front_matter(arch, order, parent="Rankings", extra="has_children: true\n")
        + f"# {text(arch)}: ranking of base models\n\n"
        f"Base model: {text(info['base_id'])}. The top {shown} of {len(ranking)} fully tested "
        f"models. "
        + _legend(len(tasks))
        + coverage_note(arch, info)
        + ranking_table(arch, info["base_id"], ranking, baseline, tasks, top_n)
        + f"\nAll {len(ranking)} fully tested models: "
        f"{link('full ranking', f'{arch}_full_ranking.md')} "
        f"({link('ranking.csv', f'data/{arch}/ranking.csv')}). All {info['counts']['probed']} "
        f"probed models ranked by the probe, selected or not, and the failed ones with their "
        f"reason: {link('all probed models', f'{arch}_candidates.md')} "
        f"({link('candidates.csv', f'data/{arch}/candidates.csv')}). How well the probe ranked: "
        f"{link(f'{arch} proxy quality', f'{arch}_proxy_quality.md')}. The best base for each "
        f"task: {link(f'{arch} per task', f'{arch}_per_task.md')}.\n\n"
        f"Download: [ranking](data/{arch}/ranking.csv), [gains](data/{arch}/gains.csv), "
        f"[every cell](data/{arch}/cells.csv), [probe scores](data/{arch}/probes.csv), "
        f"[invalid records](data/{arch}/invalid.csv).\n" + invalid_line(arch, invalid)
    )


def full_ranking_page(arch, info, ranking, baseline, tasks) -> str:
    return (
        arch_page_front_matter(arch, f"{arch} full ranking", 1)
        + f"# {text(arch)}: every fully tested model\n\n"
        f"Base model: {text(info['base_id'])}. All {len(ranking)} fully tested models, best "
        "first. "
        + _legend(len(tasks))
        + coverage_note(arch, info)
        + ranking_table(arch, info["base_id"], ranking, baseline, tasks)
        + f"\nDownload: [ranking.csv](data/{arch}/ranking.csv). Back to the "
        f"{link(f'top of {arch}', f'{arch}_table.md')}.\n"
    )


def home_order(summaries: list[dict]) -> list[dict]:
    """Architectures by their best model's gain over the baseline, highest first; those with no
    fully tested model last; ties by architecture name."""
    return sorted(
        summaries,
        key=lambda s: (s["gain"] is None, -(s["gain"] or 0.0), s["arch"]),
    )


def tested_so_far(tested: int, probed: int) -> str:
    return (
        f"Tested so far: {tested} fully tested on every target task, "
        f"{probed} ranked by the probe (and counting)\n"
    )


def cite_page(nav_order: int) -> str:
    bibtex = (
        "@article{choshen2022start,\n"
        f"  title={{{PAPER_TITLE}}},\n"
        "  author={Choshen, Leshem and Venezian, Elad and Don-Yehiya, Shachar and "
        "Slonim, Noam and Katz, Yoav},\n"
        "  journal={arXiv preprint arXiv:2211.00107},\n"
        "  year={2022}\n"
        "}"
    )
    return (
        front_matter("Cite", nav_order) + "# Cite\n\n"
        "## The method\n\n"
        f"The ranking follows the paper [{PAPER_TITLE}]({PAPER_URL}) by {PAPER_AUTHORS} "
        "(arXiv 2211.00107, EMNLP 2023): rank finetuned models cheaply with a linear probe, then "
        "finetune the best-ranked ones on many target tasks and compare them with the pretrained "
        "model they came from.\n\n"
        "<pre>" + "\n".join(map(text, bibtex.splitlines())) + "</pre>\n\n"
        "## These results\n\n"
        "The numbers on this site come from this workflow (model recycling, a Snakemake "
        "workflow). To cite a result, cite the paper and give the run's "
        "[manifest](manifest.json): it names the code version, the configuration, every model "
        "revision and the task data that made the numbers, so anyone can rerun them.\n"
    )
