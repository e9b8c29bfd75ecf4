import os
import subprocess
from pathlib import Path

import pytest

from tests.workflow_helpers import copy_workflow, load_config, snakemake, write_config

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
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


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory):
    """A real tiny base model and prepared demo tasks, built with the demo zoo code and loaded
    through the demo registry (paths pointed at this folder)."""
    from model_recycling import demo_zoo
    from model_recycling.tasks import load_registry, prepare_task

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


SLURM_SCRIPTS = REPO / "tests" / "slurm"


def pytest_collection_modifyitems(items):
    """SLURM tests first: once SLURM's commands are installed, every Snakemake start asks the
    controller for its config (the executor plugin does, at import) and waits ~9 s when none
    runs; the cluster started for them stays up until the session ends."""
    items.sort(key=lambda item: item.get_closest_marker("slurm") is None)


@pytest.fixture(scope="session")
def slurm_cluster():
    """A real single-node SLURM cluster (tests/slurm/start_cluster.sh), stopped at the end."""
    if os.environ.get("SKIP_SLURM") == "1":
        pytest.skip("SKIP_SLURM=1 is set")
    if os.geteuid() != 0:
        pytest.skip("starting a SLURM cluster needs root")
    try:
        started = subprocess.run(
            ["bash", str(SLURM_SCRIPTS / "start_cluster.sh")],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        if started.returncode != 0:
            pytest.fail(f"start_cluster.sh failed:\n{started.stdout}\n{started.stderr}")
        yield
    finally:
        subprocess.run(["bash", str(SLURM_SCRIPTS / "stop_cluster.sh")], timeout=120, check=False)


@pytest.fixture(scope="session")
def micro_run(tmp_path_factory):
    """One complete run of the micro demo (tests/configs/micro.yaml) in a copy of the workflow,
    shared by every test that only reads it: (workdir, config, configfile)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"))
    config = load_config()
    configfile = write_config(workdir, config)
    snakemake(workdir, configfile)
    return workdir, config, configfile
