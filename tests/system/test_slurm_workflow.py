"""The micro demo through the SLURM profile on a real single-node SLURM cluster whose node has two
count-only GPUs: pages are rendered and every GPU job ran with its own CUDA_VISIBLE_DEVICES."""

import json
import re
import shutil
import subprocess
from datetime import datetime

import pytest
import yaml

from tests.support.workflow import copy_workflow, load_config, snakemake, write_config

pytestmark = pytest.mark.slurm

# As in README.md, plus what a 2-CPU test node needs.
SLURM_ARGS = [
    "--workflow-profile", "profiles/slurm",
    "--jobs", "2",
    "--default-resources", "slurm_partition=debug", "mem_mb=1000", "runtime=10",
    "--set-resources", "probe:cpus_per_gpu=1", "finetune:cpus_per_gpu=1",
    "--slurm-init-seconds-before-status-checks", "2",
    "--seconds-between-status-checks", "2",
]  # fmt: skip


def gpu_jobs(workdir):
    for path in (workdir / "results/architectures").rglob("*.json"):
        if "/cells/" in str(path) or "/probe/" in str(path):
            yield json.loads(path.read_text())


def slim_config() -> dict:
    """The micro demo cut to what the SLURM path needs: one architecture, one task."""
    config = load_config()
    config["architectures"] = {"demo-bert": config["architectures"]["demo-bert"]}
    config["architectures"]["demo-bert"]["candidates"]["only"] = ["topic-tuned", "sentiment-tuned"]
    config["demo_zoo"]["intermediates"] = {
        name: spec for name, spec in config["demo_zoo"]["intermediates"].items()
        if name in ("topic-tuned", "sentiment-tuned")
    }  # fmt: skip
    del config["demo_zoo"]["bases"]["tiny-t5-base"]
    config["targets"] = ["demo_topic"]
    return config


def test_micro_demo_on_slurm(slurm_cluster, micro_run, tmp_path):
    workdir = copy_workflow(tmp_path)
    # The demo zoo is built on the submitting host (localrules), never queued: take the session
    # run's zoo with its Snakemake records, so this test's time goes to what SLURM runs.
    for shared in ("results/demo_zoo", ".snakemake/metadata"):
        shutil.copytree(micro_run[0] / shared, workdir / shared, symlinks=True)
    configfile = write_config(workdir, slim_config())
    planned = snakemake(workdir, configfile, *SLURM_ARGS, "-n").stdout
    assert "demo_base" not in planned and "demo_intermediate" not in planned, planned
    snakemake(workdir, configfile, *SLURM_ARGS, timeout=600)

    assert (workdir / "results/site/index.md").is_file()
    jobs = list(gpu_jobs(workdir))
    assert len(jobs) == 2 + 2 + 2  # probes, baseline cells, candidate cells
    # The profile bundles probes (groups: probe=probes, up to 20 per SLURM job): both probes
    # ran in one submitted job, each cell in its own: 5 SLURM jobs for 6 GPU jobs.
    probe_jobs = {j["slurm_job_id"] for j in jobs if "role" not in j}
    cell_jobs = {j["slurm_job_id"] for j in jobs if "role" in j}
    assert len(probe_jobs) == 1 and len(cell_jobs) == 4, (probe_jobs, cell_jobs)
    assert not probe_jobs & cell_jobs
    for job in jobs:
        assert job["slurm_job_id"], job["model_id"]
        assert job["cuda_visible_devices"] in ("0", "1"), job
    # Concurrency is judged by SLURM's own allocations (a demo job's Python part lasts a second
    # or two, its allocation several): jobs held at the same time must hold different GPUs.
    spans = [(*allocation(j["slurm_job_id"]), j) for j in jobs]
    overlapping = 0
    for i, (start_a, end_a, a) in enumerate(spans):
        for start_b, end_b, b in spans[i + 1 :]:
            if a["slurm_job_id"] != b["slurm_job_id"] and start_a < end_b and start_b < end_a:
                overlapping += 1
                assert a["cuda_visible_devices"] != b["cuda_visible_devices"], (a, b)
    assert overlapping, (
        "no two SLURM jobs ran at the same time: the check above proved nothing\n"
        + "\n".join(f"{a:%T} {b:%T} {j['model_id']} {j['slurm_job_id']}" for a, b, j in spans)
    )


def allocation(job_id) -> tuple:
    """When SLURM held the job's allocation (finished jobs stay visible: MinJobAge=900)."""
    shown = subprocess.run(
        ["scontrol", "show", "job", "-o", str(job_id)], capture_output=True, text=True, check=True
    ).stdout
    start, end = (re.search(rf"\b{key}=(\S+)", shown).group(1) for key in ("StartTime", "EndTime"))
    return datetime.fromisoformat(start), datetime.fromisoformat(end)


def test_profile_without_partition_fails_naming_it(slurm_cluster, tmp_path):
    workdir = copy_workflow(tmp_path)
    configfile = write_config(workdir, load_config())
    profile = yaml.safe_load((workdir / "profiles/slurm/config.yaml").read_text())
    assert profile["default-resources"]["slurm_partition"] == ""
    result = snakemake(workdir, configfile, "--workflow-profile", "profiles/slurm", check=False)
    assert result.returncode != 0
    assert "slurm_partition" in result.stdout + result.stderr
    assert not (workdir / "results/demo_zoo").exists()  # stopped before any job ran
