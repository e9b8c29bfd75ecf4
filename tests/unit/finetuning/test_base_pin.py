"""A baseline cell planned from an existing listing (rules/listing.smk: base_row, read without
the listing checkpoint) checks before training that the listing still pins the base at the
revision it was planned at; a listing redone during the run that moved the base makes the cell
wait for the next run (a temporary failure: nothing recorded, nothing trained)."""

import json
import os
import subprocess
import sys

from model_recycling.listing.candidates import BASE_ITSELF, Candidate, base_moved, write_candidates
from model_recycling.records import TEMPORARY_FAILURE
from tests.support.workflow import REPO

BASE = "google-bert/bert-base-uncased"


def listing(tmp_path, revision):
    path = tmp_path / "candidates.tsv"
    rows = [Candidate("org/ft", "1" * 40, "hub"), Candidate(BASE, revision, "hub", "excluded",
                                                              BASE_ITSELF)]  # fmt: skip
    write_candidates(path, rows)
    return path


def test_base_moved_names_both_revisions(tmp_path):
    path = listing(tmp_path, "a" * 40)
    assert base_moved(path, BASE, "a" * 40) == ""
    moved = base_moved(path, BASE, "b" * 40)
    assert "a" * 40 in moved and "b" * 40 in moved and BASE in moved
    assert "no row for the base" in base_moved(path, "other/base", "a" * 40)


def test_a_baseline_cell_planned_at_an_old_revision_trains_nothing(tmp_path):
    path = listing(tmp_path, "a" * 40)
    out = tmp_path / "cell.json"
    command = [sys.executable, str(REPO / "scripts/finetune.py"), "--arch", "bert",
               "--model-id", BASE, "--role", "baseline", "--model-dir", str(tmp_path / "none"),
               "--revision", "b" * 40, "--task-dir", str(tmp_path / "none"),
               "--settings", json.dumps({}), "--seed", "0", "--out", str(out),
               "--listing", str(path)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == TEMPORARY_FAILURE  # the guard records nothing for it
    assert "run again to plan the baseline at the new revision" in result.stderr
    assert not out.exists()
