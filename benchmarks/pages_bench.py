"""Pages at scale: render the site for thousands of fully tested models.

Builds synthetic results for N architectures x M models x 36 tasks (cell records with seeded
random scores, turned into tables by the aggregation's own functions: ranking, baseline, gains,
probes, proxies, candidates), then times `render_site` on them: total seconds and the gain
charts' share. Beside it, one gain chart drawn the former way (matplotlib PNG) and the current way
(SVG written directly), interleaved, to show what the chart change buys.

Alone: `python -m benchmarks.pages_bench` (PAGES_ARCHS, PAGES_MODELS, PAGES_TASKS, PAGES_REPS);
in `make bench`: BENCH_PAGES=1 (an optional stage of benchmarks/run.py).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from benchmarks.timing import figure, interleaved, keep_block, machine, timed

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = {"PAGES_ARCHS": 6, "PAGES_MODELS": 500, "PAGES_TASKS": 36, "PAGES_REPS": 1}
BASELINE_SEEDS = [0, 1, 2]
START, END = "<!-- pages:start -->", "<!-- pages:end -->"


def sizes() -> dict:
    return {k: int(os.environ.get(k, v)) for k, v in DEFAULTS.items()}


def _cells(base_id: str, models: list, tasks: list, rng) -> pd.DataFrame:
    """Cell records as aggregate.load_cells returns them: valid, ok, one per model/task/seed."""
    rows = []
    for model_id, seeds in [(base_id, BASELINE_SEEDS)] + [(m, [0]) for m in models]:
        skill = rng.normal(0, 0.03)
        for task in tasks:
            for seed in seeds:
                score = float(np.clip(0.7 + skill + rng.normal(0, 0.02), 0, 1))
                rows.append({
                    "model_id": model_id, "role": "x", "task": task, "seed": seed,
                    "status": "ok", "reason": "", "score": score, "metric": "accuracy",
                    "n_eval": 1000, "n_correct": round(score * 1000), "dev_score": score,
                    "epochs_run": 3.0, "model_revision": "0" * 40, "task_fingerprint": "f",
                    "path": f"cells/{model_id}/{task}/seed{seed}.json", "invalid": "",
                })  # fmt: skip
    return pd.DataFrame(rows)


def write_tables(out: Path, base_id: str, n_models: int, tasks: list, seed: int) -> dict:
    """One architecture's tables (as the aggregate rule writes them); returns its counts."""
    from model_recycling.tables.aggregate import baseline_table, gains_table, ranking_table
    from model_recycling.tables.outcomes import CSV_COLUMNS, write_candidates_csv
    from model_recycling.tables.proxy_quality import proxies_table

    rng = np.random.default_rng(seed)
    models = [f"org{i % 97}/{base_id}-finetuned-{i:05d}" for i in range(n_models)]
    cells = _cells(base_id, models, tasks, rng)
    probes = {m: float(rng.uniform(30, 90)) for m in models}
    baseline = baseline_table(cells, base_id, tasks, BASELINE_SEEDS)
    ranking = ranking_table(cells, models, tasks, [0], baseline, probes)
    out.mkdir(parents=True, exist_ok=True)
    cells.to_csv(out / "cells.csv", index=False)
    baseline.to_csv(out / "baseline.csv")
    ranking.to_csv(out / "ranking.csv", index=False)
    gains_table(ranking, baseline, tasks).to_csv(out / "gains.csv")
    pd.DataFrame(
        {"model_id": models, "status": "ok", "score": [probes[m] / 100 for m in models]}
    ).to_csv(out / "probes.csv", index=False)
    pd.DataFrame(columns=["kind", "path", "model_id", "reason"]).to_csv(
        out / "invalid.csv", index=False
    )
    ordered = sorted(models, key=lambda m: -probes[m])
    write_candidates_csv(
        out / "candidates.csv",
        [
            dict.fromkeys(CSV_COLUMNS, "")
            | {
                "model_id": m,
                "revision": "0" * 40,
                "outcome": "tested",
                "probe_rank": rank,
                "probe_score": probes[m],
            }
            for rank, m in enumerate(ordered, start=1)
        ],  # fmt: skip
    )
    records = {m: {"score": probes[m] / 100, "proxies": _proxies(rng, probes[m])} for m in models}
    proxies_table(records, ranking).to_csv(out / "proxies.csv", index=False)
    counts = {"listed": n_models, "excluded": 0, "probed": n_models, "probe_failed": 0,
              "tested": n_models, "invalid": 0}  # fmt: skip
    (out / "counts.json").write_text(json.dumps(counts))
    return counts


def _proxies(rng, probe: float) -> dict:
    return {
        "linear_probe": probe / 100,
        "logme": float(rng.normal()),
        "hscore": float(rng.uniform(0, 5)),
        "knn": float(rng.uniform(0.3, 0.9)),
    }


def settings(archs: dict, tasks: list) -> dict:
    """The default config with these architectures and tasks, and a meta.json per task."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["architectures"] = {
        arch: {"base_model": {"id": info["base_id"]}, "source": {"type": "hub"}}
        for arch, info in archs.items()
    }
    config.update(targets=tasks, seeds=[0], baseline_seeds=BASELINE_SEEDS)
    config["demo_zoo"]["enabled"] = False
    spec = {"dataset": "synthetic", "config": None, "eval_split": "test"}
    config["task_meta"] = {
        task: {"task": task, "fingerprint": f"fp-{task}", "spec": spec, "metric": "accuracy",
               "sizes": {"train": 5000, "dev": 1000, "eval": 1000}}
        for task in tasks
    }  # fmt: skip
    return config


def build(root: Path, size: dict) -> tuple[dict, dict]:
    tasks = [f"task_{i:02d}" for i in range(size["PAGES_TASKS"])]
    archs = {}
    for a in range(size["PAGES_ARCHS"]):
        arch, base_id = f"arch{a}", f"base-model-{a}"
        tables = root / "tables" / arch
        counts = write_tables(tables, base_id, size["PAGES_MODELS"], tasks, seed=a)
        archs[arch] = {"base_id": base_id, "tables_dir": str(tables), "counts": counts}
    return archs, settings(archs, tasks)


# render.py's parts timed apart: name in the results -> function of render.py
PARTS = {
    "charts_s": "gain_chart",
    "gain_pages_s": "_gain_page",
    "proxy_pages_s": "render_judgement_pages",
}


def time_render(archs: dict, config: dict, out: Path) -> dict:
    """Seconds for render_site, and for its parts (PARTS: gain pages include their charts;
    proxy pages include the bootstrap intervals and the scatter charts)."""
    from model_recycling.pages import site as render

    spent = dict.fromkeys(PARTS, 0.0)
    originals = {name: getattr(render, name) for name in PARTS.values()}

    def timed_part(key, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - started

        return wrapper

    for key, name in PARTS.items():
        setattr(render, name, timed_part(key, originals[name]))
    try:
        seconds = timed(lambda: render.render_site(out, archs, config))
    finally:
        for name, function in originals.items():
            setattr(render, name, function)
    return {"render_s": seconds, **spent}


def matplotlib_chart(gains: pd.Series, title: str, path: Path) -> None:
    """The former gain chart (matplotlib, PNG at 90 dpi), kept here for the comparison."""
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
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)


def chart_comparison(gains: pd.Series, root: Path, repetitions: int = 20) -> dict:
    from model_recycling.pages.site import gain_chart

    values = interleaved(
        {
            "matplotlib_png": lambda: timed(
                lambda: matplotlib_chart(gains, "org/model vs base", root / "c.png")
            ),
            "svg": lambda: timed(lambda: gain_chart(gains, "org/model vs base", root / "c.svg")),
        },
        repetitions,
    )
    return {name: figure(v, "s") for name, v in values.items()}


def measure(size: dict | None = None) -> dict:
    size = size or sizes()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        archs, config = build(root, size)
        build_s = time.perf_counter() - started
        runs = [time_render(archs, config, root / f"site{i}") for i in range(size["PAGES_REPS"])]
        gains = pd.read_csv(Path(archs["arch0"]["tables_dir"]) / "gains.csv", index_col=0)
        charts = chart_comparison(gains.iloc[0, 1:], root)
    render_s = figure([r["render_s"] for r in runs], "s")
    charts_s = figure([r["charts_s"] for r in runs], "s")
    parts = {key: figure([r[key] for r in runs], "s") for key in PARTS}
    per_chart = {k: v["median"] for k, v in charts.items()}
    return {
        "sizes": size,
        "models": size["PAGES_ARCHS"] * size["PAGES_MODELS"],
        "build_s": build_s,
        "render_s": render_s,
        "charts_s": charts_s,
        "charts_share": charts_s["median"] / render_s["median"],
        "parts": parts,
        "chart_s": charts,
        "svg_speedup_per_chart": per_chart["matplotlib_png"] / per_chart["svg"],
    }


def rows(result: dict) -> list:
    """(figure, value, detail) rows for the table of benchmarks/run.py."""
    r, c = result["render_s"], result["chart_s"]
    return [
        (f"pages: render_site, {result['models']:,} tested models (target <= 60 s)",
         f"{r['median']:.1f} s",
         f"{result['sizes']['PAGES_ARCHS']} architectures x {result['sizes']['PAGES_MODELS']} "
         f"models x {result['sizes']['PAGES_TASKS']} tasks; gain charts "
         f"{result['charts_s']['median']:.1f} s ({result['charts_share']:.0%}); gain pages "
         f"with their charts {result['parts']['gain_pages_s']['median']:.1f} s; proxy-quality "
         f"pages {result['parts']['proxy_pages_s']['median']:.1f} s; synthetic tables built in "
         f"{result['build_s']:.0f} s (untimed)"),
        ("pages: one gain chart, matplotlib PNG (before) / SVG written directly",
         f"{result['svg_speedup_per_chart']:.0f}x",
         f"{c['matplotlib_png']['median'] * 1000:.1f} ms / {c['svg']['median'] * 1000:.2f} ms "
         f"per chart, {len(c['svg']['repetitions'])} interleaved repetitions"),
    ]  # fmt: skip


def main() -> None:
    """Alone: print the rows, keep them under "pages" in results.json and in their own block of
    BENCHMARKS.md (the stage table of `make bench` is left as it is)."""
    result = measure()
    result["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    result["machine"] = machine()
    table = "\n".join(
        ["| figure | value | detail |", "|---|---:|---|"]
        + [f"| {name} | {value} | {detail} |" for name, value, detail in rows(result)]
    )
    print(table)
    results_json = REPO / "benchmarks/results.json"
    stored = json.loads(results_json.read_text()) if results_json.exists() else {}
    results_json.write_text(json.dumps(stored | {"pages": result}, indent=2) + "\n")
    m = result["machine"]
    block = (
        f"{START}\n`python -m benchmarks.pages_bench` on {result['date']}: {m['cores']} cores, "
        f"load average at start {', '.join(f'{v:.1f}' for v in m['load_average_at_start'])}; "
        f"sizes {result['sizes']}.\n\n"
        f"{table}\n{END}"
    )
    keep_block(REPO / "BENCHMARKS.md", START, END, block, "## Pages at scale")


if __name__ == "__main__":
    main()
