"""Real single-node SLURM cluster with 2 count-only fake GPUs (tests/support/slurm/*.sh).

Checks that jobs asking for ``--gpus=1`` get their own CUDA_VISIBLE_DEVICES.
Needs root (installs Debian packages, starts daemons); set SKIP_SLURM=1 to skip.
"""

from __future__ import annotations

import subprocess
import time

import pytest

pytestmark = pytest.mark.slurm  # the cluster: tests/conftest.py (slurm_cluster)

FINAL_STATES = {
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
    "PREEMPTED",
}


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _wait_for_jobs(job_ids: list[str], timeout: float = 60) -> dict[str, str]:
    """Poll squeue until all jobs reached a final state; return {job_id: state}."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        proc = _run(
            ["squeue", "-h", "--states=all", "-j", ",".join(job_ids), "-o", "%i|%T"],
            timeout=10,
        )
        if proc.returncode == 0:
            states = dict(line.split("|", 1) for line in proc.stdout.split() if "|" in line)
            if all(states.get(j) in FINAL_STATES for j in job_ids):
                return states
        time.sleep(0.5)
    pytest.fail(f"SLURM jobs {job_ids} not finished after {timeout}s: {states}")


def test_srun_gets_a_gpu(slurm_cluster):
    proc = _run(["srun", "--gpus=1", "bash", "-c", "echo $CUDA_VISIBLE_DEVICES"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    value = proc.stdout.strip()
    assert value.isdigit(), f"CUDA_VISIBLE_DEVICES not set: {proc.stdout!r} {proc.stderr!r}"


def test_concurrent_sbatch_jobs_get_distinct_gpus(slurm_cluster, tmp_path):
    script = (
        'echo "start=$(date +%s.%N)"; '
        'echo "cvd=$CUDA_VISIBLE_DEVICES"; '
        "sleep 3; "
        'echo "end=$(date +%s.%N)"'
    )
    job_ids = []
    for i in range(2):
        proc = _run(
            [
                "sbatch",
                "--parsable",
                "--gpus=1",
                "--cpus-per-task=1",
                f"--job-name=gputest{i}",
                f"--chdir={tmp_path}",
                f"--output={tmp_path}/job{i}.out",
                "--wrap",
                script,
            ],
            timeout=30,
        )
        assert proc.returncode == 0, proc.stderr
        job_ids.append(proc.stdout.strip().split(";")[0])

    states = _wait_for_jobs(job_ids)
    assert all(states[j] == "COMPLETED" for j in job_ids), states

    runs = []
    for i in range(2):
        out = (tmp_path / f"job{i}.out").read_text()
        fields = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        assert fields.get("cvd", "").strip(), f"job {i} got no CUDA_VISIBLE_DEVICES:\n{out}"
        runs.append((float(fields["start"]), float(fields["end"]), fields["cvd"].strip()))

    (s0, e0, gpu0), (s1, e1, gpu1) = runs
    overlapped = s0 < e1 and s1 < e0
    # 2 CPUs and 2 GPUs: both jobs should run at the same time
    assert overlapped, f"jobs did not run concurrently: {runs}"
    assert gpu0 != gpu1, f"concurrent jobs share a GPU: {runs}"
