"""An archived run (snakemake --archive) unpacks elsewhere and plans the same workflow.
The run's own record (results/site/manifest.json) is checked in tests/workflow/test_workflow.py."""

import os
import shutil
import subprocess
import tarfile

import pytest

from tests.support.workflow import copy_workflow, load_config, planned_jobs, snakemake, write_config

pytestmark = [
    pytest.mark.slow,
    # --archive also packs every conda environment's packages: it needs conda and conda-forge.
    pytest.mark.skipif(shutil.which("conda") is None, reason="snakemake --archive needs conda"),
]

GIT = {
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.org",
}  # fmt: skip


def test_archive_unpacks_and_dry_runs_elsewhere(tmp_path):
    source = copy_workflow(tmp_path / "source")
    configfile = write_config(source, load_config())
    env = {**os.environ, **GIT}
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "run"]):
        subprocess.run(["git", *command], cwd=source, env=env, check=True)
    archive = tmp_path / "run.tar.gz"
    snakemake(source, configfile, "--archive", str(archive))

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert "Snakefile" in names and "test-config.yaml" in names
        assert (
            "model_recycling/finetuning/train.py" in names and "resources/tasks/demo.yaml" in names
        )
        elsewhere = tmp_path / "elsewhere"
        tar.extractall(elsewhere, filter="data")
    plan = planned_jobs(snakemake(elsewhere, elsewhere / "test-config.yaml", "-n"))
    assert plan["demo_tasks"] == 1 and plan["list_candidates"] == 2 and plan["render"] == 1
