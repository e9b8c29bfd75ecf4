"""Fixtures the whole suite shares (a tiny zoo, the micro run, the SLURM cluster) and the order and
marks of tests: tests/workflow and tests/system run the real workflow or real components and are
marked slow, so `pytest -m "not slow"` runs the unit tests alone."""

import fcntl
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from tests.support.common import DEV_HOLDOUT, REPO, TINY_MODEL, install_or_skip
from tests.support.workflow import copy_workflow, load_config, snakemake, write_config

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory):
    """A real tiny base model and prepared demo tasks, built with the demo zoo code and loaded
    through the demo registry (paths pointed at this folder)."""
    from model_recycling.demo import zoo as demo_zoo
    from model_recycling.tasks.prepare import prepare_task
    from model_recycling.tasks.registry import load_registry

    root = tmp_path_factory.mktemp("zoo")
    tasks = {
        "demo_nli": {"generator": "nli", "train": 200, "test": 80},
        "demo_topic": {"generator": "topic", "train": 200, "test": 80},
        "demo_similarity": {"generator": "similarity", "train": 200, "test": 80},
    }
    demo_zoo.write_tasks(root / "tasks", tasks, seed=0)
    demo_zoo.build_base(root / "base", root / "tasks/lexicon.json", TINY_MODEL, 10, seed=0)
    registry_text = (REPO / "resources/tasks/demo.yaml").read_text()
    (root / "registry.yaml").write_text(
        registry_text.replace("results/demo_zoo/tasks", str(root / "tasks"))
    )
    registry = load_registry(root / "registry.yaml")
    for name in tasks:
        prepare_task(registry[name], root / "prepared" / name, DEV_HOLDOUT)
    return root


pytest_plugins = ["tests.support.hub"]
SLURM_SCRIPTS = REPO / "tests" / "support" / "slurm"
# What start_cluster.sh runs: {command: the Debian package that has it}.
SLURM_TOOLS = {
    "slurmctld": "slurm-wlm",
    "slurmd": "slurm-wlm",
    "sinfo": "slurm-wlm",
    "munged": "munge",
    "munge": "munge",
}
SLOW_FOLDERS = ("workflow", "system")


# Exists while a test session's SLURM cluster may be running (the cluster is machine-wide); it
# holds that session's id, so a second session on the machine never stops the first one's cluster.
CLUSTER_STARTED = "/run/model-recycling-test-slurm"
SESSION_ID = "MODEL_RECYCLING_TEST_SESSION"  # set by the main process, inherited by workers


def pytest_configure(config):
    if not _is_xdist_worker(config):
        os.environ[SESSION_ID] = f"{os.getpid()}"
    elif config.workerinput.get("workercount", 1) > 1:
        # Each worker's in-process torch takes every core by default: two workers on two cores
        # then fight over them. One thread each; jobs the workflow tests start set their own.
        import torch

        torch.set_num_threads(1)


def pytest_collection_modifyitems(items):
    """SLURM tests first, on one worker when pytest-xdist runs the suite (`make test`): once
    SLURM's commands are installed, every Snakemake start asks the controller for its config
    (the executor plugin does, at import) and waits ~9 s when none runs; the cluster started for
    them stays up until the whole session ends (pytest_sessionfinish). Tests that read the
    session's micro run come last, so that while one worker makes it the other runs unit tests
    instead of waiting for it."""
    for item in items:
        if Path(item.fspath).relative_to(REPO / "tests").parts[0] in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)
    items.sort(
        key=lambda item: (
            item.get_closest_marker("slurm") is None,
            "micro_run" in getattr(item, "fixturenames", ()),
        )
    )
    for item in items:
        if item.get_closest_marker("slurm"):
            item.add_marker(pytest.mark.xdist_group("slurm"))


def _is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionfinish(session):
    """The cluster outlives every worker: the session that is not a worker stops it."""
    if not _is_xdist_worker(session.config) and _started_by_this_session():
        _stop_cluster()


def _started_by_this_session() -> bool:
    try:
        return Path(CLUSTER_STARTED).read_text() == os.environ[SESSION_ID]
    except OSError:
        return False


def _start_cluster() -> None:
    started = subprocess.run(
        ["bash", str(SLURM_SCRIPTS / "start_cluster.sh")],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if started.returncode != 0:
        pytest.fail(f"start_cluster.sh failed:\n{started.stdout}\n{started.stderr}")


@pytest.fixture(scope="session")
def slurm_cluster_session():
    """A real single-node SLURM cluster (tests/support/slurm/start_cluster.sh), stopped when the
    session ends."""
    if os.environ.get("SKIP_SLURM") == "1":
        pytest.skip("SKIP_SLURM=1 is set")
    install_or_skip("SLURM", SLURM_TOOLS, skip_var="SKIP_SLURM")
    if os.geteuid() != 0:
        pytest.skip("starting a SLURM cluster needs root; run `make test` as root, or SKIP_SLURM=1")
    Path(CLUSTER_STARTED).write_text(os.environ[SESSION_ID])  # the session's end stops it
    _start_cluster()


@pytest.fixture
def slurm_cluster(slurm_cluster_session):
    """The session's cluster, answering. On a fresh machine the controller once received a
    SIGTERM from outside the tests while the other worker built the image's base (debootstrap)
    and installed packages; a test must not fail for that: the daemons are started again, and
    the warning says so."""
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
    if ping.returncode != 0 or "UP" not in ping.stdout:
        warnings.warn(
            f"SLURM controller not answering ({ping.stdout.strip()}): restarted", stacklevel=2
        )
        _start_cluster()


def _stop_cluster() -> None:
    subprocess.run(["bash", str(SLURM_SCRIPTS / "stop_cluster.sh")], timeout=120, check=False)
    Path(CLUSTER_STARTED).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def micro_run(request, tmp_path_factory):
    """One complete run of the micro demo (tests/support/configs/micro.yaml) in a copy of the
    workflow, shared by every test that only reads it: (workdir, config, configfile). Under
    pytest-xdist the first worker to ask makes it and the others wait for it (a lock in the
    folder that all workers' temporary folders share), so the session runs it once."""
    shared = tmp_path_factory.getbasetemp()
    if _is_xdist_worker(request.config):
        shared = shared.parent
    workdir = shared / "micro_run"
    with open(shared / "micro_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        configfile = workdir / "test-config.yaml"
        if not (workdir / "DONE").exists():
            shutil.rmtree(workdir, ignore_errors=True)  # a worker that failed left it half made
            copy_workflow(workdir)
            write_config(workdir, load_config())
            snakemake(workdir, configfile)
            (workdir / "DONE").touch()
    return workdir, load_config(), configfile
