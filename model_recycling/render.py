"""Markdown pages in the reference site's structure (Jekyll, theme just-the-docs): a home page
with the best model per architecture, a Rankings page, per architecture a ranking page and a
baseline page, per model a gain page with a chart, and an FAQ generated from the config that ran.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from model_recycling.io import atomic_write_json, atomic_write_text
from model_recycling.naming import safe_name
from model_recycling.provenance import code_version, package_versions


def fmt(value, digits=2) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def md_table(header: list, rows: list, align: list) -> str:
    """align: 'l' or 'r' per column."""
    marks = {"l": ":---", "r": "---:"}
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def front_matter(title: str, nav_order: int, parent: str | None = None, extra: str = "") -> str:
    """Titles are JSON-quoted (valid YAML): model ids may contain ':' or '#'."""
    parent_line = f"parent: {json.dumps(parent)}\n" if parent else ""
    head = f"---\nlayout: default\ntitle: {json.dumps(title)}\n{parent_line}"
    return head + f"nav_order: {nav_order}\n{extra}---\n"


def gain_page_path(arch: str, model_id: str) -> str:
    return f"model_gain_chart/{arch}/{safe_name(model_id)}.md"


def gain_chart(gains: pd.Series, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = gains.sort_values()
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(ordered) + 1.2))
    colors = ["#2e7d32" if v >= 0 else "#c62828" for v in ordered]
    ax.barh(list(ordered.index), list(ordered.values), color=colors)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("gain over the pretrained baseline (points)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)


def render_site(out_dir, archs: dict, settings: dict) -> None:
    """archs: name -> {"base_id", "tables_dir", "counts"}; settings: the config that ran plus
    task metas (settings["task_meta"][task])."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tasks = settings["targets"]
    summary_rows, tested_total, probed_total = [], 0, 0
    for order, (arch, info) in enumerate(sorted(archs.items()), start=1):
        tables = Path(info["tables_dir"])
        baseline = pd.read_csv(tables / "baseline.csv", index_col="task")
        ranking = pd.read_csv(tables / "ranking.csv")
        gains = pd.read_csv(tables / "gains.csv", index_col="model_id")
        data_dir = out / "data" / arch
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in ("ranking.csv", "baseline.csv", "gains.csv", "cells.csv", "probes.csv"):
            shutil.copyfile(tables / name, data_dir / name)
        tested_total += len(ranking)
        probed_total += info["counts"]["probed"]

        _arch_ranking_page(out, arch, info, ranking, baseline, tasks, order)
        _baseline_page(out, arch, info, baseline, tasks, order)
        for _, row in ranking.iterrows():
            _gain_page(out, arch, info, row, gains.loc[row.model_id, tasks], baseline)
        base_cell = f"[{info['base_id']}]({arch}_pretrain_scores_table.md)"
        if len(ranking):
            best = ranking.iloc[0]
            best_cell = f"[{best.model_id}]({gain_page_path(arch, best.model_id)})"
            best_avg = fmt(best.avg)
        else:
            best_cell, best_avg = "none fully tested yet", ""
        summary_rows.append(
            [
                base_cell,
                best_cell,
                best_avg,
                fmt(baseline.loc["avg", "mean"]),
                f"[link]({arch}_table.md)",
            ]
        )

    atomic_write_text(
        out / "index.md", _home_page(summary_rows, tested_total, probed_total, settings)
    )
    atomic_write_json(out / "manifest.json", run_manifest(archs, settings))
    _rankings_page(out, archs)
    atomic_write_text(out / "faq.md", faq_page(settings))


def run_manifest(archs: dict, settings: dict) -> dict:
    """What made this run, in one file: code, config, packages, model revisions, task data."""
    models = {}
    for arch, info in sorted(archs.items()):
        cells = pd.read_csv(Path(info["tables_dir"]) / "cells.csv")
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
            t: m["fingerprint"] for t, m in sorted(settings["task_meta"].items())
        },
    }


def _home_page(rows, tested_total, probed_total, settings) -> str:
    table = md_table(
        ["Pretrained", "Best model", "Avg.", "Pretrained Avg.", "Ranking"],
        rows,
        ["l", "l", "r", "r", "l"],
    )
    n_tasks = len(settings["targets"])
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
        f"the pretrained model are then finetuned on {n_tasks} target tasks, and we report each "
        "base model's average.\n\n"
        f"Tested so far: {tested_total} (ranked by the probe: {probed_total})\n"
        "## Best models per architecture\n<br>\n\n" + table + "\n<br>\n\n"
        "To learn more see the [FAQ](faq.md). Detailed results per architecture: "
        "[Rankings](Rankings.md). What made these results: [manifest](manifest.json).\n"
    )


def _rankings_page(out: Path, archs: dict) -> None:
    lines = [front_matter("Rankings", 1, extra="has_children: true\n"), "# Rankings\n\n"]
    for arch, info in sorted(archs.items()):
        counts = info["counts"]
        lines.append(
            f"- [{arch}]({arch}_table.md) (base: {info['base_id']}): {counts['listed']} candidates "
            f"listed, {counts['excluded']} excluded, {counts['probed']} ranked by the probe, "
            f"{counts['probe_failed']} failed, {counts['tested']} fully tested\n"
        )
    atomic_write_text(out / "Rankings.md", "".join(lines))


def _arch_ranking_page(out, arch, info, ranking, baseline, tasks, order) -> None:
    header = ["model_name", "avg", "probe", *tasks]
    rows = [
        [
            f"[{info['base_id']} (baseline)]({arch}_pretrain_scores_table.md)",
            fmt(baseline.loc["avg", "mean"]),
            "",
            *(fmt(baseline.loc[t, "mean"]) for t in tasks),
        ]
    ]
    for _, row in ranking.iterrows():
        link = f"[{row.model_id}]({gain_page_path(arch, row.model_id)})"
        rows.append([link, fmt(row.avg), fmt(row.probe_score), *(fmt(row[t]) for t in tasks)])
    text = (
        front_matter(arch, order, parent="Rankings") + f"# {arch}: ranking of base models\n\n"
        f"Base model: {info['base_id']}. Fully tested models sorted by their average over "
        f"{len(tasks)} tasks (x100); the first row is the pretrained model (mean over its seeds). "
        "`probe` is the linear-probe score used to pick the models to test; it is not part of "
        "the average.\n\n" + md_table(header, rows, ["l"] + ["r"] * (len(header) - 1)) + "\n"
        f"Download: [ranking](data/{arch}/ranking.csv), [gains](data/{arch}/gains.csv), "
        f"[every cell](data/{arch}/cells.csv), [probe scores](data/{arch}/probes.csv).\n"
    )
    atomic_write_text(out / f"{arch}_table.md", text)


def _baseline_page(out, arch, info, baseline, tasks, order) -> None:
    rows = [
        [
            t,
            fmt(baseline.loc[t, "mean"]),
            fmt(baseline.loc[t, "std"]),
            int(baseline.loc[t, "n_seeds"]),
        ]
        for t in [*tasks, "avg"]
    ]
    text = (
        front_matter(f"{arch} baseline", order, parent="Rankings")
        + f"# {info['base_id']}: pretrained baseline\n\n"
        "Mean and standard deviation over the baseline seeds (x100). For `avg`, the standard "
        "deviation is that of the per-seed averages.\n\n"
        + md_table(["task", "mean", "std", "seeds"], rows, ["l", "r", "r", "r"])
        + f"\nDownload: [baseline](data/{arch}/baseline.csv).\n"
    )
    atomic_write_text(out / f"{arch}_pretrain_scores_table.md", text)


def _gain_page(out, arch, info, row, gains: pd.Series, baseline) -> None:
    page = out / gain_page_path(arch, row.model_id)
    chart = page.with_suffix(".png")
    gain_chart(gains, f"{row.model_id} vs {info['base_id']}", chart)
    rows = [
        [t, fmt(row[t]), fmt(baseline.loc[t, "mean"]), fmt(gains[t])]
        for t in gains.sort_values(ascending=False).index
    ]
    text = (
        front_matter(row.model_id, 100, extra="nav_exclude: true\n") + f"# {row.model_id}\n\n"
        f"Revision `{row.revision}`, as a base model instead of {info['base_id']}: average "
        f"{fmt(row.avg)} vs {fmt(baseline.loc['avg', 'mean'])} (gain {fmt(row.gain_avg)}).\n\n"
        f"![per-task gain over the pretrained baseline]({chart.name})\n\n"
        + md_table(["task", "score", "baseline", "gain"], rows, ["l", "r", "r", "r"])
    )
    atomic_write_text(page, text)


def _holdout_rule(rule: dict) -> str:
    if not rule:
        return "as each task declares"
    return (
        f"{rule['large_size']:,} examples, half from each end, when train has at least "
        f"{rule['large_threshold']:,} examples, else {rule['small_fraction']:.0%} of it"
    )


def faq_page(settings: dict) -> str:
    hp, probe = settings["finetune"], settings["probe"]
    task_rows = []
    for task in settings["targets"]:
        meta = settings["task_meta"][task]
        spec = meta["spec"]
        split = (
            spec["eval_split"]
            if isinstance(spec["eval_split"], str)
            else "+".join(spec["eval_split"])
        )
        task_rows.append(
            [
                task,
                spec["dataset"] + (f" / {spec['config']}" if spec["config"] else ""),
                f"{split} ({meta['sizes']['eval']})",
                meta["sizes"]["train"],
                meta["metric"],
            ]
        )
    hp_rows = [[key, value] for key, value in sorted(hp.items())]
    return (
        front_matter("FAQ", 2)
        + "# FAQ\n\nEverything on this page is generated from the configuration that produced the "
        "results.\n\n"
        "## How are models chosen and ranked?\n"
        f"Each finetuned candidate of an architecture is scored by a linear probe: the encoder is "
        f"frozen, features are mean-pooled ({probe['pooling']}), and a logistic-regression head is "
        f"fitted on `{probe['task']}` and scored by accuracy on its evaluation split. The top "
        f"{settings['top_k']} candidates per architecture and the pretrained model are then fully "
        f"finetuned on every target task. Candidates run with seeds {settings['seeds']}; the "
        f"baseline with {len(settings['baseline_seeds'])} seeds {settings['baseline_seeds']}.\n\n"
        "## What is the gain?\n"
        "`gain(m, t) = score(m, t) - mean baseline score(t)`; `avg` is the unweighted mean over "
        "the tasks, x100. Accuracy for classification, Spearman correlation for regression.\n\n"
        "## Finetuning hyperparameters\n"
        + md_table(["setting", "value"], hp_rows, ["l", "l"])
        + "\nAdamW with a linear schedule; early stopping on a dev set held out of the training "
        f"split ({_holdout_rule(settings['dev_holdout'])}); the best dev checkpoint is scored.\n\n"
        "## Tasks\n"
        + md_table(
            ["task", "dataset", "evaluated on (n)", "train", "metric"],
            task_rows,
            ["l", "l", "l", "r", "l"],
        )
    )
