"""The cost estimate's job counts (planning/plan.py) are what Snakemake plans, on a recorded run
of a Hub config."""

import shutil

import pytest

from model_recycling.planning.cost import job_counts, read_listings
from tests.support.recorded_run import copy_workflow, small_hub_config, write_recorded_run
from tests.support.workflow import planned_jobs, snakemake

N_CANDIDATES = 4


def totals(counts: dict) -> dict:
    return {stage: sum(c[stage] for c in counts.values()) for stage in next(iter(counts.values()))}


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
