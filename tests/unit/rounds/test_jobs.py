"""The adaptive rules' round jobs (rounds/jobs.py) on records written by hand: what each reads,
what it decides and what it writes."""

import json

import pytest

from model_recycling.listing.candidates import Candidate, write_candidates
from model_recycling.rounds.jobs import baseline_round_job, race_round_job
from model_recycling.rounds.racing import racing_decisions, task_order
from tests.support.records import write_cell, write_selection_tsv

ARCH_TASKS = ["t_acc"]
META = {"task": "t_acc", "metric": "accuracy", "sizes": {"eval": 100}, "fingerprint": "fa"}
RULE = {"min": 2, "max": 6, "step": 2, "target_se": 1.0}


def round_zero(tmp_path, scores, rule=RULE):
    arch = tmp_path / "arch"
    for seed, score in enumerate(scores):
        write_cell(
            arch, "base", "t_acc", seed, score, status="ok" if score is not None else "failed"
        )
    (tmp_path / "meta.json").write_text(json.dumps(META))
    cells = sorted((arch / "cells/base/t_acc").glob("seed*.json"))
    out = tmp_path / "round0.json"
    decision = baseline_round_job(
        tmp_path / "meta.json", cells, rule, "base", "rev-base", "", 0, out
    )
    assert json.loads(out.read_text()) == decision
    return decision


def test_a_task_whose_seeds_agree_gets_no_more(tmp_path):
    decision = round_zero(tmp_path, [0.70, 0.70])
    assert decision["seeds"] == [0, 1] and not decision["more"]
    assert decision["scores"] == {"0": 70.0, "1": 70.0} and decision["standard_error"] == 0.0
    assert decision["rule"] == RULE


def test_a_noisy_task_gets_step_more_seeds(tmp_path):
    decision = round_zero(tmp_path, [0.60, 0.80])  # std 14.1 points: standard error 10
    assert decision["standard_error"] == pytest.approx(10.0)
    assert decision["seeds"] == [0, 1, 2, 3] and decision["more"]


def test_refused_or_failed_cells_count_as_run_not_as_scores(tmp_path):
    decision = round_zero(tmp_path, [0.70, None])
    assert decision["scores"] == {"0": 70.0, "1": None}
    assert decision["standard_error"] is None and decision["more"]  # one score: no spread
    arch = tmp_path / "arch"
    write_cell(arch, "base", "t_acc", 0, 0.70, fingerprint="old")  # other task data: refused
    write_cell(arch, "base", "t_acc", 1, 0.70)
    decision = round_zero(tmp_path, [0.70, 0.70][:0])  # the files as they are now
    assert decision["scores"]["0"] is None and decision["scores"]["1"] == 70.0


def test_every_seed_failing_adds_none(tmp_path):
    decision = round_zero(tmp_path, [None, None])
    assert decision["seeds"] == [0, 1] and not decision["more"]


def accuracy_cell(arch, model_id, task, seed, score):
    """A valid accuracy cell of task (write_cell's tasks are t_acc and t_reg only)."""
    write_cell(arch, model_id, task, seed, score, fingerprint=f"f{task}")
    path = arch / "cells" / model_id / task / f"seed{seed}.json"
    record = json.loads(path.read_text())
    record.update(metric="accuracy", n_correct=round(score * 100))
    path.write_text(json.dumps(record))


TASKS = ["a", "b", "c", "d"]
METAS = {t: {"task": t, "metric": "accuracy", "sizes": {"eval": 100}, "fingerprint": f"f{t}"}
         for t in TASKS}  # fmt: skip


def race_setup(tmp_path, scores: dict, cells_of: dict):
    """scores: model -> {task: accuracy}; cells_of: model -> the tasks it has cells for. The
    baseline scores 0.5 on every task and seed."""
    arch = tmp_path / "arch"
    for task in TASKS:
        for seed in (0, 1):
            accuracy_cell(arch, "base", task, seed, 0.5)
    for model, tasks in cells_of.items():
        for task in tasks:
            accuracy_cell(arch, model, task, 0, scores[model][task])
    paths = []
    for task, meta in METAS.items():
        paths.append(tmp_path / f"{task}.json")
        paths[-1].write_text(json.dumps(meta))
    write_candidates(arch / "candidates.tsv",
                     [Candidate(m, "rev-" + m, "local") for m in scores])  # fmt: skip
    # "calib" is the calibration sample: it never races
    write_selection_tsv(arch / "selected.tsv",
                        [(m, "no" if m == "calib" else "yes", "yes" if m == "calib" else "no")
                         for m in scores])  # fmt: skip
    return arch, paths


def race(tmp_path, arch, paths, round_, rule):
    settings = {"targets": TASKS, "seeds": [0], "baseline_seeds": [0, 1], "racing": rule}
    out = tmp_path / f"round{round_}.json"
    return race_round_job(
        arch, "base", "rev-base", "", settings, paths, arch / "candidates.tsv",
        arch / "selected.tsv", [], round_, out,
    )  # fmt: skip


SCORES = {  # gains over the baseline's 50: good about +30, close about +28, bad about -25
    "good": dict(zip(TASKS, (0.90, 0.70, 0.80, 0.85), strict=True)),
    "close": dict(zip(TASKS, (0.88, 0.72, 0.75, 0.80), strict=True)),
    "bad": dict(zip(TASKS, (0.20, 0.30, 0.25, 0.20), strict=True)),
    "calib": dict(zip(TASKS, (0.10, 0.10, 0.10, 0.10), strict=True)),
}
RACE = {"first_round": 2, "round": 1, "confidence": 0.5, "epsilon": 0.2, "seed": 0, "finite": True}


def gains(models, tasks) -> dict:
    return {m: {t: SCORES[m][t] * 100 - 50.0 for t in tasks} for m in models}


def test_a_clearly_worse_candidate_is_stopped_and_the_calibration_sample_never_races(tmp_path):
    order = task_order(TASKS, 0)
    arch, paths = race_setup(tmp_path, SCORES, {m: order[:2] for m in SCORES})
    first = race(tmp_path, arch, paths, 0, RACE)
    assert first["after_tasks"] == 2 and first["order"] == order and first["rule"] == RACE
    racers = ["bad", "close", "good"]  # not the calibration sample
    assert first["decisions"] == racing_decisions(gains(racers, order[:2]), order, RACE)
    assert first["decisions"]["bad"]["status"] == "stopped"
    assert first["decisions"]["good"]["status"] == "racing"
    assert first["racing"] == sorted(m for m, r in first["decisions"].items()
                                     if r["status"] == "racing")  # fmt: skip
    # the next round reads the racers' next task; a stopped one is asked nothing more
    for model in first["racing"]:
        accuracy_cell(arch, model, order[2], 0, SCORES[model][order[2]])
    second = race(tmp_path, arch, paths, 1, RACE)
    assert second["decisions"]["bad"] == first["decisions"]["bad"]
    assert second["decisions"]["good"]["tasks"] == 3


def test_a_round_decides_on_its_checkpoint_only(tmp_path):
    """Cells beyond the checkpoint (an earlier full run's) do not change its decision: a run
    resumed with more cells on disk decides as a straight one."""
    arch, paths = race_setup(tmp_path, SCORES, {m: TASKS for m in SCORES})
    order = task_order(TASKS, 0)
    decision = race(tmp_path, arch, paths, 0, RACE)
    assert decision["decisions"] == racing_decisions(
        gains(["bad", "close", "good"], order[:2]), order, RACE
    )
