"""Aggregation on hand-made cells (every number known in advance)."""

import pandas as pd
import pytest

from model_recycling.listing.candidates import Candidate, write_candidates
from model_recycling.tables.aggregate import aggregate_architecture
from tests.support.records import (
    METAS,
    PROBE_META,
    REVISIONS,
    TASKS,
    aggregate,
    write_arch_dir,
    write_cell,
    write_selection_tsv,
)


@pytest.fixture
def arch_dir(tmp_path):
    return write_arch_dir(tmp_path)


def test_tables_from_cells(arch_dir, tmp_path):
    out = tmp_path / "tables"
    tables = aggregate(arch_dir, out)
    baseline, ranking = tables["baseline"], tables["ranking"]
    assert baseline.loc["t_acc", "mean"] == pytest.approx(55.0)
    assert baseline.loc["t_acc", "std"] == pytest.approx(pd.Series([50, 60]).std())
    # avg: mean and std of the per-seed averages (30 and 45)
    assert baseline.loc["avg", "mean"] == pytest.approx(37.5)
    assert baseline.loc["avg", "std"] == pytest.approx(pd.Series([30.0, 45.0]).std())
    # only fully tested, current, ok models, best first
    assert list(ranking.model_id) == ["org/good", "bad"]
    good = ranking.iloc[0]
    assert good.avg == pytest.approx(55.0) and good.gain_avg == pytest.approx(17.5)
    assert good.probe_score == pytest.approx(80.0)
    assert tables["gains"].loc["org/good", "t_reg"] == pytest.approx(40 - 20)
    # written tables are keyed by task name
    written = pd.read_csv(out / "ranking.csv")
    assert list(written.columns[-2:]) == TASKS and written.loc[0, "t_acc"] == pytest.approx(70.0)


def test_cell_in_the_wrong_place_is_invalid(arch_dir, tmp_path):
    src = arch_dir / "cells" / "bad" / "t_acc" / "seed0.json"
    dest = arch_dir / "cells" / "bad" / "t_reg" / "seed0.json"
    dest.write_text(src.read_text())  # bad's t_reg cell now holds its t_acc result
    tables = aggregate(arch_dir, tmp_path / "o")
    assert list(tables["ranking"].model_id) == ["org/good"]
    invalid = tables["invalid"].set_index("path")
    assert "does not match" in invalid.loc[str(dest), "reason"]
    assert "stale" in set(invalid.model_id)  # and the cell computed on other task data


def test_a_task_with_too_few_baseline_seeds_is_left_out_naming_what_is_wrong(arch_dir, tmp_path):
    (arch_dir / "cells" / "base" / "t_reg" / "seed1.json").unlink()
    tables = aggregate(arch_dir, tmp_path / "o", min_seeds=2)
    coverage = tables["tasks"].set_index("task")
    logs = tmp_path / "results" / "logs" / "finetune" / "arch" / "base"
    assert coverage.loc["t_acc", "status"] == "counted" and coverage.loc["t_acc", "reason"] == ""
    assert coverage.loc["t_reg", "status"] == "too few baseline seeds"
    assert coverage.loc["t_reg", "reason"] == (
        "1 of 2 baseline seeds finished, fewer than baseline_min_seeds 2; "
        f"seed 1: missing (log: {logs / 't_reg' / 'seed1.log'})"
    )
    # the rankings rest on t_acc alone: org/good 70 vs the baseline's 55
    ranking = tables["ranking"]
    assert list(ranking.columns[-1:]) == ["t_acc"] and "t_reg" not in ranking.columns
    good = ranking.set_index("model_id").loc["org/good"]
    assert good.avg == pytest.approx(70.0) and good.gain_avg == pytest.approx(15.0)
    assert tables["baseline"].loc["avg", "mean"] == pytest.approx(55.0)


def test_the_baseline_is_the_mean_of_the_seeds_that_finished(arch_dir, tmp_path):
    write_cell(arch_dir, "base", "t_reg", 1, None, status="failed")
    write_cell(arch_dir, "base", "t_acc", 0, 0.5, fingerprint="old")  # invalid: does not count
    tables = aggregate(arch_dir, tmp_path / "o", min_seeds=1)
    baseline = tables["baseline"]
    assert baseline.loc["t_acc", "mean"] == pytest.approx(60.0)  # seed 1 alone
    assert baseline.loc["t_reg", "mean"] == pytest.approx(10.0)  # seed 0 alone
    assert list(baseline.n_seeds) == [1, 1, 0]  # t_acc, t_reg, and no seed finished both
    assert baseline.loc["avg", "mean"] == pytest.approx(35.0)  # the mean of the task means
    assert pd.isna(baseline.loc["avg", "std"])
    assert tables["tasks"].reason.eq("").all()  # both count; the seeds' problems: cells.csv


def test_a_task_that_could_not_be_prepared_is_left_out_with_its_reason(arch_dir, tmp_path):
    metas = {**METAS, "t_reg": {"task": "t_reg", "status": "failed", "reason": "file x missing"}}
    tables = aggregate(arch_dir, tmp_path / "o", metas=metas)
    coverage = tables["tasks"].set_index("task")
    assert coverage.loc["t_reg", "status"] == "failed"
    assert coverage.loc["t_reg", "reason"] == "not prepared: file x missing"
    # ranked on t_acc alone: half (no t_reg cell) is complete there, stale is not (old data)
    assert list(tables["ranking"].model_id) == ["half", "org/good", "bad"]


def test_baseline_seeds_per_task_and_their_standard_errors(arch_dir, tmp_path):
    """Adaptive seeds: each task's baseline over its own seeds; the standard error per task and
    of the average (the tasks' combined)."""
    write_cell(arch_dir, "base", "t_acc", 2, 0.70)  # a third seed on t_acc only
    tables = aggregate_architecture(
        arch_dir, "base", TASKS, [0], {"t_acc": [0, 1, 2], "t_reg": [0, 1]}, METAS, PROBE_META,
        REVISIONS, tmp_path / "o",
    )  # fmt: skip
    baseline = tables["baseline"]
    assert baseline.loc["t_acc", "mean"] == pytest.approx(60.0)  # 50, 60, 70
    assert list(baseline.n_seeds) == [3, 2, 2]  # the average over the seeds every task has
    assert baseline.loc["t_acc", "se"] == pytest.approx(10.0 / 3**0.5)
    assert baseline.loc["t_reg", "se"] == pytest.approx(pd.Series([10.0, 30.0]).std() / 2**0.5)
    combined = (baseline.loc["t_acc", "se"] ** 2 + baseline.loc["t_reg", "se"] ** 2) ** 0.5 / 2
    assert baseline.loc["avg", "se"] == pytest.approx(combined)
    assert baseline.loc["avg", "mean"] == pytest.approx((60.0 + 20.0) / 2)
    assert list(tables["tasks"].baseline_seeds) == [3, 2]


def test_a_candidate_stopped_by_racing_never_ranks_and_says_why(arch_dir, tmp_path):
    write_candidates(arch_dir / "candidates.tsv",
                     [Candidate(m, "rev-" + m, "local") for m in ("org/good", "bad")])  # fmt: skip
    write_selection_tsv(
        arch_dir / "selected.tsv", [("org/good", "yes", "no"), ("bad", "yes", "no")]
    )
    raced = {
        "org/good": {
            "status": "finished",
            "tasks": 2,
            "mean_gain": 17.5,
            "low": 17.5,
            "high": 17.5,
        },
        "bad": {"status": "stopped", "tasks": 1, "mean_gain": -10.0, "low": None, "high": None},
    }  # fmt: skip; bad has every cell (an earlier run's), and still does not rank
    tables = aggregate_architecture(
        arch_dir, "base", TASKS, [0], [0, 1], METAS, PROBE_META, REVISIONS, tmp_path / "o",
        listing=(arch_dir / "candidates.tsv", arch_dir / "selected.tsv"), raced=raced,
    )  # fmt: skip
    assert list(tables["ranking"].model_id) == ["org/good"]
    outcomes = {row["model_id"]: row for row in tables["outcomes"]}
    assert outcomes["bad"]["outcome"] == "stopped by racing"
    assert outcomes["bad"]["reason"] == (
        "stopped after 1 of 2 tasks: mean gain -10.00, interval undefined to undefined"
    )
    assert outcomes["org/good"]["outcome"] == "tested"
    racing = pd.read_csv(tmp_path / "o" / "racing.csv")
    assert list(racing.model_id) == ["org/good", "bad"] and list(racing.tasks) == [2, 1]
