"""Paths and tiny model shapes the tests share, and installing Debian packages for the system
tests."""

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEV_HOLDOUT = {"large_threshold": 10000, "large_size": 1000, "small_fraction": 0.1}
TINY_MODEL = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 48,
}
TINY_T5 = {
    "model_type": "t5",
    "d_model": 32,
    "d_kv": 8,
    "d_ff": 64,
    "num_layers": 1,
    "num_decoder_layers": 1,
    "num_heads": 4,
}
# The system tests install Debian packages only when asked to (install_or_skip); the two pytest
# workers may do so at once, and apt-get takes its locks without waiting: one at a time.
APT_LOCK = "/run/model-recycling-test-apt.lock"
ASK_TO_INSTALL = "run `make test INSTALL_SYSTEM=1` as root"
# Where Debian puts daemons (slurmctld, munged) and tools (runc), on no user's PATH by default.
SYSTEM_BIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def apt_get(*args) -> list:
    """The apt-get command line that waits for the other installs (ours and anyone's)."""
    return ["flock", APT_LOCK, "apt-get", "-o", "DPkg::Lock::Timeout=600", *args]


def may_install(env=None) -> bool:
    """Whether tests may install system packages on this machine: only when asked, with
    INSTALL_SYSTEM=1, or in CI (CI=true; .ci/run sets it). Elsewhere the machine is someone's
    own, and a test skips instead."""
    env = os.environ if env is None else env
    return env.get("CI", "").lower() in ("true", "1") or env.get("INSTALL_SYSTEM") == "1"


def _listed(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def skip_reason(what, packages, skip_var=None, env=None, root=None, apt=None) -> str | None:
    """Why a test that needs packages (missing here) skips, in one line; None when it may
    install them: asked to (may_install), as root, with apt-get."""
    root = os.geteuid() == 0 if root is None else root
    apt = shutil.which("apt-get") is not None if apt is None else apt
    packages = _listed(packages)
    otherwise = f", or {skip_var}=1" if skip_var else ""
    if not may_install(env):
        return f"{what} is not installed; {ASK_TO_INSTALL} to install {packages}{otherwise}"
    if not root:
        return f"{what} is not installed, and installing {packages} needs root{otherwise}"
    if not apt:
        return f"{what} is not installed, and there is no apt-get to install {packages}{otherwise}"
    return None


def missing_packages(tools: dict) -> list:
    """The Debian packages (tools' values) whose commands (tools' keys) are not found."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *SYSTEM_BIN])
    missing = [package for tool, package in tools.items() if not shutil.which(tool, path=path)]
    return list(dict.fromkeys(missing))


def install_packages(packages, recommends=False) -> None:
    """apt-get update and install; RuntimeError with apt-get's last line when either fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["install", "-y", "-qq", *([] if recommends else ["--no-install-recommends"])]
    for command in (["update", "-qq"], [*install, *packages]):
        done = subprocess.run(
            apt_get(*command), env=env, capture_output=True, text=True, timeout=1500
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"apt-get {' '.join(command)} failed: {last}")


def install_missing(what, tools: dict, skip_var=None, recommends=False) -> str | None:
    """Install the packages of tools ({command: Debian package}) that are missing, where that
    is allowed (skip_reason); returns the one-line reason to skip when it is not, else None.
    Where every command is found, nothing is installed and nothing asked."""
    missing = missing_packages(tools)
    if not missing:
        return None
    reason = skip_reason(what, missing, skip_var)
    if reason is None:
        install_packages(missing, recommends)
        still = missing_packages(tools)
        if still:
            raise RuntimeError(f"{_listed(still)} still missing after apt-get install")
    return reason


def install_or_skip(what, tools: dict, skip_var=None, recommends=False) -> None:
    """install_missing in a test or fixture: it skips with the reason, and fails when an
    install that was asked for fails (CI must not pass by skipping)."""
    import pytest

    try:
        reason = install_missing(what, tools, skip_var, recommends)
    except RuntimeError as error:
        pytest.fail(f"installing {what}: {error}")
    if reason:
        pytest.skip(reason)
