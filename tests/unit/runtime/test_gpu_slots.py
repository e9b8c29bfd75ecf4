"""GPU slot claims on a CPU machine: MODEL_RECYCLING_GPU_COUNT simulates the devices, jobs are real
processes started through the command line wrapper (and once through a real Snakemake run), and
each job records the CUDA_VISIBLE_DEVICES it got and when it ran."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from model_recycling.runtime.gpu_slots import (
    UnsafeLockPath,
    claim_gpu,
    default_lock_dir,
    visible_devices,
)
from tests.support.common import REPO

WAIT = 20  # seconds; an upper bound for anything that should take about one

# Records the device it got and when it ran, then sleeps; written atomically so a poller
# never reads half a file.
RECORD = textwrap.dedent(
    """
    import json, os, sys, time
    path, seconds = sys.argv[1], float(sys.argv[2])
    record = {"device": os.environ.get("CUDA_VISIBLE_DEVICES"), "pid": os.getpid(),
              "start": time.time(), "end": None}
    def write():
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)
    write()
    time.sleep(seconds)
    record["end"] = time.time()
    write()
    """
)


@pytest.fixture
def env(tmp_path):
    """Two simulated GPUs, a private lock dir, and nothing inherited that assigns devices."""
    assigning = ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_ID", "MODEL_RECYCLING_GPU_SLOT")
    env = {k: v for k, v in os.environ.items() if k not in assigning}
    env["PYTHONPATH"] = str(REPO)
    env["MODEL_RECYCLING_GPU_COUNT"] = "2"
    env["MODEL_RECYCLING_GPU_LOCK_DIR"] = str(tmp_path / "locks")
    (tmp_path / "record.py").write_text(RECORD)
    return env


def start_job(tmp_path, env, name, seconds=1.0):
    """One wrapped job; its record lands in tmp_path/<name>.json."""
    command = [sys.executable, "-m", "model_recycling.runtime.gpu_slots", "--poll", "0.05", "--"]
    command += [sys.executable, str(tmp_path / "record.py"), str(tmp_path / f"{name}.json")]
    command += [str(seconds)]
    return subprocess.Popen(
        command, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def finish(process) -> str:
    _, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 0, stderr
    return stderr


def read_record(path: Path, timeout=WAIT) -> dict:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never started"
        time.sleep(0.02)
    return json.loads(path.read_text())


def assert_no_shared_device(records):
    """Two jobs on the same device never ran at overlapping times."""
    for a, b in itertools.combinations(records, 2):
        if a["device"] == b["device"]:
            assert a["end"] <= b["start"] or b["end"] <= a["start"], (a, b)


def test_visible_devices_parses_the_environment():
    assert visible_devices({"CUDA_VISIBLE_DEVICES": "2, 3"}) == ["2", "3"]
    assert visible_devices({"CUDA_VISIBLE_DEVICES": "GPU-ab12,1"}) == ["GPU-ab12", "1"]
    assert visible_devices({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert visible_devices({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    assert visible_devices({"CUDA_VISIBLE_DEVICES": "0,-1,1"}) == ["0"]
    assert visible_devices({"MODEL_RECYCLING_GPU_COUNT": "3"}) == ["0", "1", "2"]


def test_claim_gpu_sets_and_restores_the_environment(tmp_path):
    env = {"MODEL_RECYCLING_GPU_COUNT": "2"}
    with claim_gpu(tmp_path, env=env) as first:
        assert first == "0" and env["CUDA_VISIBLE_DEVICES"] == "0"
        with claim_gpu(tmp_path, env=env) as nested:
            assert nested == "0"  # a nested claim keeps the outer device instead of waiting
        with claim_gpu(tmp_path, env={"MODEL_RECYCLING_GPU_COUNT": "2"}) as second:
            assert second == "1"  # another claim (its own lock fd) gets the other device
            with pytest.raises(TimeoutError):
                with claim_gpu(tmp_path, env={"MODEL_RECYCLING_GPU_COUNT": "2"}, timeout=0.2):
                    pass
        assert env["CUDA_VISIBLE_DEVICES"] == "0"
    assert env == {"MODEL_RECYCLING_GPU_COUNT": "2"}
    with claim_gpu(tmp_path, env={"MODEL_RECYCLING_GPU_COUNT": "2"}) as again:
        assert again == "0"  # released on leaving the block


def test_concurrent_jobs_get_distinct_devices(tmp_path, env):
    env["MODEL_RECYCLING_GPU_COUNT"] = "3"
    jobs = [start_job(tmp_path, env, f"job{i}", seconds=1.5) for i in range(3)]
    for job in jobs:
        finish(job)
    records = [read_record(tmp_path / f"job{i}.json") for i in range(3)]
    assert sorted(r["device"] for r in records) == ["0", "1", "2"]
    # Nobody waited: all three ran at the same time.
    assert max(r["start"] for r in records) < min(r["end"] for r in records)


def test_extra_job_waits_for_a_free_device(tmp_path, env):
    jobs = [start_job(tmp_path, env, f"job{i}") for i in range(3)]
    stderrs = [finish(job) for job in jobs]
    records = [read_record(tmp_path / f"job{i}.json") for i in range(3)]
    assert {r["device"] for r in records} == {"0", "1"}
    assert_no_shared_device(records)
    waiters = [s for s in stderrs if "busy" in s]
    assert len(waiters) == 1 and waiters[0].count("busy") == 1  # says so once, not every poll
    last = max(records, key=lambda r: r["start"])
    assert last["start"] >= min(r["end"] for r in records if r is not last)


def test_device_of_a_killed_job_is_reused_promptly(tmp_path, env):
    env["MODEL_RECYCLING_GPU_COUNT"] = "1"
    victim = start_job(tmp_path, env, "victim", seconds=60)
    started = read_record(tmp_path / "victim.json")
    # The wrapper execs the job, so the lock holder is the job itself.
    assert started["pid"] == victim.pid
    assert (tmp_path / "locks" / "gpu0.lock").read_text().strip() == str(victim.pid)

    waiter = start_job(tmp_path, env, "waiter", seconds=0.1)
    time.sleep(1)
    assert not (tmp_path / "waiter.json").exists()  # device 0 is taken: it waits
    killed_at = time.time()
    victim.kill()
    victim.communicate(timeout=WAIT)
    finish(waiter)
    record = read_record(tmp_path / "waiter.json")
    assert record["device"] == "0"
    assert record["start"] - killed_at < 2


def test_device_stays_claimed_while_a_child_of_the_job_runs(tmp_path, env):
    """kill -9 of the job's main process alone: its child still holds the inherited lock."""
    env["MODEL_RECYCLING_GPU_COUNT"] = "1"
    script = f"{sys.executable} {tmp_path / 'record.py'} {tmp_path / 'child.json'} 2 & wait"
    command = [sys.executable, "-m", "model_recycling.runtime.gpu_slots", "--poll", "0.05", "--"]
    parent = subprocess.Popen([*command, "bash", "-c", script], env=env, start_new_session=True)
    child = read_record(tmp_path / "child.json")
    parent.kill()  # only the bash process; the child keeps running on the device
    parent.communicate(timeout=WAIT)

    waiter = start_job(tmp_path, env, "waiter", seconds=0.1)
    finish(waiter)
    child = read_record(tmp_path / "child.json")
    record = read_record(tmp_path / "waiter.json")
    assert child["end"] is not None and record["start"] >= child["end"]


def test_devices_assigned_by_slurm_are_used_as_they_are(tmp_path, env):
    env.update(CUDA_VISIBLE_DEVICES="3", SLURM_JOB_ID="42")
    finish(start_job(tmp_path, env, "job", seconds=0))
    assert read_record(tmp_path / "job.json")["device"] == "3"
    assert not (tmp_path / "locks").exists()  # nothing was claimed

    slurm_env = {"CUDA_VISIBLE_DEVICES": "0,1", "SLURM_JOB_ID": "42"}
    with claim_gpu(tmp_path / "locks", env=slurm_env) as device:
        assert device == "0,1" and slurm_env["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert not (tmp_path / "locks").exists()


def test_without_devices_the_job_runs_without_cuda_visible_devices(tmp_path, env):
    env["MODEL_RECYCLING_GPU_COUNT"] = "0"
    finish(start_job(tmp_path, env, "job", seconds=0))
    assert read_record(tmp_path / "job.json")["device"] is None
    with claim_gpu(tmp_path, env={"MODEL_RECYCLING_GPU_COUNT": "0"}) as device:
        assert device is None


def test_job_runs_with_its_own_exit_code_and_default_signals(env):
    # With SIGPIPE ignored (as in Python), `yes` would exit 1 on a broken pipe instead of 141.
    script = "yes | head -1 >/dev/null; exit ${PIPESTATUS[0]}"
    command = [
        sys.executable,
        "-m",
        "model_recycling.runtime.gpu_slots",
        "--",
        "bash",
        "-c",
        script,
    ]
    assert subprocess.run(command, env=env, timeout=WAIT).returncode == 128 + 13
    missing = [*command[:4], "no-such-command-here"]
    assert subprocess.run(missing, env=env, capture_output=True, timeout=WAIT).returncode == 127


def test_snakemake_jobs_get_distinct_devices(tmp_path, env):
    workdir = tmp_path / "workflow"
    workdir.mkdir()
    (workdir / "Snakefile").write_text(
        textwrap.dedent(
            """
            rule all:
                input: expand("out/{i}.json", i=range(4))

            rule job:
                output: "out/{i}.json"
                resources: gpu=1
                shell: "python -m model_recycling.gpu_slots -- python ../record.py {output} 1"
            """
        )
    )
    venv_bin = Path(sys.executable).parent
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        [venv_bin / "snakemake", "--cores", "4", "--resources", "gpu=2"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    records = [read_record(workdir / f"out/{i}.json", timeout=0) for i in range(4)]
    assert {r["device"] for r in records} <= {"0", "1"}
    assert_no_shared_device(records)
    # Some jobs really ran side by side, so the check above compared something.
    assert any(
        a["start"] < b["end"] and b["start"] < a["end"]
        for a, b in itertools.combinations(records, 2)
    )


def test_planted_symlink_is_refused_and_its_target_untouched(tmp_path, env):
    locks = tmp_path / "locks"
    locks.mkdir(mode=0o700)
    victim = tmp_path / "precious.txt"
    victim.write_text("do not overwrite\n")
    (locks / "gpu0.lock").symlink_to(victim)
    with pytest.raises(UnsafeLockPath, match="gpu0.lock"):
        with claim_gpu(locks, env={"MODEL_RECYCLING_GPU_COUNT": "1"}):
            pass
    # The command line wrapper says why and does not run the job.
    env["MODEL_RECYCLING_GPU_COUNT"] = "1"
    job = start_job(tmp_path, env, "job", seconds=0)
    _, stderr = job.communicate(timeout=WAIT)
    assert job.returncode == 1 and "refusing GPU lock file" in stderr and "gpu0.lock" in stderr
    assert not (tmp_path / "job.json").exists()
    assert victim.read_text() == "do not overwrite\n"


def test_hard_link_and_fifo_are_refused(tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("keep\n")
    (tmp_path / "linked").mkdir(mode=0o700)
    os.link(other, tmp_path / "linked" / "gpu0.lock")
    (tmp_path / "fifo").mkdir(mode=0o700)
    os.mkfifo(tmp_path / "fifo" / "gpu0.lock")
    for folder, reason in (("linked", "other hard links"), ("fifo", "not a regular file")):
        with pytest.raises(UnsafeLockPath, match=reason):
            with claim_gpu(tmp_path / folder, env={"MODEL_RECYCLING_GPU_COUNT": "1"}):
                pass
    assert other.read_text() == "keep\n"


def test_existing_content_is_not_truncated(tmp_path):
    locks = tmp_path / "locks"
    locks.mkdir(mode=0o700)
    content = "a file someone put here, longer than a pid record\n"
    (locks / "gpu0.lock").write_text(content)
    with claim_gpu(locks, env={"MODEL_RECYCLING_GPU_COUNT": "1"}) as device:
        assert device == "0"
        assert (locks / "gpu0.lock").read_text() == content
    # An ordinary lock file holds the holder's pid, overwritten in place by the next holder.
    with claim_gpu(locks, env={"MODEL_RECYCLING_GPU_COUNT": "2"}):
        with claim_gpu(locks, env={"MODEL_RECYCLING_GPU_COUNT": "2"}) as second:
            assert second == "1"
            assert (locks / "gpu1.lock").read_text().strip() == str(os.getpid())
    (locks / "gpu1.lock").write_text(f"{999999:<11}\n")
    with claim_gpu(locks, env={"MODEL_RECYCLING_GPU_COUNT": "2"}):
        with claim_gpu(locks, env={"MODEL_RECYCLING_GPU_COUNT": "2"}):
            assert (locks / "gpu1.lock").read_text().strip() == str(os.getpid())


def test_private_lock_dir_is_created_0700_and_a_foreign_or_open_one_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    env = {"MODEL_RECYCLING_GPU_COUNT": "1"}
    private = default_lock_dir(env)
    assert private.parent == tmp_path
    with claim_gpu(env=env):
        assert (private.stat().st_mode & 0o777) == 0o700
        assert (private / "gpu0.lock").is_file()
    private.chmod(0o777)  # others could plant files: the default folder is refused
    with pytest.raises(UnsafeLockPath, match="writable by you alone"):
        with claim_gpu(env=env):
            pass
    shutil.rmtree(private)
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    private.symlink_to(tmp_path / "elsewhere")  # a planted link to a folder of someone else's
    with pytest.raises(UnsafeLockPath, match="not a folder"):
        with claim_gpu(env=env):
            pass


def test_shared_lock_dir_needs_the_sticky_bit(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    env = {"MODEL_RECYCLING_GPU_COUNT": "1", "MODEL_RECYCLING_GPU_LOCK_DIR": str(shared)}
    with pytest.raises(UnsafeLockPath, match="sticky"):
        with claim_gpu(env=env):
            pass
    shared.chmod(0o1777)
    with claim_gpu(env=env) as device:
        assert device == "0"
        # readable by the other users of the folder, whatever this process's umask
        assert ((shared / "gpu0.lock").stat().st_mode & 0o777) == 0o644
