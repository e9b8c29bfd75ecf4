"""The jobs a killed run left working in its folder (runtime/orphans.py): `make run` finds them
through /proc, says so, and waits for them to end, or stops them (RESUME_ORPHANS=stop), before
Snakemake starts the same cells again.

The orphans are real processes with a rule's command line, `bash -c "python -m
model_recycling.guard ... -- python scripts/finetune.py ..."`, started in a folder of their own
and handed over to init as a killed Snakemake's jobs are; the guard and the script are stand-ins
that only run their child or sleep."""

import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

from model_recycling.runtime.orphans import orphaned_jobs, process_table, wait_for_orphans
from tests.support.common import REPO

GUARD = "import subprocess, sys\nsys.exit(subprocess.call(sys.argv[sys.argv.index('--') + 1:]))\n"
SCRIPT = """import argparse, pathlib, signal, time
parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float)
parser.add_argument("--ignore-term", action="store_true")
parser.add_argument("--ready")
parser.add_argument("--ended")
args = parser.parse_args()
if args.ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if args.ready:
    pathlib.Path(args.ready).touch()
time.sleep(args.seconds)
if args.ended:
    pathlib.Path(args.ended).write_text(repr(time.time()))
"""
# The stand-in for Snakemake, started once the orphans are gone: when it started.
FAKE_SNAKEMAKE = '#!/usr/bin/env bash\necho "$(date +%s.%N)" > snakemake-started\n'


def workflow_folder(path):
    """A workflow folder with stand-in job scripts, and beside it the stand-in guard (on the
    orphans' PYTHONPATH: in the folder it would hide the real package from resume)."""
    (path / "scripts").mkdir(parents=True)
    for name in ("finetune.py", "cost.py"):
        (path / "scripts" / name).write_text(SCRIPT)
    package = path.parent / "stand-ins/model_recycling"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "guard.py").write_text(GUARD)
    return path


def plain_env(folder) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "PYTHONPATH": str(folder.parent / "stand-ins")}


def start_orphan(folder, *script_args) -> None:
    """A rule's job tree (bash, guard, script) whose parent has gone: it belongs to init."""
    python = shlex.quote(sys.executable)
    job = f"{python} -m model_recycling.guard --kind cell -- {python} scripts/finetune.py"
    job += " " + " ".join(map(shlex.quote, map(str, script_args))) + "; true"
    detach = f"setsid bash -c {shlex.quote(job)} </dev/null >/dev/null 2>&1 &"
    subprocess.run(["bash", "-c", detach], cwd=folder, env=plain_env(folder), check=True)


def wait_for_count(folder, count, timeout=10.0) -> list:
    deadline = time.monotonic() + timeout
    while len(found := orphaned_jobs(folder)) != count:
        assert time.monotonic() < deadline, f"orphans in {folder}: {found}, not {count}"
        time.sleep(0.05)
    return found


@pytest.fixture
def folder(tmp_path):
    """The workflow folder; whatever still runs in it at the end is killed."""
    path = workflow_folder(tmp_path / "workflow")
    yield path
    for process in process_table().values():
        if process.cwd == str(path.resolve()):
            os.kill(process.pid, signal.SIGKILL)


def run_resume(folder, tmp_path, **env):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "snakemake").write_text(FAKE_SNAKEMAKE)
    (bin_dir / "snakemake").chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(REPO), **env}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    command = [sys.executable, "-m", "model_recycling.runtime.resume", "--cores", "1"]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=30)


def test_orphans_are_found_by_folder_command_line_and_parent(folder, tmp_path):
    start_orphan(folder, "--seconds", 60)
    pids = wait_for_count(folder, 3)
    table = process_table()
    words = [" ".join(table[pid].argv) for pid in pids]
    assert any(w.startswith("bash -c") for w in words), words
    assert any("-m model_recycling.guard --kind cell" in w for w in words), words
    assert any(w.endswith("scripts/finetune.py --seconds 60") for w in words), words

    elsewhere = workflow_folder(tmp_path / "elsewhere")
    start_orphan(elsewhere, "--seconds", 60)
    wait_for_count(elsewhere, 3)
    # A script run by hand from a shell in the folder (`make cost`): its parent works here.
    env = {**os.environ, "PY": sys.executable, "SCRIPT": "scripts/cost.py"}
    by_hand = subprocess.Popen(
        ["bash", "-c", '"$PY" "$SCRIPT" --seconds 60; true'], cwd=folder, env=env
    )
    try:
        deadline = time.monotonic() + 10
        while not [p for p in process_table().values() if "scripts/cost.py" in p.argv]:
            assert time.monotonic() < deadline, "the script run by hand did not start"
            time.sleep(0.05)
        assert orphaned_jobs(folder) == pids
    finally:
        for pid in orphaned_jobs(elsewhere):
            os.kill(pid, signal.SIGKILL)
        by_hand.kill()
        by_hand.wait()


def test_resume_waits_for_the_killed_runs_jobs_then_starts(folder, tmp_path):
    start_orphan(folder, "--seconds", 2, "--ended", folder / "ended")
    pids = wait_for_count(folder, 3)
    result = run_resume(folder, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"make run: 3 process(es) of a killed run's jobs still work in {folder} (pids "
        f"{', '.join(map(str, pids))}); waiting for them to end (RESUME_ORPHANS=stop stops them "
        "instead).",
        "make run: the killed run's jobs have ended.",
    ]
    ended = float((folder / "ended").read_text())
    assert float((folder / "snakemake-started").read_text()) >= ended


def test_resume_stops_them_when_asked(folder, tmp_path):
    start_orphan(folder, "--seconds", 60)
    start_orphan(folder, "--seconds", 60, "--ignore-term", "--ready", folder / "ready")
    wait_for_count(folder, 6)
    deadline = time.monotonic() + 10
    while not (folder / "ready").exists():  # SIGTERM is ignored from here on
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stubborn = [
        p.pid
        for p in process_table().values()
        if p.argv[1:2] == ("scripts/finetune.py",) and "--ignore-term" in p.argv
    ]
    assert len(stubborn) == 1

    started = time.monotonic()
    result = run_resume(folder, tmp_path, RESUME_ORPHANS="stop", RESUME_ORPHANS_GRACE="1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        rf"make run: 6 process\(es\) of a killed run's jobs still work in {re.escape(str(folder))}"
        r" \(pids [\d, ]+\); stopping them \(RESUME_ORPHANS=stop\)\.",
        lines[0],
    ), lines
    assert lines[1:] == [
        f"make run: 1 process(es) still running 1 s after SIGTERM: SIGKILL (pids {stubborn[0]}).",
        "make run: the killed run's jobs have ended.",
    ]
    assert time.monotonic() - started < 8
    assert orphaned_jobs(folder) == [] and (folder / "snakemake-started").exists()


def test_waiting_says_how_many_remain_at_each_interval(folder):
    start_orphan(folder, "--seconds", 1.5)
    wait_for_count(folder, 3)
    lines = []
    wait_for_orphans(folder, say=lines.append, report_every=0.4, poll=0.05)
    assert len(lines) >= 2, lines
    for line in lines:
        assert re.fullmatch(
            r"make run: still waiting for [123] process\(es\) of the killed run's jobs "
            r"\(pids [\d, ]+\)\.",
            line,
        ), line
    assert orphaned_jobs(folder) == []
