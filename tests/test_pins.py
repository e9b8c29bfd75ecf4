"""One set of pins: requirements.lock drives `make run`, the Dockerfile and envs/*.yaml."""

import re

import yaml

from tests.conftest import REPO


def lock_pins() -> dict:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_lock_pins_every_package_exactly():
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", line), line
    assert lock_pins()["torch"] == "2.13.0"


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
