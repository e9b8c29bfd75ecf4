"""The proxy-quality and per-task pages, from hand-made cells and probe records through the
aggregate step (proxies.csv) to the site (every number known in advance)."""

import json

import pandas as pd
import pytest

from model_recycling.listing.candidates import Candidate, write_candidates
from model_recycling.naming import safe_name
from model_recycling.pages.proxies import scatter_chart
from model_recycling.pages.site import render_site
from model_recycling.settings import fill_defaults
from model_recycling.tables.aggregate import aggregate_architecture
from tests.support.records import METAS, PROBE_META, TASKS, write_cell, write_selection_tsv

# model: (t_acc, t_reg, linear-probe score, logme or None for a record without extra proxies)
# avg: m2 60, m1 45.5, m5 45, m3 42.5, m4 30. Linear probe ranks m2 m5 m3 m1 m4 (rho 0.7);
# logme ranks m2 m1 m5 m3 (rho 1 on the 4 models that have it).
MODELS = {
    "org/m1": (0.66, 0.25, 0.5, 2.0),
    "m2": (0.60, 0.60, 0.9, 3.0),
    "m3": (0.65, 0.20, 0.6, 1.0),
    "m4": (0.50, 0.10, 0.1, None),
    "m5": (0.55, 0.35, 0.7, 1.5),
    "m6": (None, None, 0.8, 9.0),  # probed, never tested: counts nowhere
}
SETTINGS = fill_defaults({
    "targets": TASKS, "seeds": [0], "baseline_seeds": [0, 1], "top_k": 3, "task_meta": {},
    "finetune": {"learning_rate": 5e-5}, "probe": {"task": "p", "pooling": "mean"},
    "dev_holdout": {"large_threshold": 10000, "large_size": 1000, "small_fraction": 0.1},
})  # fmt: skip


def probe_record(model_id, score, logme):
    record = {"model_id": model_id, "model_revision": "rev-" + model_id, "status": "ok",
              "score": score, "n_correct": round(score * 10), "n_eval": 10,
              "task_fingerprint": "fp"}  # fmt: skip
    if logme is not None:
        record["proxies"] = {"linear_probe": score, "logme": logme, "hscore": None, "knn": None}
    return record


def build_site(tmp_path, calibration: dict):
    """calibration: model -> "yes"; the probe's top 3 (m6, m2, m5) are the selected ones."""
    arch = tmp_path / "results" / "architectures" / "arch"
    for seed, (acc, reg) in enumerate([(0.50, 0.10), (0.60, 0.30)]):
        write_cell(arch, "base", "t_acc", seed, acc)
        write_cell(arch, "base", "t_reg", seed, reg)
    (arch / "probe").mkdir()
    for model, (acc, reg, score, logme) in MODELS.items():
        if acc is not None:
            write_cell(arch, model, "t_acc", 0, acc)
            write_cell(arch, model, "t_reg", 0, reg)
        record = probe_record(model, score, logme)
        (arch / "probe" / f"{safe_name(model)}.json").write_text(json.dumps(record))
    selected = {"m6", "m2", "m5"}
    write_selection_tsv(
        arch / "selected.tsv",
        [(m, "yes" if m in selected else "no", calibration.get(m, "no")) for m in MODELS],
    )
    downloads = {"org/m1": 100, "m2": 500}
    write_candidates(
        arch / "candidates.tsv",
        [Candidate(m, "rev-" + m, "hub", downloads=downloads.get(m)) for m in MODELS],
    )
    tables = tmp_path / "tables"
    revisions = {m: "rev-" + m for m in [*MODELS, "base"]}
    aggregate_architecture(
        arch, "base", TASKS, [0], [0, 1], METAS, PROBE_META, revisions, tables,
        listing=(arch / "candidates.tsv", arch / "selected.tsv"),
    )  # fmt: skip
    counts = {"listed": 6, "excluded": 0, "probed": 6, "probe_failed": 0, "selected": 3,
              "tested": 5}  # fmt: skip
    (tables / "counts.json").write_text(json.dumps(counts))
    meta = {
        t: {"spec": {"dataset": "d", "config": None, "eval_split": "test"},
            "sizes": {"eval": 100, "train": 10, "dev": 2}, "metric": "accuracy",
            "fingerprint": "f" + t}
        for t in TASKS
    }  # fmt: skip
    site = tmp_path / "site"
    info = {"base_id": "base", "tables_dir": tables, "counts": counts}
    render_site(site, {"demo": info}, SETTINGS | {"task_meta": meta})
    return site, tables


def table_row(page: str, first_cell: str) -> list:
    line = next(line for line in page.splitlines() if line.startswith(f"| {first_cell}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_proxy_quality_page_with_a_calibration_sample(tmp_path):
    site, tables = build_site(tmp_path, {"org/m1": "yes", "m4": "yes"})
    proxies = pd.read_csv(tables / "proxies.csv").set_index("model_id")
    assert proxies.loc["m6", "tested"] == "no" and proxies.loc["org/m1", "calibration"] == "yes"
    assert proxies.loc["m2", "avg"] == pytest.approx(60.0)
    page = (site / "demo_proxy_quality.md").read_text()
    # logme's 1.00 on 4 models against the linear probe's 0.70 on 5: too few to tell apart
    assert "No proxy ranks clearly best: logme ranks highest (Spearman 1.00" in page
    assert "linear_probe cannot be told apart from it" in page and "on 4 models" in page
    assert "biased by selection" not in page
    assert "Calibration sample: 2 of the 5 tested models" in page
    linear = table_row(page, "linear_probe (ranked this run)")
    assert linear[1:3] == ["5", "0.70"]
    logme = table_row(page, "logme |")
    assert logme[1:3] == ["4", "1.00"]
    # linear probe: top 1 {m2} holds the best; top 3 {m2, m5, m3} misses m1 (2 of the best 3)
    picking = page.split("## Picking the best", 1)[1]
    assert table_row(picking, "linear_probe")[1:] == ["5", "0.00", "0.00", "–", "1.00", "0.67", "–"]
    assert table_row(picking, "downloads")[1] == "2"  # the Hub's count, where it is known
    assert "No score on this run: hscore, knn." in page
    for proxy in ("linear_probe", "logme", "downloads"):
        assert (site / "proxy_quality/demo" / f"{proxy}.svg").read_text().startswith("<svg ")
    home = (site / "index.md").read_text()
    assert table_row(home, "[demo](demo_proxy_quality.md)") == [
        "[demo](demo_proxy_quality.md)", "linear_probe", "0.70 (n=5)",
        "none clearly: logme, linear_probe", "yes",
    ]  # fmt: skip
    assert "(demo_proxy_quality.md)" in (site / "demo_table.md").read_text()
    assert "(demo_per_task.md)" in (site / "Rankings.md").read_text()
    assert (site / "data/demo/proxies.csv").exists()


def test_selection_only_run_says_its_figures_are_biased(tmp_path):
    site, _ = build_site(tmp_path, {})
    page = (site / "demo_proxy_quality.md").read_text()
    assert "Selection-only run: these figures are biased by selection." in page
    assert "no (biased by selection)" in (site / "index.md").read_text()


def test_per_task_page_says_which_gains_exceed_the_seed_spread(tmp_path):
    site, _ = build_site(tmp_path, {})
    page = (site / "demo_per_task.md").read_text()
    # baseline t_acc 55 +- 7.07: m1's 66 gains 11 < 14.14; t_reg 20 +- 14.14: m2's 60 gains 40
    acc, reg = table_row(page, "t_acc"), table_row(page, "t_reg")
    assert acc == ["t_acc", "[org/m1](model_gain_chart/demo/org~2fm1.md)", "66.00",
                   "55.00 ± 7.07", "11.00", "no"]  # fmt: skip
    assert reg[1:] == [
        "[m2](model_gain_chart/demo/m2.md)",
        "60.00",
        "20.00 ± 14.14",
        "40.00",
        "yes",
    ]


def test_scatter_chart_is_deterministic(tmp_path):
    tested = pd.DataFrame({"model_id": ["a", "b", "c"], "avg": [1.0, 2.0, 3.0],
                           "p": [0.1, None, 0.3], "selected": ["yes", "no", "no"],
                           "calibration": ["no", "yes", "no"]})  # fmt: skip
    first, second = tmp_path / "1.svg", tmp_path / "2.svg"
    scatter_chart(tested, "p", "t", first)
    scatter_chart(tested, "p", "t", second)
    assert first.read_bytes() == second.read_bytes()
