"""Run the real workflow (no mocks) in a copy of the repository, and read what it planned."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.common import REPO

WORKFLOW_FILES = [
    "Snakefile",
    "config.yaml",
    "rules",
    "scripts",
    "schemas",
    "resources",
    "envs",
    "profiles",
    "model_recycling",
    "report",
    "Makefile",
    "requirements.lock",
    "requirements-dev.lock",
]
MICRO_CONFIG = REPO / "tests" / "support" / "configs" / "micro.yaml"


def copy_workflow(dest: Path) -> Path:
    """The workflow files as a fresh clone has them (results/ starts empty)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, dirs_exist_ok=True)
        else:  # with its time: a lock newer than the venv would have `make` reinstall it
            shutil.copy2(source, dest / name)
    return dest


def load_config(path=MICRO_CONFIG) -> dict:
    return yaml.safe_load(Path(path).read_text())


def write_config(workdir: Path, config: dict, name="test-config.yaml") -> Path:
    path = workdir / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _env() -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def make_run(workdir: Path, *args, env=None, timeout=900) -> subprocess.CompletedProcess:
    """`make run ARGS...` in a workflow copy, as the README writes it, with this venv."""
    venv = Path(sys.executable).parent.parent
    command = ["make", "--no-print-directory", "run", f"VENV={venv}", "CORES=2", *args]
    return subprocess.run(
        command, cwd=workdir, env=env or _env(), capture_output=True, text=True, timeout=timeout
    )


def make_run_command(configfile: Path) -> tuple[list, dict]:
    """What `make run` runs (its resume-by-itself entry), with this config; and its env."""
    command = [sys.executable, "-m", "model_recycling.runtime.resume", "--cores", "2"]
    return [*command, "--configfile", str(configfile)], _env()


def snakemake(workdir: Path, configfile: Path, *args, check=True, timeout=900):
    env = _env()
    venv_bin = str(Path(sys.executable).parent)
    cmd = [f"{venv_bin}/snakemake", "--cores", "2", "--configfile", str(configfile), *args]
    result = subprocess.run(
        cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        output = f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{output}")
    return result


def planned_jobs(result) -> dict:
    """Per-rule job counts from the 'Job stats' table of a dry run; {} when nothing to do."""
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        match = re.fullmatch(r"\s*(\w+)\s+(\d+)\s*", line)
        if not match:
            break
        if match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts


def assert_same_files(expected: Path, actual: Path) -> None:
    """Byte for byte, the same file names."""
    names = sorted(p.relative_to(expected) for p in expected.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(actual) for p in actual.rglob("*") if p.is_file())
    for name in names:
        assert (expected / name).read_bytes() == (actual / name).read_bytes(), name
