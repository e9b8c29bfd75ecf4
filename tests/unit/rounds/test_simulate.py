"""The racing simulator (model_recycling/rounds/simulate.py) on the reference's published
results (the repository's copy, tests/data/published/) and on this project's tables: it races
the pipeline's own pool (top k by probe, base excluded), the full protocol replays as exactly
the full protocol, and the recommended settings meet the target with the rule's error under its
stated rate."""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from model_recycling.rounds.published import read_published
from model_recycling.rounds.simulate import (
    FULL_PROTOCOL,
    binomial_interval,
    candidate_pool,
    format_table,
    gain_interval,
    read_tables,
    recommended,
    reference_data,
    replay,
    simulate_job,
)
from model_recycling.rounds.synthetic import SMALL_TASKS, TASKS, family, synthetic

DATA = Path(__file__).resolve().parents[2] / "data" / "published"
ROBERTA = (DATA / "roberta-base_table.csv", DATA / "models_results_roberta_base_pretrain.csv")
T5 = (DATA / "t5-base_table.csv", DATA / "models_results_t5_base_pretrain.csv")
CELL_HEADER = ["model_id", "role", "task", "seed", "status", "reason", "score", "metric", "invalid"]
FRACTIONS = ("baseline", "candidate", "total")


def _tables(tmp_path, n_tasks=6, n_models=4, n_seeds=5):
    """A tables folder: baseline seeds, candidates (model-0 best) with one seed, and the rows
    that must not count: an invalid cell, a failed baseline seed, a model missing a task."""
    folder = tmp_path / "results" / "architectures" / "tiny" / "tables"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    tasks = [f"task{i}" for i in range(n_tasks)]
    rows = []
    for j, task in enumerate(tasks):
        for seed in range(n_seeds):
            score = 0.6 + 0.03 * j + rng.normal(0, 0.005)
            rows.append(["base", "baseline", task, seed, "ok", "", score, "accuracy", ""])
        for m in range(n_models):
            score = 0.6 + 0.03 * j + 0.05 - 0.01 * m + rng.normal(0, 0.002)
            rows.append([f"model-{m}", "candidate", task, 0, "ok", "", score, "accuracy", ""])
    rows.append(["base", "baseline", tasks[0], n_seeds, "failed", "oom", "", "accuracy", ""])
    rows.append(["model-1", "candidate", tasks[0], 1, "ok", "", 0.0, "accuracy", "bad count"])
    rows += [["partial", "candidate", t, 0, "ok", "", 0.9, "accuracy", ""] for t in tasks[:-1]]
    with open(folder / "cells.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([CELL_HEADER, *rows])
    with open(folder / "probes.csv", "w", newline="") as handle:
        probes = [[f"model-{m}", "ok", 0.5 - 0.01 * m, ""] for m in range(n_models)]
        csv.writer(handle).writerows([["model_id", "status", "score", "invalid"], *probes])
    return folder


def test_reads_this_projects_tables(tmp_path):
    arch = read_tables(_tables(tmp_path))
    assert arch.name == "tiny"
    assert arch.tasks == [f"task{i}" for i in range(6)]
    assert sorted(arch.models) == [f"model-{m}" for m in range(4)]  # "partial" lacks a task
    assert len(arch.baseline["task0"]) == 6 and math.isnan(arch.baseline["task0"][5])
    assert arch.models["model-0"]["task0"] == pytest.approx(65, abs=1)  # x100, invalid left out
    assert arch.probe["model-0"] == pytest.approx(0.5)


def test_the_pool_is_the_pipelines_top_k_by_probe_without_the_base():
    arch = read_published(*T5)
    pool, skipped = candidate_pool(arch, 5)
    assert pool == sorted(pool, key=lambda m: -arch.probe[m]) and len(pool) == 5
    assert pool[0] == "yacine-djm/t5-sentiment-v1" and "t5-base" not in pool
    # one model probed better than the fifth has no cells: counted, not raced
    assert skipped == 1 and all(m in arch.models for m in pool)
    assert candidate_pool(read_published(*ROBERTA), 20)[1] == 0


@pytest.mark.parametrize("pair", [ROBERTA, T5], ids=["roberta-base", "t5-base"])
def test_the_full_protocol_replays_as_every_cell_and_the_same_answer(pair):
    full = replay(read_published(*pair), FULL_PROTOCOL, top_k=5, orders=5)
    assert [full[k] for k in FRACTIONS] == [1.0, 1.0, 1.0]
    assert (full["top1"], full["regret"], full["regret_p95"], full["coverage"]) == (1, 0, 0, 1)
    assert full["gain_error"] == pytest.approx(0, abs=1e-9) and full["best_stopped"] == 0.0


@pytest.mark.parametrize("pair", [ROBERTA, T5], ids=["roberta-base", "t5-base"])
def test_recommended_settings_meet_the_target_with_the_error_under_its_stated_rate(pair):
    arch = read_published(*pair)
    rules = recommended(arch)
    figures = replay(arch, rules, top_k=5, orders=300)
    assert figures["total"] <= 1 / 3 and figures["regret"] <= 0.2
    assert figures["regret_p95"] <= 0.5 and figures["coverage"] >= 0.95
    assert figures["target_met"] and figures["holds"]
    assert figures["stated"] == pytest.approx(0.05)
    # the baseline ran 3 of 20 seeds on most tasks; racing saved candidate cells too
    assert 0.15 <= figures["baseline"] < 0.2 and figures["candidate"] < 1


def test_gain_interval_is_the_full_protocols():
    arch = read_published(*ROBERTA)
    spread = [np.var(s, ddof=1) for s in arch.baseline.values()]
    expected = 1.96 * math.sqrt(sum(v / 20 + v for v in spread)) / 36
    assert gain_interval(arch) == pytest.approx(expected)


def test_binomial_interval():
    low, high = binomial_interval(0.05, 1000)
    assert 0.035 <= low < 0.05 < high <= 0.065
    assert binomial_interval(0.5, 10) == (0.2, 0.8)


def test_families_and_their_data():
    assert family("roberta-base") == "bert" and family("google-t5/t5-base") == "t5"
    assert family("google/t5-v1_1-base") == "t5-v1_1"
    assert reference_data("FacebookAI/roberta-base").name == "roberta-base"
    assert reference_data("google/t5-v1_1-base").name == "synthetic-t5-v1_1"
    assert recommended(reference_data("t5-base"))["baseline_seeds"]["target_se"] == 10.0


def test_synthetic_data_has_the_reference_statistics():
    arch = synthetic(30, "bert", seed=1)
    assert arch.tasks == TASKS and len(arch.models) == 30
    std = {t: np.std(v, ddof=1) for t, v in arch.baseline.items()}
    assert 0.4 < np.median(list(std.values())) < 1.0
    assert max(std.values()) > 4 and max(std, key=std.get) in SMALL_TASKS
    assert synthetic(30, "bert", seed=1).models == arch.models


def test_simulate_job_prints_what_it_read_and_a_table(tmp_path, capsys):
    out = tmp_path / "figures.json"
    archs = [read_published(*T5), read_tables(_tables(tmp_path))]
    rows = simulate_job(archs, top_ks=(5,), orders=20, json_out=out)
    printed = capsys.readouterr().out
    assert "left out: 89 rows whose probe 0.0 or implausible" in printed
    assert "t5-base" in printed and "tiny" in printed and "best stopped" in printed
    assert json.loads(out.read_text())["rows"] == json.loads(json.dumps(rows))
    assert format_table(rows).count("\n") == len(rows)
