"""The racing simulator (model_recycling/runtime/simulate.py): it reads this project's tables and
the reference's published CSVs, the full protocol replays as exactly the full protocol, and on
synthetic data with a planted best model racing finds it for a fraction of the cells."""

import csv
import json
import math

import numpy as np
import pytest

from model_recycling.runtime.simulate import (
    FULL_PROTOCOL,
    SMALL_TASKS,
    TASKS,
    format_table,
    read_reference,
    read_tables,
    replay,
    simulate,
    simulate_job,
    synthetic,
)

CELL_HEADER = ["model_id", "role", "task", "seed", "status", "reason", "score", "metric", "invalid"]
FRACTIONS = ("baseline", "candidate", "total")


def _write(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


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
    _write(folder / "cells.csv", CELL_HEADER, rows)
    probes = [[f"model-{m}", "ok", 0.5 - 0.01 * m, ""] for m in range(n_models)]
    _write(folder / "probes.csv", ["model_id", "status", "score", "invalid"], probes)
    return folder


def _reference(tmp_path, seed_column=False):
    """The reference's two CSVs: three tasks (stsb scored by spearmanr), three models and a
    corrupted row (shifted values), the baseline's seeds in rows."""
    tasks = ["cb", "rte", "stsb"]
    models = [
        ["good/model", 80.0, 60.1, 90.0, 70.0, 90.0],
        ["mid/model", 78.0, 55.0, 88.0, 67.0, 89.0],
        ["low/model", 76.0, "", 86.0, 64.0, 88.0],
        ["broken/model", 70.0, 50.0, "rte", 150.0, 3.0],
    ]
    _write(tmp_path / "models.csv", ["model_name", "avg", "mnli_lp", *tasks], models)
    header = ["dataset name", "accuracy", "spearmanr"] + (["seed"] if seed_column else [])
    rows = []
    for seed in range(4):
        for task, level in zip(tasks, (85.0, 65.0, 87.0), strict=True):
            value = [level + seed, ""] if task != "stsb" else ["", level + seed]
            rows.append([task, *value] + ([3 - seed] if seed_column else []))
    _write(tmp_path / "baseline.csv", header, rows)
    return tmp_path / "models.csv", tmp_path / "baseline.csv"


def test_reads_this_projects_tables(tmp_path):
    arch = read_tables(_tables(tmp_path))
    assert arch.name == "tiny"
    assert arch.tasks == [f"task{i}" for i in range(6)]
    assert sorted(arch.models) == [f"model-{m}" for m in range(4)]  # "partial" lacks a task
    assert len(arch.baseline["task0"]) == 6 and math.isnan(arch.baseline["task0"][5])
    assert len(arch.baseline["task1"]) == 5
    assert arch.models["model-0"]["task0"] == pytest.approx(65, abs=1)  # x100, invalid left out
    assert arch.probe["model-0"] == pytest.approx(0.5)


@pytest.mark.parametrize("seed_column", [False, True])
def test_reads_the_reference_layout(tmp_path, seed_column):
    arch = read_reference(*_reference(tmp_path, seed_column))
    assert arch.name == "models"
    assert arch.tasks == ["cb", "rte", "stsb"]
    assert sorted(arch.models) == ["good/model", "low/model", "mid/model"]
    assert arch.models["good/model"] == {"cb": 90.0, "rte": 70.0, "stsb": 90.0}
    assert arch.probe == {"good/model": 60.1, "mid/model": 55.0}
    seeds = [85.0, 86.0, 87.0, 88.0]
    assert arch.baseline["cb"] == (seeds[::-1] if seed_column else seeds)
    assert arch.baseline["stsb"][0] == (90.0 if seed_column else 87.0)


def _check_fractions(figures):
    for key in FRACTIONS:
        assert 0 < figures[key] <= 1


def test_full_protocol_replays_as_every_cell_and_the_same_answer(tmp_path):
    for arch in (read_tables(_tables(tmp_path)), read_reference(*_reference(tmp_path))):
        full = replay(arch, FULL_PROTOCOL, orders=5)
        assert [full[k] for k in FRACTIONS] == [1.0, 1.0, 1.0]
        assert (full["top1"], full["regret@1"], full["regret@3"]) == (1.0, 0.0, 0.0)
        assert full["baseline_se"] == pytest.approx(full["baseline_se_full"])
        _check_fractions(replay(arch, orders=5))


def test_racing_saves_cells_and_finds_the_planted_best(tmp_path):
    arch = read_tables(_tables(tmp_path, n_tasks=12, n_models=6, n_seeds=10))
    figures = replay(arch, {"racing": {"first_round": 4}}, orders=10)
    _check_fractions(figures)
    # 3 seeds of 10 on every task (all precise); task0 also holds a failed eleventh
    assert figures["baseline"] == pytest.approx(3 * 12 / (12 * 10 + 1))
    assert figures["candidate"] < 1.0
    assert figures["top1"] == 1.0


def test_synthetic_data_has_the_reference_statistics():
    arch = synthetic(30, "bert", seed=1)
    assert arch.tasks == TASKS and len(arch.models) == 30
    std = {t: np.std(v, ddof=1) for t, v in arch.baseline.items()}
    assert 0.4 < np.median(list(std.values())) < 1.0
    assert max(std.values()) > 4 and max(std, key=std.get) in SMALL_TASKS
    noisy = synthetic(5, "t5", seed=1)
    assert np.median([np.std(v, ddof=1) for v in noisy.baseline.values()]) > 1.5
    assert synthetic(30, "bert", seed=1).models == arch.models


def test_on_synthetic_data_racing_agrees_with_the_full_protocol_for_a_fraction_of_cells():
    arch = synthetic(40, "bert", seed=0)
    best = max(arch.models, key=lambda m: sum(arch.models[m].values()))
    arch.models[best] = {t: score + 1.5 for t, score in arch.models[best].items()}  # planted
    rows = simulate([arch], orders=20)
    assert [row["set"] for row in rows] == ["all", "top-5 probe"]
    everyone = rows[0]
    _check_fractions(everyone)
    assert everyone["top1"] >= 0.95
    assert everyone["regret@1"] <= 0.1
    assert everyone["total"] < 0.5
    assert everyone["regret@5"] <= everyone["regret@3"] <= everyone["regret@1"]


def test_top5_without_a_probe_draws_models_per_order():
    arch = synthetic(12, "bert", seed=2)
    arch.probe = {}
    rows = simulate([arch], orders=6)
    assert rows[1]["set"] == "top-5 random" and rows[1]["candidates"] == 5
    _check_fractions(rows[1])


def test_simulate_job_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "figures.json"
    reference = _reference(tmp_path)
    rows = simulate_job([_tables(tmp_path)], reference, orders=4, json_out=out)
    printed = capsys.readouterr().out
    assert "regret@1" in printed and "tiny" in printed and "models" in printed
    saved = json.loads(out.read_text())
    assert saved["rows"] == json.loads(json.dumps(rows))
    assert saved["rules"]["racing"]["z"] > 0
    assert format_table(rows).count("\n") == len(rows)
