"""configs/hub.yaml, the real protocol, planned offline from recorded Hub listings."""

import hashlib

import pytest
import yaml

from model_recycling.listing.candidates import Candidate, write_candidates
from tests.support.workflow import REPO, copy_workflow, planned_jobs, snakemake

pytestmark = pytest.mark.slow
KEPT_PER_ARCH = 3
MIRROR = "http://hub-mirror.example:8080"


def sha(model_id: str) -> str:
    return hashlib.sha1(model_id.encode()).hexdigest()


def record_listing(workdir, arch, base_id):
    """What list_candidates writes for a Hub source: kept models, exclusions, the base row."""
    prefix = arch.replace(".", "-")
    ids = [f"org/{prefix}-ft{i}" for i in range(KEPT_PER_ARCH)]
    rows = [Candidate(model_id, sha(model_id), "hub") for model_id in ids]
    rows.append(Candidate(f"org/{prefix}-big", sha("big"), "hub", "excluded", "size: 2x the base"))
    rows.append(Candidate(base_id, sha(base_id), "hub", "excluded", "the base model itself"))
    write_candidates(workdir / f"results/architectures/{arch}/candidates.tsv", rows)


def test_hub_config_plans_the_protocol(tmp_path):
    workdir = copy_workflow(tmp_path)
    (workdir / "configs").mkdir()
    (workdir / "configs/hub.yaml").write_text((REPO / "configs/hub.yaml").read_text())
    config = yaml.safe_load((REPO / "configs/hub.yaml").read_text())
    # A base given by a branch and a Hub mirror: downloads are pinned to the listed commit and
    # fetched from the mirror, as the listing was.
    roberta = config["architectures"]["roberta-base"]
    roberta["base_model"]["revision"] = "main"
    roberta["source"] = {**roberta["source"], "endpoint": MIRROR}
    config["results_dir"] = "results"  # where record_listing writes
    (workdir / "configs/hub.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    for arch, settings in config["architectures"].items():
        record_listing(workdir, arch, settings["base_model"]["id"])
    # ISEAR has no Hub copy and its CSV is not there: its preparation is planned all the same
    # (it fails alone, naming the file; tests/unit/tasks/test_sources.py), the rest is planned.
    result = snakemake(workdir, workdir / "configs/hub.yaml", "-n", "-p", timeout=600)
    n_arch, n_tasks = len(config["architectures"]), len(config["targets"])
    assert n_arch == 6 and n_tasks == 36
    assert planned_jobs(result) == {
        "prepare_task": 36,  # mnli is both probe and target
        "download_model": n_arch,  # the base, pinned; each probe downloads its candidate
        "probe": n_arch * KEPT_PER_ARCH,
        "select": n_arch,
        "finetune": n_arch * n_tasks * len(config["baseline_seeds"]),  # the baseline; the top-k
        "aggregate": n_arch,  # cells are planned once select has run
        "render": 1,
        "html_site": 1,
        "model_cards": 1,
        "all": 1,
    }
    assert "list_candidates" not in planned_jobs(result)
    plan = result.stdout
    assert f"results/fetching/org~2froberta-base-ft0/{sha('org/roberta-base-ft0')}" in plan
    assert f"results/models/FacebookAI~2froberta-base/{sha('FacebookAI/roberta-base')}" in plan
    assert "results/models/FacebookAI~2froberta-base/main" not in plan
    downloads = [line for line in plan.splitlines() if "download_model.py" in line]
    mirrored = [line for line in downloads if f"--endpoint {MIRROR}" in line]
    assert len(mirrored) == 1 and "roberta-base " in mirrored[0]  # roberta's base
    assert not any("--disk-budget-gb" in line for line in downloads)  # the base is not counted
    probes = [line for line in plan.splitlines() if "scripts/probe.py" in line]
    fetching = [line for line in probes if f"--fetch --endpoint {MIRROR}" in line]
    assert len(fetching) == KEPT_PER_ARCH  # roberta's candidates, from the mirror
    assert all("--disk-budget-gb 200 --disk-ledger results/downloads/ledger.json" in line
               for line in probes)  # fmt: skip
    # A baseline cell checks that the listing still pins the base it was planned at.
    cells = [line for line in plan.splitlines() if "scripts/finetune.py" in line]
    assert all("--listing results/architectures/" in line for line in cells)
