"""What the workflow produces stays what it was, unless a change means to change it:
the micro run gives the recorded pages, tables, cells and probes (timings aside; the digest is
recorded again, by the command in tests/support/run_digest.py, with the change that alters
them), and a run made by the layout before the package was grouped by stage plans nothing
(Snakemake reruns a finished job when its params, inputs or shell command changed), nor does a
run made by 4551ffc (before rules/ and runtime/ were split by stage). All are in
tests/support/recorded/; each metadata file is the micro run's of its commit (4551ffc's: made in a
worktree of that commit with tests/support/configs/micro.yaml, then
tests.support.snakemake_metadata.deciding_fields of its folder)."""

import json
import shutil

import pytest

from tests.support.common import REPO
from tests.support.run_digest import digest
from tests.support.snakemake_metadata import (
    content_revisions,
    deciding_fields,
    replace_deciding_fields,
    with_revisions,
)
from tests.support.workflow import planned_jobs, snakemake

RECORDED = REPO / "tests" / "support" / "recorded"


def test_the_micro_run_produces_what_the_previous_layout_produced(micro_run):
    workdir = micro_run[0]
    recorded = json.loads((RECORDED / "micro_run_digest.json").read_text())
    found = digest(workdir)
    assert sorted(found) == sorted(recorded)
    assert [name for name in recorded if found[name] != recorded[name]] == []


@pytest.mark.parametrize(
    "record",
    ["micro_run_metadata.json", "micro_run_metadata_4551ffc.json"],
    ids=["layout before the regroup", "4551ffc, before rules and runtime were split by stage"],
)
def test_a_run_made_by_an_earlier_version_plans_nothing(micro_run, tmp_path, record):
    workdir, _, configfile = micro_run
    run = tmp_path / "run"
    shutil.copytree(workdir, run, symlinks=True)
    recorded = json.loads((RECORDED / record).read_text())
    # The demo zoo's own files (so their content revisions) follow the training loop's numerics;
    # what must not change is how the layout calls each job on the same models.
    recorded = with_revisions(recorded, content_revisions(recorded, deciding_fields(run)))
    # Every output's record now says what the previous layout's job was told and ran.
    assert replace_deciding_fields(run, recorded) == []
    result = snakemake(run, run / configfile.name, "-n")
    assert planned_jobs(result) == {}, result.stdout[-3000:]
