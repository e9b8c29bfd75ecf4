"""`make run` (runtime/resume.py) runs one run per folder: a second start, at once or later, and
a start while a Snakemake started by hand works here, stop with one line naming the folder and
the pid, never advising --unlock. Config files are read strictly before Snakemake starts.

Each test runs resume as `make run` does, in a folder of its own, with a stand-in `snakemake` on
PATH: real processes, real locks, nothing of the workflow."""

import os
import subprocess
import sys
import time

import pytest

from model_recycling.runtime.resume import RUN_LOCK, config_files
from tests.support.common import REPO

# The stand-in for Snakemake: records that it started, then runs as long as the test says. It
# execs `sleep` under another name, so only the run lock (not /proc) can tell it is Snakemake.
FAKE_SNAKEMAKE = """#!/usr/bin/env bash
echo "$$ $*" >> snakemake-started
exec -a stand-in-job sleep "${FAKE_SNAKEMAKE_SECONDS:-0}"
"""


def resume_env(tmp_path, seconds=0, **extra) -> dict:
    bin_dir = tmp_path / "bin"
    if not bin_dir.exists():
        bin_dir.mkdir()
        (bin_dir / "snakemake").write_text(FAKE_SNAKEMAKE)
        (bin_dir / "snakemake").chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(REPO), "FAKE_SNAKEMAKE_SECONDS": str(seconds)}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return {**env, **extra}


def resume_command(*args) -> list:
    return [sys.executable, "-m", "model_recycling.runtime.resume", "--cores", "1", *args]


def run_resume(workdir, env, *args):
    return subprocess.run(
        resume_command(*args), cwd=workdir, env=env, capture_output=True, text=True, timeout=30
    )


def started(workdir) -> list:
    """The stand-in Snakemake's starts: one line each, its pid and arguments."""
    path = workdir / "snakemake-started"
    return path.read_text().splitlines() if path.exists() else []


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def processes():
    """Processes a test starts, killed at its end whatever happened."""
    started_here = []
    yield started_here
    for process in started_here:
        if process.poll() is None:
            process.kill()
        process.wait()


def refusal(workdir, pid) -> str:
    return f"make run: another run is working in {workdir} (pid {pid}); wait for it, or stop it\n"


def test_a_second_start_says_another_run_works_here(tmp_path, processes):
    env = resume_env(tmp_path, seconds=30)
    first = subprocess.Popen(resume_command(), cwd=tmp_path, env=env)
    processes.append(first)
    wait_until(lambda: len(started(tmp_path)) == 1)
    # resume became the stand-in Snakemake (exec) and the lock came along
    wait_until(lambda: (open(f"/proc/{first.pid}/cmdline").read()).startswith("stand-in-job"))
    assert (tmp_path / RUN_LOCK).read_text() == f"{first.pid}\n"

    second = run_resume(tmp_path, {**env, "FAKE_SNAKEMAKE_SECONDS": "0"})
    assert second.returncode == 1
    assert second.stderr == refusal(tmp_path, first.pid)
    assert "--unlock" not in second.stdout + second.stderr
    assert len(started(tmp_path)) == 1 and first.poll() is None  # the first run is untouched


def test_two_starts_at_once_one_runs_and_the_other_names_it(tmp_path, processes):
    env = resume_env(tmp_path, seconds=30)
    both = [
        subprocess.Popen(resume_command(), cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    processes.extend(both)
    wait_until(lambda: any(p.poll() is not None for p in both))
    loser = next(p for p in both if p.poll() is not None)
    winner = next(p for p in both if p is not loser)
    assert loser.returncode == 1
    assert loser.stderr.read() == refusal(tmp_path, winner.pid)
    wait_until(lambda: len(started(tmp_path)) == 1)
    time.sleep(0.3)
    assert started(tmp_path)[0].split()[0] == str(winner.pid) and len(started(tmp_path)) == 1


def test_a_snakemake_started_by_hand_is_found_before_it_writes_its_lock(tmp_path, processes):
    by_hand = tmp_path / "hand" / "snakemake"  # a process named snakemake, working in tmp_path
    by_hand.parent.mkdir()
    by_hand.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(30)\n")
    by_hand.chmod(0o755)
    other = subprocess.Popen([str(by_hand)], cwd=tmp_path)
    processes.append(other)
    assert not (tmp_path / ".snakemake/locks").exists()

    result = run_resume(tmp_path, resume_env(tmp_path))
    assert result.returncode == 1
    assert result.stderr == refusal(tmp_path, other.pid)
    assert started(tmp_path) == []


def test_the_lock_ends_with_the_run(tmp_path):
    env = resume_env(tmp_path)
    for _ in range(2):
        result = run_resume(tmp_path, env, "--dry-run")
        assert result.returncode == 0, result.stderr
    assert [line.split(" ", 1)[1] for line in started(tmp_path)] == ["--cores 1 --dry-run"] * 2


def test_a_stale_snakemake_lock_is_removed_and_the_run_goes_on(tmp_path):
    (tmp_path / ".snakemake/locks").mkdir(parents=True)
    (tmp_path / ".snakemake/locks/0.input.lock").write_text("x")
    result = run_resume(tmp_path, resume_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "resuming a run that was interrupted (its stale lock removed)" in result.stdout
    assert [line.split(" ", 1)[1] for line in started(tmp_path)] == [
        "--unlock --cores 1",
        "--cores 1",
    ]


@pytest.mark.parametrize("default", [False, True], ids=["--configfile", "config.yaml"])
def test_a_broken_config_stops_before_snakemake_naming_file_and_line(tmp_path, default):
    name = "config.yaml" if default else "mine.yaml"
    (tmp_path / name).write_text("targets: [a]\nseeds: [0]\ntargets: [b]\n")
    args = [] if default else ["--configfile", name]
    result = run_resume(tmp_path, resume_env(tmp_path), *args)
    assert result.returncode == 2
    assert result.stderr == f"{name}:3: duplicate key 'targets' (first at line 1)\n"
    assert started(tmp_path) == []


def test_every_config_file_is_checked(tmp_path):
    (tmp_path / "a.yaml").write_text("a: 1\n")
    (tmp_path / "b.yaml").write_text("b: [1,\n")
    result = run_resume(tmp_path, resume_env(tmp_path), "--configfile", "a.yaml", "b.yaml")
    assert result.returncode == 2
    assert result.stderr.startswith("b.yaml:2:1: ") and started(tmp_path) == []


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--cores", "2"], []),
        (["--configfile", "a.yaml", "--cores", "2"], ["a.yaml"]),
        (["--configfiles", "a.yaml", "b.yaml", "-n"], ["a.yaml", "b.yaml"]),
        (["--configfile=a.yaml", "--configfile", "b.yaml"], ["a.yaml", "b.yaml"]),
    ],
)
def test_config_files_are_read_from_snakemakes_arguments(args, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config_files(args) == expected
    (tmp_path / "config.yaml").write_text("a: 1\n")
    assert config_files(args) == (expected or ["config.yaml"])


def test_a_bad_orphans_setting_is_named(tmp_path):
    result = run_resume(tmp_path, resume_env(tmp_path, RESUME_ORPHANS="kill"))
    assert result.returncode == 2
    assert result.stderr == "make run: RESUME_ORPHANS must be 'wait' or 'stop', not 'kill'\n"
    assert started(tmp_path) == []


def test_the_interpreters_folder_comes_first_on_path_once(monkeypatch):
    from model_recycling.runtime.resume import interpreter_first_on_path

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    interpreter_first_on_path()
    interpreter_first_on_path()
    folders = os.environ["PATH"].split(os.pathsep)
    assert folders == [os.path.dirname(sys.executable), "/usr/bin", "/bin"]
