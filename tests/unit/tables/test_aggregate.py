"""Aggregation on hand-made cells (every number known in advance)."""

import pandas as pd
import pytest

from tests.support.records import TASKS, aggregate, write_arch_dir, write_cell


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


def test_missing_baseline_names_tasks_seeds_reasons_and_logs(arch_dir, tmp_path):
    (arch_dir / "cells" / "base" / "t_reg" / "seed1.json").unlink()
    write_cell(arch_dir, "base", "t_acc", 0, None, status="failed")
    write_cell(arch_dir, "base", "t_acc", 1, 0.5, fingerprint="old")
    with pytest.raises(ValueError) as caught:
        aggregate(arch_dir, tmp_path / "o")
    message = str(caught.value)
    logs = tmp_path / "results" / "logs" / "finetune" / "arch" / "base"
    assert message.startswith("baseline base: cells missing or failed")
    assert f"t_reg seed 1: missing (log: {logs / 't_reg' / 'seed1.log'})" in message
    assert f"t_acc seed 0: failed: boom (log: {logs / 't_acc' / 'seed0.log'})" in message
    assert "t_acc seed 1: invalid: task fingerprint old is not the current fa" in message
    assert "t_reg seed 0" not in message  # only what is wrong
