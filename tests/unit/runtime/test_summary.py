"""The end of a run's console lines (runtime/summary.py): recorded failures, a full disk, pages of
an earlier run set aside while new ones are made."""

import json
import os
import subprocess

import pytest

from model_recycling.listing.candidates import Candidate, write_candidates
from model_recycling.runtime.summary import (
    disk_full,
    drop_previous_pages,
    error_line,
    read_only,
    recorded_failures,
    set_aside_pages,
    short_selections,
)


def write(path, record):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_every_kind_of_recorded_failure_is_said(tmp_path):
    write(tmp_path / "tasks/isear/meta.json",
          {"task": "isear", "status": "failed", "reason": "file missing"})  # fmt: skip
    write(tmp_path / "tasks/rte/meta.json", {"task": "rte", "sizes": {}})
    arch = tmp_path / "architectures/bert"
    write_candidates(arch / "candidates.tsv", [Candidate("x", "r", "local", "excluded", "size")])
    write(arch / "cells/base/rte/seed1.json", {"status": "failed"})
    write(arch / "cells/base/rte/seed0.json", {"status": "ok"})
    write(arch / "cells/org~2fm/rte/seed0.json", {"status": "failed"})
    write(arch / "probe/org~2fp.json", {"status": "failed"})
    lines = recorded_failures(tmp_path, {"bert": "base"})
    assert lines[0] == "task isear not prepared: file missing"
    assert lines[1].startswith("bert: no usable candidate in the listing")
    assert lines[2].startswith("bert: 1 failed baseline seed(s), e.g. ")
    assert lines[3].startswith("bert: 1 failed probe(s), 1 failed candidate cell(s)")
    assert recorded_failures(tmp_path / "nothing", {"bert": "base"}) == []


def test_the_demo_decoys_failures_are_said_to_be_on_purpose(tmp_path):
    arch = tmp_path / "architectures/bert"
    write(arch / "probe/decoy.json", {"status": "failed", "model_id": "zoo/decoy-no-weights"})
    line = recorded_failures(tmp_path, {"bert": "base"}, intended=["decoy-no-weights"])[0]
    assert line.endswith("the demo's decoys decoy-no-weights, failing on purpose)")
    write(arch / "probe/mine.json", {"status": "failed", "model_id": "zoo/my-model"})
    line = recorded_failures(tmp_path, {"bert": "base"}, intended=["decoy-no-weights"])[0]
    assert line.startswith("bert: 2 failed probe(s)") and "on purpose" not in line


def test_a_failed_jobs_error_line_is_its_exception_not_the_traceback(tmp_path):
    log = tmp_path / "job.log"
    log.write_text(
        "progress: listing\nTraceback (most recent call last):\n"
        '  File "scripts/x.py", line 3, in <module>\n    main()\n'
        "FileNotFoundError: models/bert: no such folder\n\n"
    )
    assert error_line(log) == "FileNotFoundError: models/bert: no such folder"
    assert error_line(tmp_path / "missing.log") == ""


def test_a_top_k_larger_than_the_candidates_is_said(tmp_path):
    arch = tmp_path / "architectures/bert"
    arch.mkdir(parents=True)
    rows = "".join(f"{i}\tm{i}\tyes\n" for i in range(5)) + "6\tbad\tno\n"
    (arch / "selected.tsv").write_text("rank\tmodel_id\tselected\n" + rows)
    assert short_selections(tmp_path, {"bert": 50}) == [
        "bert: top_k is 50, but only 5 candidate(s) were probed without failure: all 5 are "
        "finetuned"
    ]
    assert short_selections(tmp_path, {"bert": 5}) == []


def test_pages_of_an_earlier_run_are_set_aside_then_dropped(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site/index.md").write_text("old")
    moved = set_aside_pages(tmp_path)
    assert moved == [tmp_path / "site.previous"] and not (tmp_path / "site").exists()
    assert (tmp_path / "site.previous/index.md").read_text() == "old"
    drop_previous_pages(tmp_path)
    assert not (tmp_path / "site.previous").exists()


def test_a_full_filesystem_is_named(tmp_path):
    assert disk_full([tmp_path]) == ""
    full = tmp_path / "full"
    full.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(full)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"a small filesystem to fill needs mount (root): {mounted.stderr.strip()}")
    try:
        with open(full / "filler", "wb") as handle, pytest.raises(OSError):
            while True:
                handle.write(b"x" * 65536)
                handle.flush()
                os.fsync(handle.fileno())
        said = disk_full([full / "results/architectures"])  # a folder not made yet
        assert said.startswith(f"No space left on device: the filesystem of {full} has 0 MB free")
    finally:
        subprocess.run(["umount", str(full)], check=False)


def test_a_read_only_results_folder_is_named(tmp_path):
    results = tmp_path / "results/demo"
    results.mkdir(parents=True)
    assert read_only(results) == "" and read_only(tmp_path / "absent") == ""
    results.chmod(0o555)
    try:
        said = read_only(results)
    finally:
        results.chmod(0o755)
    assert said.startswith(f"{results} is read-only") and f"chmod -R u+w {results}" in said
