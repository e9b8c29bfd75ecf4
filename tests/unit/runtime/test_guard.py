"""A candidate's job that dies (SIGKILL, segfault, non-zero exit, a time limit's SIGTERM) is
retried, and on its last attempt recorded as failed with the reason."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from model_recycling.probing.job import probe_candidate
from tests.support.common import REPO
from tests.support.records import PROBE_SETTINGS

SLEEP = "import time; print('loading weights', flush=True); time.sleep(60)"


def job(code, out, task_dir, **extra):
    """A child process standing in for a job script: its code, then the job's options."""
    options = {
        "model-id": "org/dying-model",
        "revision": "abc123",
        "task-dir": str(task_dir),
        "settings": json.dumps({"epochs": 1, "learning_rate": 0.001}),
        "out": str(out),
        **extra,
    }
    return [sys.executable, "-c", code, *(x for k, v in options.items() for x in (f"--{k}", v))]


def run_guard(command, tmp_path, kind="cell", attempt=2, attempts=2):
    """As a rule runs it: `python -m model_recycling.runtime.guard ... -- CMD > {log} 2>&1`."""
    log = tmp_path / "job.log"
    argv = ["--kind", kind, "--attempt", str(attempt), "--attempts", str(attempts)]
    with open(log, "w") as handle:
        handle.write("step 1\nallocating 80 GB\n")
        handle.flush()
        guarded = [sys.executable, "-m", "model_recycling.runtime.guard", *argv, "--log", str(log)]
        return subprocess.run([*guarded, "--", *command], stdout=handle, stderr=handle).returncode


CELL = {"arch": "demo-bert", "role": "candidate", "seed": "3"}
DEATHS = {
    "SIGKILL": "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    "SIGSEGV": "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)",
    "exit status 3": "raise SystemExit(3)",
}


@pytest.mark.parametrize("death", list(DEATHS))
def test_last_attempt_records_the_death(death, tiny_zoo, tmp_path):
    out = tmp_path / "cells/seed3.json"
    command = job(DEATHS[death], out, tiny_zoo / "prepared/demo_topic", **CELL)
    assert run_guard(command, tmp_path) == 0  # the run goes on
    record = json.loads(out.read_text())
    assert record["status"] == "failed" and record["score"] is None
    assert death in record["reason"] and "attempt 2 of 2" in record["reason"]
    assert "allocating 80 GB" in record["reason"]  # the log's last lines
    assert "\n" not in record["reason"]
    assert (record["model_id"], record["model_revision"]) == ("org/dying-model", "abc123")
    assert (record["task"], record["seed"], record["role"]) == ("demo_topic", 3, "candidate")
    meta = json.loads((tiny_zoo / "prepared/demo_topic/meta.json").read_text())
    assert record["task_fingerprint"] == meta["fingerprint"]
    assert record["n_eval_expected"] == meta["sizes"]["eval"]
    assert record["code_version"] and record["packages"]


def test_earlier_attempt_fails_so_snakemake_retries(tiny_zoo, tmp_path):
    out = tmp_path / "seed3.json"
    command = job(DEATHS["SIGKILL"], out, tiny_zoo / "prepared/demo_topic", **CELL)
    assert run_guard(command, tmp_path, attempt=1, attempts=2) != 0
    assert not out.exists()


def test_a_dying_baseline_seed_is_recorded_too(tiny_zoo, tmp_path):
    """The tables use the baseline seeds that finished (tables/aggregate.py): one seed that dies
    is that seed's failure, recorded, not the run's."""
    out = tmp_path / "seed0.json"
    baseline = {**CELL, "role": "baseline"}
    command = job(DEATHS["SIGKILL"], out, tiny_zoo / "prepared/demo_topic", **baseline)
    assert run_guard(command, tmp_path) == 0
    record = json.loads(out.read_text())
    assert record["role"] == "baseline" and record["status"] == "failed"
    assert "killed by SIGKILL" in record["reason"]


def test_success_passes_through(tiny_zoo, tmp_path):
    out = tmp_path / "p.json"
    command = job("pass", out, tiny_zoo / "prepared/demo_nli")
    assert run_guard(command, tmp_path, kind="probe") == 0
    assert not out.exists()  # the guard writes nothing for a job that succeeded


def test_probe_death_has_the_shape_of_the_probes_own_failure_record(tiny_zoo, tmp_path):
    task_dir = tiny_zoo / "prepared/demo_nli"
    dead, own = tmp_path / "dead.json", tmp_path / "own.json"
    command = job(DEATHS["SIGSEGV"], dead, task_dir, settings=json.dumps(PROBE_SETTINGS))
    assert run_guard(command, tmp_path, kind="probe") == 0
    (tmp_path / "empty").mkdir()
    probe_candidate("org/broken", tmp_path / "empty", "r", task_dir, PROBE_SETTINGS, own)
    dead_record, own_record = json.loads(dead.read_text()), json.loads(own.read_text())
    assert own_record["status"] == dead_record["status"] == "failed"
    device_keys = {k for k in own_record if k.startswith("device") or k in ("dtype",)}
    assert set(dead_record) == set(own_record) - device_keys - {"gpu_name"}


def test_sigterm_is_forwarded_and_recorded(tiny_zoo, tmp_path):
    """A scheduler's time limit sends SIGTERM first (then SIGKILL after a grace period)."""
    out = tmp_path / "seed3.json"
    log = tmp_path / "job.log"
    command = job(SLEEP, out, tiny_zoo / "prepared/demo_topic", **CELL)
    argv = ["--kind", "cell", "--attempt", "1", "--attempts", "1", "--log", str(log)]
    with open(log, "w") as handle:
        guarded = subprocess.Popen(
            [sys.executable, "-m", "model_recycling.runtime.guard", *argv, "--", *command],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "loading weights" not in log.read_text():  # the child runs
        assert time.monotonic() < deadline and guarded.poll() is None
        time.sleep(0.1)
    os.kill(guarded.pid, signal.SIGTERM)  # the guard only: it must pass it on
    assert guarded.wait(timeout=60) == 0
    reason = json.loads(out.read_text())["reason"]
    assert "SIGTERM" in reason and "loading weights" in reason


def test_failed_download_is_reported_by_the_probe(tiny_zoo, tmp_path):
    model_dir = tmp_path / "models/org~2fgone/abc123"
    code = "import sys; print('404 Client Error: Repository Not Found'); sys.exit(1)"
    command = [sys.executable, "-c", code, "--model-id", "org/gone", "--revision", "abc123"]
    assert run_guard([*command, "--out", str(model_dir)], tmp_path, kind="download") == 0
    assert [p.name for p in model_dir.iterdir()] == ["FAILED.json"]
    task_dir = tiny_zoo / "prepared/demo_nli"
    out = tmp_path / "probe.json"
    record = probe_candidate("org/gone", model_dir, "abc123", task_dir, PROBE_SETTINGS, out)
    assert record["status"] == "failed"
    assert record["reason"].startswith("RuntimeError: download failed: job exit status 1")
    assert "Repository Not Found" in record["reason"]  # the log's last lines


def test_unreachable_hub_during_a_download_is_never_recorded(tmp_path, monkeypatch):
    """The real download script, offline: the Hub is unreachable, which is not the model's
    fault, so even the last attempt leaves no FAILED.json and a later run tries again."""
    repo = REPO
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # inherited by the guard and the script
    monkeypatch.setenv("PYTHONPATH", str(repo))  # as the rules' shell prefix sets it
    model_dir = tmp_path / "models/org~2fmodel/abc123"
    script = [sys.executable, str(repo / "scripts/download_model.py"), "--model-id", "org/model"]
    command = [*script, "--revision", "abc123", "--out", str(model_dir)]
    assert run_guard(command, tmp_path, kind="download") == 75
    assert not (model_dir / "FAILED.json").exists()
    assert "unreachable" in (tmp_path / "job.log").read_text()
