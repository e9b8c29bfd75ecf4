"""dev/pin_datasets.py, online against the Hub stand-in: a registry's "TODO pin" revisions become
the commits their datasets point to (the parquet conversion's for a loading-script dataset);
one that cannot be resolved stays as it was and is named."""

import subprocess
import sys

import pytest

from model_recycling.tasks.registry import load_registry
from tests.support.common import REPO

pytestmark = pytest.mark.usefixtures("isolated_hub_settings")

REGISTRY = """\
# a comment the pins keep
plain:
  dataset: org/plain
  revision: null  # TODO pin: resolve when online
  inputs: [text]
  label: label
  labels: [0, 1]

scripted:
  dataset: legacy
  revision: null  # TODO pin: resolve when online
  inputs: [text]
  label: label
  labels: [0, 1]

gone:
  dataset: org/gone
  revision: null  # TODO pin: resolve when online
  inputs: [text]
  label: label
  labels: [0, 1]

local:
  dataset: csv
  data_files: {train: data/x.csv}
  revision: null  # a local file: pinned by content
  eval_split: train
  eval_from_train: 0.2
  inputs: [text]
  label: label
  labels: [0, 1]
"""


def test_todo_revisions_are_pinned_to_commits(hub, tmp_path):
    hub.datasets["org/plain"] = {"files": ["README.md", "data/train.parquet"],
                                 "branches": {"main": "a" * 40}}  # fmt: skip
    branches = {"main": "b" * 40, "refs/convert/parquet": "c" * 40}
    hub.datasets["legacy"] = {"files": ["README.md", "legacy.py"], "branches": branches}
    registry = tmp_path / "tasks.yaml"
    registry.write_text(REGISTRY)
    run = subprocess.run(
        [sys.executable, str(REPO / "dev/pin_datasets.py"), str(registry), "--endpoint",
         hub.endpoint], capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 1  # one could not be pinned
    assert f"plain: org/plain pinned at {'a' * 40} (main)" in run.stdout
    assert f"scripted: legacy pinned at {'c' * 40} (refs/convert/parquet)" in run.stdout
    assert "gone: org/gone not pinned (RepositoryNotFoundError" in run.stdout
    tasks = load_registry(registry)
    assert tasks["plain"].revision == "a" * 40 and tasks["scripted"].revision == "c" * 40
    assert tasks["gone"].revision is None and tasks["local"].revision is None
    text = registry.read_text()
    assert text.startswith("# a comment the pins keep") and text.count("TODO pin") == 1
