"""The system tests install Debian packages only when asked to (INSTALL_SYSTEM=1, or CI=true as
.ci/run sets it) and as root; elsewhere a test whose packages are missing skips with one line
saying what is missing and how to run it (tests/support/common.py). Nothing is installed here."""

import os
import subprocess
import sys

import pytest

from tests.support.common import (
    REPO,
    install_missing,
    may_install,
    missing_packages,
    skip_reason,
)

SLURM = ["slurm-wlm", "munge"]


@pytest.mark.parametrize(
    "env, allowed",
    [
        ({}, False),
        ({"CI": "true"}, True),
        ({"CI": "TRUE"}, True),
        ({"CI": "1"}, True),
        ({"CI": "false"}, False),
        ({"CI": ""}, False),
        ({"INSTALL_SYSTEM": "1"}, True),
        ({"INSTALL_SYSTEM": "0"}, False),
        ({"INSTALL_SYSTEM": "yes"}, False),
        ({"CI": "false", "INSTALL_SYSTEM": "1"}, True),
        ({"SKIP_SLURM": "1"}, False),
    ],
)
def test_installing_is_allowed_only_when_asked(env, allowed):
    assert may_install(env) is allowed


def test_not_asked_the_skip_says_what_is_missing_and_how_to_run_it():
    for root in (True, False):
        assert skip_reason("SLURM", SLURM, "SKIP_SLURM", env={}, root=root, apt=True) == (
            "SLURM is not installed; run `make test INSTALL_SYSTEM=1` as root to install "
            "slurm-wlm and munge, or SKIP_SLURM=1"
        )
    assert skip_reason("Chromium", ["chromium"], env={"CI": "false"}, root=True, apt=True) == (
        "Chromium is not installed; run `make test INSTALL_SYSTEM=1` as root to install chromium"
    )
    three = skip_reason("podman", ["podman", "runc", "debootstrap"], env={}, root=True, apt=True)
    assert "to install podman, runc and debootstrap;" not in three
    assert "to install podman, runc and debootstrap" in three


@pytest.mark.parametrize("env", [{"CI": "true"}, {"INSTALL_SYSTEM": "1"}])
def test_asked_it_installs_as_root_with_apt_get_else_says_why_not(env):
    assert skip_reason("SLURM", SLURM, "SKIP_SLURM", env=env, root=True, apt=True) is None
    assert skip_reason("SLURM", SLURM, "SKIP_SLURM", env=env, root=False, apt=True) == (
        "SLURM is not installed, and installing slurm-wlm and munge needs root, or SKIP_SLURM=1"
    )
    assert skip_reason("SLURM", SLURM, None, env=env, root=True, apt=False) == (
        "SLURM is not installed, and there is no apt-get to install slurm-wlm and munge"
    )


def test_where_the_commands_are_found_nothing_is_installed_or_asked(monkeypatch):
    # `sh` and `ls` are on every machine: nothing is missing, so not even root or apt-get counts.
    monkeypatch.setenv("INSTALL_SYSTEM", "1")
    assert missing_packages({"sh": "dash", "ls": "coreutils"}) == []
    assert install_missing("the shell", {"sh": "dash", "ls": "coreutils"}) is None


def test_missing_commands_without_being_asked_skip_and_install_nothing(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("INSTALL_SYSTEM", raising=False)
    tools = {"no-such-daemon-a": "pkg-a", "no-such-daemon-b": "pkg-a", "sh": "dash"}
    assert missing_packages(tools) == ["pkg-a"]
    assert install_missing("A", tools, "SKIP_A") == (
        "A is not installed; run `make test INSTALL_SYSTEM=1` as root to install pkg-a, or SKIP_A=1"
    )


def test_ci_run_asks_for_installs(tmp_path):
    """.ci/run, with a stand-in `make` that shows what it was given, in an environment without
    CI: the tests it starts may install."""
    (tmp_path / "make").write_text('#!/bin/sh\necho "CI=$CI $*"\n')
    (tmp_path / "make").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "INSTALL_SYSTEM")}
    env["PATH"] = f"{tmp_path}{os.pathsep}{env['PATH']}"
    ran = subprocess.run(
        ["bash", str(REPO / ".ci/run")], env=env, capture_output=True, text=True, check=True
    )
    assert ran.stdout == "CI=true test\n"


def test_the_makefile_documents_the_variables_above_test():
    makefile = (REPO / "Makefile").read_text()
    above_test = makefile.split("\ntest:", 1)[0].rsplit("\n\n", 1)[1]
    for variable in ("INSTALL_SYSTEM=1", "CI=true", "SKIP_SLURM=1", "SKIP_CONTAINER=1"):
        assert variable in above_test, variable


def test_make_passes_install_system_to_the_tests(tmp_path):
    """`make test INSTALL_SYSTEM=1` reaches pytest's environment (a command-line variable)."""
    makefile = tmp_path / "Makefile"
    makefile.write_text('show:\n\t@echo "[$$INSTALL_SYSTEM]"\n')
    env = {k: v for k, v in os.environ.items() if k != "INSTALL_SYSTEM"}
    shown = subprocess.run(
        ["make", "-s", "-f", str(makefile), "INSTALL_SYSTEM=1"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert shown.stdout == "[1]\n"


def test_a_test_whose_packages_are_missing_skips_with_one_line(tmp_path):
    """install_or_skip in a real pytest run: the skip's reason is the one line, in the summary."""
    (tmp_path / "test_needs_a.py").write_text(
        "from tests.support.common import install_or_skip\n\n"
        "def test_a():\n"
        "    install_or_skip('A', {'no-such-daemon-a': 'pkg-a'}, skip_var='SKIP_A')\n"
        "    raise AssertionError('ran without its package')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "INSTALL_SYSTEM")}
    env["PYTHONPATH"] = str(REPO)
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "-p", "no:xdist", str(tmp_path / "test_needs_a.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout
    skipped = [line for line in ran.stdout.splitlines() if line.startswith("SKIPPED [1] ")]
    assert len(skipped) == 1, ran.stdout
    assert skipped[0].endswith(
        ": A is not installed; run `make test INSTALL_SYSTEM=1` as root to install pkg-a, "
        "or SKIP_A=1"
    )
