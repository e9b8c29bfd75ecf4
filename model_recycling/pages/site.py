"""Markdown pages in the reference site's structure (Jekyll, theme just-the-docs): a home page
with the best model per architecture, a Rankings page, per architecture a ranking page and a
baseline page, per model a gain page with a chart, and an FAQ generated from the config that ran.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from model_recycling.io import atomic_write_json, atomic_write_text, read_json
from model_recycling.pages.candidates import render_candidates
from model_recycling.pages.charts import gain_chart_svg
from model_recycling.pages.demo import render_demo_page
from model_recycling.pages.escaping import code, link, text
from model_recycling.pages.faq import faq_page
from model_recycling.pages.invalid import invalid_page, invalid_page_path
from model_recycling.pages.markdown import (
    arch_page_front_matter,
    fmt,
    front_matter,
    gain_page_path,
    md_table,
)
from model_recycling.pages.proxies import proxy_summary_table, render_judgement_pages
from model_recycling.pages.racing import racing_line, racing_page, racing_page_path
from model_recycling.pages.rankings import (
    cite_page,
    coverage_note,
    full_ranking_page,
    home_order,
    tested_so_far,
    top_ranking_page,
)
from model_recycling.provenance import code_version, package_versions
from model_recycling.tables.aggregate import read_cells_csv
from model_recycling.tables.coverage import read_coverage, unreadable_tasks
from model_recycling.tables.outcomes import OUTCOMES

# GitHub Pages builds results/site as it is: the reference's theme, with its navigation.
JEKYLL_CONFIG = """title: Model recycling
description: The best base model per architecture, among the finetuned models.
remote_theme: just-the-docs/just-the-docs
plugins:
  - jekyll-remote-theme
search_enabled: true
"""
DATA_FILES = (
    "ranking.csv", "baseline.csv", "gains.csv", "cells.csv", "probes.csv", "invalid.csv",
    "candidates.csv", "proxies.csv",
)  # fmt: skip


def render_job(settings: dict, tables: dict, task_metas: list, out_dir, zoo_models=None):
    """The render rule. settings: the config; tables: architecture -> its tables folder (with
    counts.json); task_metas: the targets' meta.json paths; zoo_models: the demo zoo's model
    folders, for its page."""
    settings = {**settings, "task_meta": {m["task"]: m for m in map(read_json, task_metas)}}
    archs = {
        arch: {
            "base_id": settings["architectures"][arch]["base_model"]["id"],
            "tables_dir": tables_dir,
            "counts": read_json(Path(tables_dir) / "counts.json"),
        }
        for arch, tables_dir in tables.items()
    }
    render_site(out_dir, archs, settings)
    if zoo_models:
        render_demo_page(out_dir, settings, zoo_models)


def gain_chart(gains: pd.Series, title: str, path: Path) -> None:
    """The per-task gain chart, as SVG written directly (pages/charts.py)."""
    atomic_write_text(path, gain_chart_svg(gains, title), durable=False)


def render_site(out_dir, archs: dict, settings: dict) -> None:
    """archs: name -> {"base_id", "tables_dir", "counts"}; settings: the config that ran plus
    task metas (settings["task_meta"][task])."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summaries, proxy_rows = [], []
    for order, (arch, info) in enumerate(sorted(archs.items()), start=1):
        summary, proxy_row = _architecture_pages(out, arch, info, settings, order)
        summaries.append(summary)
        proxy_rows.append(proxy_row)
    tested_total = sum(summary["tested"] for summary in summaries)
    probed_total = sum(info["counts"]["probed"] for info in archs.values())
    atomic_write_text(
        out / "index.md",
        _home_page(home_order(summaries), tested_total, probed_total, settings)
        + "\n## How well the probe ranked\n\n"
        + proxy_summary_table(proxy_rows)
        + "\nPer architecture: each proxy's correlation with the final average, regret and "
        "recall, on the proxy-quality page linked above.\n",
    )
    atomic_write_json(out / "manifest.json", run_manifest(archs, settings))
    _rankings_page(out, archs)
    atomic_write_text(out / "faq.md", faq_page(settings))
    atomic_write_text(out / "cite.md", cite_page(3))
    atomic_write_text(out / "_config.yml", JEKYLL_CONFIG)


def _copy_data(tables: Path, data_dir: Path, left_out) -> None:
    """The tables the pages link (data/<arch>/): tasks.csv when tasks were left out, racing.csv
    where racing ran."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in DATA_FILES:
        shutil.copyfile(tables / name, data_dir / name)
    if left_out:  # which tasks count, linked from the pages' note
        shutil.copyfile(tables / "tasks.csv", data_dir / "tasks.csv")
    if (tables / "racing.csv").exists():
        shutil.copyfile(tables / "racing.csv", data_dir / "racing.csv")


def _architecture_pages(out: Path, arch: str, info: dict, settings: dict, order: int) -> tuple:
    """Every page of one architecture; returns its home-table row and proxy-summary row."""
    tables = Path(info["tables_dir"])
    tasks, left_out = read_coverage(tables, settings["targets"])
    info = {**info, "tasks": tasks, "left_out": left_out, "unreadable": unreadable_tasks(tables)}
    baseline = pd.read_csv(tables / "baseline.csv", index_col="task")
    ranking = pd.read_csv(tables / "ranking.csv")
    gains = pd.read_csv(tables / "gains.csv", index_col="model_id")
    invalid = pd.read_csv(tables / "invalid.csv", keep_default_na=False)
    _copy_data(tables, out / "data" / arch, left_out or info["unreadable"])
    racing = None
    if (tables / "racing.csv").exists():
        racing = pd.read_csv(tables / "racing.csv")
        page = racing_page(arch, info["base_id"], racing, len(tasks), set(ranking.model_id))
        atomic_write_text(out / racing_page_path(arch), page)
    top_n = settings["ranking_top_n"]
    atomic_write_text(
        out / f"{arch}_table.md",
        top_ranking_page(arch, info, ranking, baseline, invalid, tasks, order, top_n)
        + racing_line(arch, racing),
    )
    atomic_write_text(
        out / f"{arch}_full_ranking.md", full_ranking_page(arch, info, ranking, baseline, tasks)
    )
    _baseline_page(out, arch, info, baseline, tasks)
    atomic_write_text(out / invalid_page_path(arch), invalid_page(arch, info["base_id"], invalid))
    render_candidates(
        out, arch, info["base_id"], tables,
        arch_page_front_matter(arch, f"{arch} all probed models", 2),
    )  # fmt: skip
    for _, row in ranking.iterrows():
        _gain_page(out, arch, info, row, gains.loc[row.model_id, tasks], baseline)
    proxy_row = render_judgement_pages(out, arch, info, ranking, baseline, settings, order)
    summary = {**_home_summary(arch, info, ranking, baseline), "tested": len(ranking)}
    return summary, proxy_row


def _home_summary(arch, info, ranking, baseline) -> dict:
    """One home-table row, with the gain that orders the rows (rankings.home_order)."""
    base_cell = link(info["base_id"], f"{arch}_pretrain_scores_table.md")
    base_avg, ranking_cell = fmt(baseline.loc["avg", "mean"]), link("link", f"{arch}_table.md")
    note = (
        f"{text(arch)}: on {len(info['tasks'])} of {len(info['tasks']) + len(info['left_out'])} "
        f"target tasks (see {link('its ranking', f'{arch}_table.md')})"
        if info["left_out"]
        else ""
    )
    if info["unreadable"]:
        unreadable = info["unreadable"]
        names = ", ".join(f"{text(t)} ({rate:.0%} unknown tokens)" for t, rate in unreadable)
        note += ("; " if note else "") + f"{text(arch)}: text its tokenizer cannot read: {names}"
    if not len(ranking):
        row = [base_cell, "none fully tested yet", "", base_avg, "", ranking_cell]
        return {"arch": arch, "gain": None, "row": row, "note": note}
    best = ranking.iloc[0]
    best_cell = link(best.model_id, gain_page_path(arch, best.model_id))
    row = [base_cell, best_cell, fmt(best.avg), base_avg, fmt(best.gain_avg), ranking_cell]
    return {"arch": arch, "gain": float(best.gain_avg), "row": row, "note": note}


def run_manifest(archs: dict, settings: dict) -> dict:
    """What made this run, in one file: code, config, packages, model revisions, task data."""
    models = {}
    for arch, info in sorted(archs.items()):
        cells = read_cells_csv(Path(info["tables_dir"]) / "cells.csv")
        cells = cells[cells.invalid.isna()]  # an invalid record's revision made nothing here
        pairs = cells[["model_id", "model_revision"]].drop_duplicates().itertuples(index=False)
        models[arch] = {model_id: revision for model_id, revision in pairs}
    config = {k: v for k, v in settings.items() if k != "task_meta"}
    return {
        "code_version": code_version(),
        "packages": package_versions(),
        "config": config,
        "seeds": {"candidates": config["seeds"], "baseline": config["baseline_seeds"]},
        "model_revisions": models,
        "task_fingerprints": {
            t: m["fingerprint"] if m.get("status") != "failed" else f"failed: {m['reason']}"
            for t, m in sorted(settings["task_meta"].items())
        },
    }


def _targets(settings: dict) -> str:
    """'36 target tasks', and which of them could not be prepared (the FAQ says why)."""
    n = len(settings["targets"])
    metas = settings.get("task_meta", {})
    failed = [t for t in settings["targets"] if metas.get(t, {}).get("status") == "failed"]
    said = f"{n} target task{'s' if n != 1 else ''}"
    if failed:
        names = text(", ".join(failed))
        said += f" ({len(failed)} of them could not be prepared: {names}; the FAQ says why)"
    return said


def _home_page(summaries, tested_total, probed_total, settings) -> str:
    table = md_table(
        ["Pretrained", "Best model", "Avg.", "Pretrained Avg.", "Gain", "Ranking"],
        [summary["row"] for summary in summaries],
        ["l", "l", "r", "r", "r", "l"],
    )
    return (
        front_matter(
            "Home", 0, extra='description: "Model recycling - the best model per architecture."\n'
        )
        + "# Welcome to the model-recycling page\n\n"
        "Hardly anyone trains from scratch anymore, we all finetune over a pretrained model.\n\n"
        "[Research](https://arxiv.org/abs/2211.00107) shows that some finetuned models are better "
        "base models than the pretrained models themselves.\n\n"
        "This page presents the best models to start from for a given architecture and size. "
        "Every finetuned candidate is ranked cheaply with a linear probe; the top-ranked ones and "
        f"the pretrained model are then finetuned on {_targets(settings)}, and we report each "
        "base model's average.\n\n"
        + tested_so_far(tested_total, probed_total)
        + "## Best models per architecture\n\n"
        "Ordered by the best model's gain over its pretrained model.\n\n"
        + table
        + _coverage_notes(summaries)
        + "\n<br>\n\n"
        "To learn more see the [FAQ](faq.md). Detailed results per architecture: "
        "[Rankings](Rankings.md). What made these results: [manifest](manifest.json). "
        "To cite: [Cite](cite.md).\n"
    )


def _coverage_notes(summaries: list) -> str:
    """Architectures whose averages rest on fewer than every target task."""
    notes = [summary["note"] for summary in summaries if summary["note"]]
    return f"\nAverages to read with care: {'; '.join(notes)}.\n" if notes else ""


def _rankings_page(out: Path, archs: dict) -> None:
    lines = [
        front_matter("Rankings", 1, extra="has_children: true\n"),
        "# Rankings\n\nWhere every listed candidate ended, in the words of the all-probed pages "
        '(see the README, "What you can trust").\n\n',
    ]
    for arch, info in sorted(archs.items()):
        counts = info["counts"]
        lines.append(
            f"- {link(arch, f'{arch}_table.md')} (base: {text(info['base_id'])}): "
            f"{counts['listed']} listed: {_outcome_counts(counts)}.{_invalid_note(arch, counts)} "
            f"({link('full ranking', f'{arch}_full_ranking.md')}, "
            f"{link('all probed models', f'{arch}_candidates.md')}, "
            f"{link('proxy quality', f'{arch}_proxy_quality.md')}, "
            f"{link('best base per task', f'{arch}_per_task.md')})\n"
        )
    atomic_write_text(out / "Rankings.md", "".join(lines))


def _outcome_counts(counts: dict) -> str:
    """'5 tested, 100 not selected, ...': every outcome that happened, in OUTCOMES order."""
    if "outcomes" not in counts:  # counts.json written before the outcome vocabulary
        return (
            f"{counts['excluded']} excluded at listing, {counts['probed']} ranked by the probe, "
            f"{counts['probe_failed']} probe failed, {counts['tested']} tested"
        )
    found = counts["outcomes"]
    return ", ".join(f"{found[o]} {o}" for o in OUTCOMES if found.get(o))


def _invalid_note(arch: str, counts: dict) -> str:
    records, models = counts.get("invalid", 0), counts.get("invalid_models")
    if not records:
        return ""
    whose = f" of {models} model{'s' if models != 1 else ''}" if models is not None else ""
    return (
        f" {records} invalid record{'s' if records != 1 else ''}{whose}: "
        f"{link('invalid records', invalid_page_path(arch))}."
    )


def _baseline_page(out, arch, info, baseline, tasks) -> None:
    # tables made before the standard error was a column: computed the same way
    se = baseline["se"] if "se" in baseline else baseline["std"] / baseline["n_seeds"] ** 0.5
    rows = [
        [t, fmt(baseline.loc[t, "mean"]), fmt(baseline.loc[t, "std"]),
         int(baseline.loc[t, "n_seeds"]), fmt(se[t])]
        for t in [*tasks, "avg"]
    ]  # fmt: skip
    page = (
        arch_page_front_matter(arch, f"{arch} baseline", 0)
        + f"# {text(info['base_id'])}: pretrained baseline\n\n"
        "Mean and standard deviation over the baseline seeds (x100), how many seeds finished, "
        "and the standard error of the mean (std / sqrt(seeds)). For `avg`, the standard "
        "deviation is that of the per-seed averages (over the seeds that finished every task) "
        "and the standard error combines the tasks' (sqrt of the sum of squares / tasks).\n\n"
        + coverage_note(arch, info)
        + md_table(["task", "mean", "std", "seeds", "std. error"], rows, ["l", "r", "r", "r", "r"])
        + f"\nDownload: [baseline](data/{arch}/baseline.csv).\n"
    )
    atomic_write_text(out / f"{arch}_pretrain_scores_table.md", page)


def _gain_page(out, arch, info, row, gains: pd.Series, baseline) -> None:
    path = out / gain_page_path(arch, row.model_id)
    chart = path.with_suffix(".svg")
    gain_chart(gains, f"{row.model_id} vs {info['base_id']}", chart)
    scores, means, gain = row.to_dict(), baseline["mean"].to_dict(), gains.to_dict()  # fast
    rows = [
        [t, fmt(scores[t]), fmt(means[t]), fmt(gain[t])]
        for t in sorted(gain, key=gain.get, reverse=True)  # biggest gain first, as the chart
    ]
    page = (
        front_matter(row.model_id, 100, extra="nav_exclude: true\n") + f"# {text(row.model_id)}\n\n"
        f"Revision {code(row.revision)}, as a base model instead of {text(info['base_id'])}: "
        f"average {fmt(row.avg)} vs {fmt(baseline.loc['avg', 'mean'])} "
        f"(gain {fmt(row.gain_avg)}).\n\n"
        f"![per-task gain over the pretrained baseline]({chart.name})\n\n"
        + md_table(["task", "score", "baseline", "gain"], rows, ["l", "r", "r", "r"])
    )
    atomic_write_text(path, page, durable=False)  # one per tested model: thousands
