"""The cost estimate (runtime/cost.py): its time per job comes from this run's own records once
they exist (its job counts: tests/workflow/test_cost_plan.py)."""

import json

import pytest

from model_recycling.runtime.cost import estimate
from tests.support.recorded_run import small_hub_config, write_recorded_run

N_CANDIDATES = 4
BENCH = {
    "probe": {"examples": 100, "seconds": {"probe_tokens": {"median": 10.0}}},
    "finetune": {"examples_per_second": {"ours_grouped": {"median": 8.0}}},
    "cell": {"cell_overhead_s": {"median": 4.0}},
}
SIZES = {"mnli": {"train": 1000, "eval": 100}, "rte": {"train": 500, "eval": 50}}


def test_estimate_uses_this_runs_records_when_present(tmp_path):
    config = small_hub_config()
    config["targets"] = ["rte"]
    write_recorded_run(tmp_path, config, N_CANDIDATES, probed=False)
    before = estimate(config, tmp_path, BENCH, SIZES)["architectures"]["roberta-base"]
    assert "benchmark" in before["basis"]["probe"]
    # the benchmark's 10 examples/s, 8x slower for a 12 x 768 model, over the prepared probe
    # task's 1,000 + 1,000 examples, plus the benchmark's 4 s per job
    assert before["seconds"]["probes"] == pytest.approx(N_CANDIDATES * (2000 * 0.1 * 8 + 4.0))
    assert "benchmark training" in before["basis"]["cells"][0]

    write_recorded_run(tmp_path, config, N_CANDIDATES)  # probe records of 60 s each
    cell = tmp_path / "results/architectures/roberta-base/cells/base/rte/seed0.json"
    cell.parent.mkdir(parents=True)
    cell.write_text(json.dumps({"status": "ok", "task": "rte", "wall_seconds": 30.0}))
    after = estimate(config, tmp_path, BENCH, SIZES)["architectures"]["roberta-base"]
    assert after["basis"]["probe"] == f"median of {N_CANDIDATES} probe records of this run"
    assert after["seconds"]["probes"] == N_CANDIDATES * 60.0
    assert after["basis"]["cells"] == ["1 x median of 1 cell records of this run"]
    assert after["seconds"]["baseline_cells"] == 30.0 * 2  # two baseline seeds
    # another architecture without records still rests on the benchmark
    other = estimate(config, tmp_path, BENCH, SIZES)["architectures"]["bert-base-uncased"]
    assert "benchmark training" in other["basis"]["cells"][0]
