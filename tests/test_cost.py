"""The cost estimate (model_recycling/cost.py): its job counts are what Snakemake plans, and its
time per job comes from this run's own records once they exist."""

import json
import shutil

import pytest

from benchmarks.recorded_run import copy_workflow, hub_config, write_recorded_run
from model_recycling.cost import estimate, job_counts, read_listings
from tests.workflow_helpers import planned_jobs, snakemake

N_CANDIDATES = 4
BENCH = {
    "probe": {"examples": 100, "seconds": {"probe_tokens": {"median": 10.0}}},
    "finetune": {"examples_per_second": {"ours_grouped": {"median": 8.0}}},
    "cell": {"cell_overhead_s": {"median": 4.0}},
}
SIZES = {"mnli": {"train": 1000, "eval": 100}, "rte": {"train": 500, "eval": 50}}


def small_hub_config() -> dict:
    """configs/hub.yaml cut down: two architectures, two targets, two baseline seeds."""
    config = hub_config()
    config["architectures"] = dict(list(config["architectures"].items())[:2])
    config.update(targets=["rte", "cb"], baseline_seeds=[0, 1], top_k=2, calibration_k=1)
    return config


def totals(counts: dict) -> dict:
    return {stage: sum(c[stage] for c in counts.values()) for stage in next(iter(counts.values()))}


@pytest.mark.slow
@pytest.mark.parametrize("fetch", ["probe", "host"])
def test_job_counts_match_a_dry_run(tmp_path, fetch):
    config = small_hub_config()
    config["downloads"]["fetch"] = fetch
    configfile = copy_workflow(tmp_path, config)
    write_recorded_run(tmp_path, config, N_CANDIDATES, probed=False)
    expected = totals(job_counts(config, read_listings(config, tmp_path)))
    # Before probing: downloads, probes and the baseline; the top-k waits for selection.
    shutil.rmtree(tmp_path / "results/models")  # not downloaded yet
    planned = planned_jobs(snakemake(tmp_path, configfile, "-n"))
    downloads = planned["download_model"]
    # the base, and with fetch: host each candidate (with fetch: probe, its probe downloads it)
    assert downloads == 2 * ((N_CANDIDATES if fetch == "host" else 0) + 1)
    assert planned["probe"] == expected["probes"] == 2 * N_CANDIDATES
    assert planned["finetune"] == expected["baseline_cells"] == 2 * 2 * 2
    # Probed and selected: the top-k and the calibration sample are planned too.
    write_recorded_run(tmp_path, config, N_CANDIDATES)
    planned = planned_jobs(snakemake(tmp_path, configfile, "-n"))
    assert "probe" not in planned
    # the selected candidates' weights, deleted after probing, are fetched again to finetune
    assert planned["download_model"] == 2 * (2 + 1)
    assert expected["download_jobs"] == downloads + planned["download_model"]
    assert expected["downloads"] == 2 * (N_CANDIDATES + 1) + planned["download_model"]
    assert planned["finetune"] == expected["baseline_cells"] + expected["candidate_cells"]
    assert expected["candidate_cells"] == 2 * 2 * (2 + 1)


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
