"""The cost estimate (planning/cost.py): its time per job comes from this run's own records once
they exist (its job counts: tests/workflow/test_cost_plan.py)."""

import json

import pytest

from model_recycling.planning.cost import cost_job, estimate, report
from tests.support.common import REPO
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


def test_the_estimate_shows_what_the_adaptive_rules_save(tmp_path):
    config = small_hub_config()
    config["targets"] = ["rte", "mnli"]
    plain = estimate(config, tmp_path, BENCH, SIZES, assume_candidates=N_CANDIDATES)
    assert all(not a["fewer_cells"] for a in plain["architectures"].values())
    config["baseline_seeds"] = {"min": 3, "max": 20, "step": 3, "target_se": 1.0}
    config["racing"] = {"first_round": 4, "round": 2}
    ruled = estimate(config, tmp_path, BENCH, SIZES, assume_candidates=N_CANDIDATES)
    arch = ruled["architectures"]["roberta-base"]
    fewer = arch["fewer_cells"]
    assert fewer["baseline"]["full"] == 20 * 2 and fewer["baseline"]["least"] == 3 * 2
    assert fewer["baseline"]["least"] <= fewer["baseline"]["expected"] <= 20 * 2
    # two tasks: the first decision comes after the last one, so racing cannot save a cell
    assert (
        fewer["candidate"]["least"] == fewer["candidate"]["full"] == arch["jobs"]["candidate_cells"]
    )
    assert arch["jobs"]["baseline_cells"] == 40  # the most the rule can run
    text = report(ruled)
    assert "fewer cells (baseline_seeds as a rule, racing):" in text
    assert "roberta-base baseline cells: full protocol 40" in text and "all: " in text
    # with more tasks than the first round, racing can stop every candidate but the leader
    config["targets"] = [f"t{i}" for i in range(6)]
    sizes = {**SIZES, **{task: SIZES["rte"] for task in config["targets"]}}
    six = estimate(config, tmp_path, BENCH, sizes, assume_candidates=N_CANDIDATES)
    candidate = six["architectures"]["roberta-base"]["fewer_cells"]["candidate"]
    calibration = config["calibration_k"] * 6
    assert candidate["least"] == calibration + 6 + (config["top_k"] - 1) * 4
    assert candidate["least"] <= candidate["expected"] <= candidate["full"]


def test_the_readme_table_is_what_make_cost_prints_offline(tmp_path, capsys):
    """README "What it costs": configs/hub.yaml at 2,000 candidates, from the committed
    benchmarks/results.json; and without a listing, one line saying what to do offline."""
    with pytest.raises(SystemExit) as stopped:
        cost_job(REPO / "configs/hub.yaml", tmp_path)
    said = str(stopped.value)
    assert "\n" not in said and "is not listed yet" in said
    assert "ARGS='--assume-candidates 2000'" in said
    cost_job(REPO / "configs/hub.yaml", tmp_path, assume_candidates=2000)
    printed = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()
               if line.split()}  # fmt: skip
    readme = (REPO / "README.md").read_text()
    for stage, row in (("probes", "| probes (MNLI"), ("baseline_cells", "| baseline cells (36"),
                       ("candidate_cells", "| candidate cells (36")):  # fmt: skip
        line = next(x for x in readme.splitlines() if x.startswith(row))
        jobs, hours = [cell.strip() for cell in line.split("|")[2:4]]
        assert [jobs, hours] == printed[stage], stage
