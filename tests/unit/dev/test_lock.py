"""One set of pins: requirements.lock drives `make run`, the Dockerfile and envs/*.yaml;
requirements-dev.lock adds the development tools, and only to the venv."""

import re
import tomllib

import yaml

from tests.support.common import REPO


def lock_pins(name="requirements.lock") -> dict:
    pins = {}
    for line in (REPO / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def direct_requirements() -> dict:
    """requirements.in: package name -> the version it pins ("" when it names a range or none)."""
    wanted = {}
    for line in (REPO / "requirements.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.match(r"[A-Za-z0-9_.\-]+", line).group(0)
            pinned = re.search(r"==\s*([^,\s]+)", line)
            wanted[name.lower().replace("_", "-")] = pinned.group(1) if pinned else ""
    return wanted


def test_lock_pins_every_package_exactly():
    lines = [
        line
        for name in ("requirements.lock", "requirements-dev.lock")
        for line in (REPO / name).read_text().splitlines()
    ]
    for line in lines:
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", line), line


def test_the_lock_holds_every_direct_requirement_at_its_pin():
    pins = {name.replace("_", "-"): version for name, version in lock_pins().items()}
    for name, version in direct_requirements().items():
        assert name in pins, f"requirements.in names {name}; the lock does not"
        assert not version or pins[name] == version, (name, version, pins[name])


def test_conda_envs_match_the_lock():
    pins = lock_pins()
    for env_file in sorted((REPO / "envs").glob("*.yaml")):
        env = yaml.safe_load(env_file.read_text())
        pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
        env_pins = dict(p.lower().split("==") for p in pip)
        assert env_pins == pins, env_file.name


def test_dockerfile_installs_the_lock_and_python_matches():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"pip install -r \S*requirements\.lock", dockerfile)
    python = re.search(r"ARG BASE=python:(\d+\.\d+)", dockerfile).group(1)
    for env_file in (REPO / "envs").glob("*.yaml"):
        assert f"python={python}" in env_file.read_text()
    assert 'requires-python = ">=3.11"' in (REPO / "pyproject.toml").read_text()


def test_every_rule_names_an_existing_env():
    for rules in (REPO / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', rules.read_text()):
            assert (REPO / "rules" / env).resolve().is_file(), (rules.name, env)


def test_development_tools_are_locked_apart_from_the_runtime():
    runtime = {name.replace("_", "-") for name in lock_pins()}
    development = {name.replace("_", "-") for name in lock_pins("requirements-dev.lock")}
    assert not runtime & development
    assert {"pytest", "ruff", "snakefmt", "import-linter"} <= development
    assert not {"pytest", "ruff", "snakefmt", "black"} & runtime  # not in the image nor envs/


def test_pyproject_declares_the_runtime_requirements():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.match(r"[A-Za-z0-9_.\-]+", d).group(0).lower().replace("_", "-") for d in declared}
    assert names == set(direct_requirements())
