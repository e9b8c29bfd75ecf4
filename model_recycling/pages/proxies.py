"""Two pages per architecture that judge the results: how well each proxy ranked the models that
were then fully tested (figures from proxy_quality.py, a scatter plot per proxy), and per target
task the best fully tested base with its gain and whether that gain stands out of the baseline's
seed noise. Both build on render.py's page helpers; render_site calls render_judgement_pages.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from model_recycling.io import atomic_write_text
from model_recycling.pages.charts import scatter_svg
from model_recycling.pages.escaping import Markup, link, text
from model_recycling.pages.markdown import arch_page_front_matter, fmt, gain_page_path, md_table
from model_recycling.pages.rankings import coverage_note
from model_recycling.probing.proxies import PROXIES
from model_recycling.tables.proxy_quality import (
    KS,
    MIN_MODELS,
    STATIC_PROXY,
    proxy_verdict,
    quality_table,
)

N_RESAMPLES, BOOTSTRAP_SEED = 2000, 0
MARKERS = {  # role of a tested model -> (label, marker, colour)
    "selected": ("selected by the proxy that ranked", "o", "#1565c0"),
    "calibration": ("calibration sample (random)", "^", "#ef6c00"),
    "other": ("tested otherwise (earlier runs)", "s", "#757575"),
}


def proxy_page_path(arch: str) -> str:
    return f"{arch}_proxy_quality.md"


def per_task_page_path(arch: str) -> str:
    return f"{arch}_per_task.md"


def _role(row) -> str:
    if row.calibration == "yes":
        return "calibration"
    return "selected" if row.selected == "yes" else "other"


def scatter_chart(tested: pd.DataFrame, proxy: str, title: str, path: Path) -> None:
    """Proxy score vs final average, one marker per role (selected, calibration, other); SVG
    written directly (charts.py): thousands of models cost no more than a few."""
    rows = tested[tested[proxy].notna()]
    roles = rows.apply(_role, axis=1) if len(rows) else pd.Series(dtype=str)
    points = {
        role: list(zip(rows[proxy][roles == role], rows.avg[roles == role], strict=True))
        for role in MARKERS
    }
    svg = scatter_svg(
        points, MARKERS, f"{proxy} score", "average over the target tasks (x100)", title
    )
    atomic_write_text(path, svg)


def _interval(row, name: str) -> str:
    low, high = row[f"{name}_low"], row[f"{name}_high"]
    return "" if pd.isna(low) else f"{low:.2f} to {high:.2f}"


def _figure(value, digits=2) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _bias_note(tested: pd.DataFrame) -> str:
    n_calibration = int((tested.calibration == "yes").sum())
    if not n_calibration:
        return (
            "**Selection-only run: these figures are biased by selection.** No calibration "
            "sample was finetuned, so they only cover models the proxy itself picked and say "
            "nothing about the ones it ranked low. Set `calibration_k` to finetune a seeded "
            "random sample of the others as well.\n\n"
        )
    return (
        f"Calibration sample: {n_calibration} of the {len(tested)} tested models, a seeded "
        "random draw among the models the proxy did not pick, so the figures also cover models "
        "it ranked low.\n\n"
    )


def quality_tables(figures: pd.DataFrame, rank_by: str) -> str:
    names = [
        Markup(text(p) + (" (ranked this run)" if p == rank_by else "")) for p in figures.proxy
    ]
    correlation = [
        [name, int(r.n), _figure(r.spearman), _interval(r, "spearman"), _figure(r.kendall),
         _interval(r, "kendall")]
        for name, (_, r) in zip(names, figures.iterrows(), strict=True)
    ]  # fmt: skip
    picking = [
        [name, int(r.n), *(_figure(r[f"regret@{k}"]) for k in KS),
         *(_figure(r[f"recall@{k}"]) for k in KS)]
        for name, (_, r) in zip(names, figures.iterrows(), strict=True)
    ]  # fmt: skip
    return (
        "## Correlation with the final average\n\n"
        + md_table(
            ["proxy", "models", "Spearman", "95% interval", "Kendall tau-b", "95% interval"],
            correlation,
            ["l", "r", "r", "r", "r", "r"],
        )
        + f"\nIntervals: percentile bootstrap over the tested models ({N_RESAMPLES} resamples, "
        f"seed {BOOTSTRAP_SEED}).\n\n## Picking the best\n\n"
        + md_table(
            ["proxy", "models", *(f"regret@{k}" for k in KS), *(f"recall@{k}" for k in KS)],
            picking,
            ["l"] + ["r"] * (1 + 2 * len(KS)),
        )
        + "\nregret@k: best average among all tested models minus the best among the proxy's "
        "top k (points; 0 = its top k holds the best model). recall@k: share of the k best "
        "models by average that the proxy's top k holds. –: undefined, or trivially perfect "
        "because k is not below the number of models.\n\n"
    )


def proxy_quality_page(out: Path, arch: str, proxies: pd.DataFrame, rank_by: str, order) -> dict:
    """Write the page and its charts; returns the figures' table and what the home page shows."""
    tested = proxies[proxies.tested == "yes"]
    names = [p for p in (*PROXIES, STATIC_PROXY) if proxies[p].notna().any()]
    figures = quality_table(tested, names, N_RESAMPLES, BOOTSTRAP_SEED)
    judged = proxy_verdict(tested, figures, MIN_MODELS, N_RESAMPLES, BOOTSTRAP_SEED)
    charts = []
    for proxy, n in zip(figures.proxy, figures.n, strict=True):
        chart = Path("proxy_quality") / arch / f"{proxy}.svg"
        scatter_chart(tested, proxy, f"{arch}: {proxy} vs average ({n} models)", out / chart)
        charts.append(f"### {text(proxy)}\n\n![{text(proxy)} score vs average]({chart})\n\n")
    absent = [p for p in (*PROXIES, STATIC_PROXY) if p not in names]
    page = (
        arch_page_front_matter(arch, f"{arch} proxy quality", 3)
        + f"# {text(arch)}: how well the proxies ranked\n\n"
        + text(judged["line"])
        + "\n\n"
        + _bias_note(tested)
        + f"Ranked by `{text(rank_by)}`: {int((proxies.selected == 'yes').sum())} selected of "
        f"{len(proxies)} probed; {len(tested)} fully tested, on which every figure below rests "
        "(`models`: how many of them have the proxy's score). Fewer than "
        f"{MIN_MODELS} models tell nothing.\n\n"
        + quality_tables(figures, rank_by)
        + "## Proxy score vs final average\n\nOne plot per proxy; markers show why a model was "
        "tested.\n\n"
        + "".join(charts)
        + (f"No score on this run: {', '.join(absent)}.\n\n" if absent else "")
        + f"How to read this page: see the README. Download: "
        f"[proxies.csv](data/{arch}/proxies.csv).\n"
    )
    atomic_write_text(out / proxy_page_path(arch), page)
    return figures, judged


def proxy_summary_row(arch, proxies: pd.DataFrame, figures, judged: dict, rank_by: str) -> list:
    """One home-page row: the ranking proxy's Spearman, the verdict, selection-only or not."""
    mine = figures[figures.proxy == rank_by]
    spearman = f"{_figure(mine.spearman.iloc[0])} (n={int(mine.n.iloc[0])})" if len(mine) else ""
    tested = proxies[proxies.tested == "yes"]
    calibrated = "yes" if (tested.calibration == "yes").any() else "no (biased by selection)"
    return [
        link(arch, proxy_page_path(arch)),
        rank_by,
        spearman,
        judged["short"],
        calibrated,
    ]


def proxy_summary_table(rows: list) -> str:
    return md_table(
        ["Architecture", "Ranked by", "Its Spearman", "Best proxy", "Calibration sample"],
        rows,
        ["l", "l", "r", "l", "l"],
    )


def _beyond_noise(gain: float, std: float) -> str:
    if pd.isna(std):
        return "unknown (one baseline seed)"
    return "yes" if gain > 2 * std else "no"


def per_task_page(out, arch, base_id, ranking, baseline, tasks, seeds, order, note="") -> None:
    """Per target task: the best fully tested base (mean over its seeds), its gain over the
    baseline and whether that gain exceeds 2 standard deviations of the baseline's seeds."""
    rows, base_wins = [], []
    for task in tasks:
        if not len(ranking):
            break
        best = ranking.sort_values([task, "model_id"], ascending=[False, True]).iloc[0]
        mean, std = baseline.loc[task, "mean"], baseline.loc[task, "std"]
        gain = best[task] - mean
        if gain <= 0:
            base_wins.append(task)
        rows.append([
            task, link(best.model_id, gain_page_path(arch, best.model_id)), fmt(best[task]),
            f"{fmt(mean)} ± {fmt(std)}", fmt(gain), _beyond_noise(gain, std),
        ])  # fmt: skip
    n_base = int(baseline.loc[tasks[0], "n_seeds"]) if tasks else 0
    body = (
        md_table(
            ["task", "best base", "score", "baseline (mean ± std)", "gain", "real gain?"],
            rows,
            ["l", "l", "r", "r", "r", "l"],
        )
        if rows
        else "No model is fully tested yet.\n"
    )
    wins = (
        f"\nOn {', '.join(map(text, base_wins))} no tested model beats the pretrained model.\n"
        if base_wins
        else ""
    )
    page = (
        arch_page_front_matter(arch, f"{arch} per task", 4)
        + f"# {text(arch)}: the best base per task\n\n"
        f"For each target task, the fully tested model with the best score on it (mean over its "
        f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}, x100) instead of "
        f"{text(base_id)}. `real gain?` is yes when the gain exceeds twice the standard "
        f"deviation of the baseline's {n_base} seeds: a smaller gain may be seed noise.\n\n"
        + note
        + body
        + wins
        + f"\nDownload: [ranking](data/{arch}/ranking.csv), "
        f"[baseline](data/{arch}/baseline.csv).\n"
    )
    atomic_write_text(out / per_task_page_path(arch), page)


def render_judgement_pages(out, arch, info, ranking, baseline, settings, order) -> list:
    """Both pages of one architecture; returns its row of the home page's proxy summary."""
    tables = Path(info["tables_dir"])
    proxies = pd.read_csv(tables / "proxies.csv", keep_default_na=False, na_values=[""])
    rank_by = settings["probe"]["rank_by"]
    figures, judged = proxy_quality_page(out, arch, proxies, rank_by, order)
    per_task_page(
        out, arch, info["base_id"], ranking, baseline, info["tasks"], settings["seeds"], order,
        coverage_note(arch, info),
    )  # fmt: skip
    return proxy_summary_row(arch, proxies, figures, judged, rank_by)
