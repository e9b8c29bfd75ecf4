"""downloads.disk_budget_gb (model_recycling/fetching/budget.py): downloads wait while the budget
is taken, so the candidates' weights on disk never exceed it, however many there are; a dead
job's reservation does not hold the budget forever."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from model_recycling.fetching.budget import DiskBudget, in_force
from tests.support.downloads import run_parallel

pytestmark = pytest.mark.usefixtures("isolated_hub_settings")

WEIGHT_BYTES = 2_000_000


def add_candidates(hub, n):  # noqa: F811
    ids = []
    for i in range(n):
        model_id = f"org/budget-{i}"
        files = {"config.json": b'{"model_type": "bert"}', "tokenizer.json": b"{}"}
        hub.add_repo(model_id, {**files, "model.safetensors": os.urandom(WEIGHT_BYTES)})
        ids.append(model_id)
    return ids


def test_parallel_downloads_stay_under_the_budget(hub, tmp_path):  # noqa: F811
    """Four probes at once download eight candidates through the real client (the disk
    benchmark's run); the budget holds two and a half: the folder never holds three."""
    ids = add_candidates(hub, 8)
    budget = int(2.5 * WEIGHT_BYTES)
    held = run_parallel(hub, ids, tmp_path, budget, workers=4, pause=0.2)
    assert 2 * WEIGHT_BYTES <= held["disk_peak_gb"] * 1e9 <= budget  # two at once, never three
    assert held["waits"] > 0 and held["reserved_after"] == 0
    free = run_parallel(hub, ids, tmp_path / "free", None, workers=4, pause=0.2)
    assert free["disk_peak_gb"] * 1e9 > budget  # without it, more than the budget at once


def test_a_download_larger_than_the_budget_goes_ahead_alone(tmp_path):
    budget = DiskBudget(tmp_path / "ledger.json", 100, poll_s=0.01)
    budget.reserve(tmp_path / "big", 1_000)  # nothing else reserved: it must not wait forever
    assert budget.reserved_bytes() == 1_000


def test_reservations_of_dead_jobs_are_dropped_unless_their_weights_remain(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid, host, now = int(dead.stdout), socket.gethostname(), time.time()
    gone = {"folder": str(tmp_path / "gone"), "bytes": 5, "pid": pid, "host": host, "since": now}
    assert not in_force(gone)  # its job died and left nothing on disk
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "model.safetensors").write_bytes(b"x")
    assert in_force({**gone, "folder": str(kept)})  # its weights are still on disk
    assert in_force({**gone, "pid": os.getpid()})  # its job is alive
    remote = {**gone, "host": "node-7"}
    assert in_force(remote)  # another host: in force for a while ...
    assert not in_force({**remote, "since": now - 7200})  # ... not forever
    ledger = tmp_path / "ledger.json"
    ledger.write_text(json.dumps({gone["folder"]: gone}))
    budget = DiskBudget(ledger, 10, poll_s=0.01)
    budget.reserve(tmp_path / "next", 10)  # the dead reservation does not make it wait
    assert set(json.loads(ledger.read_text())) == {str(tmp_path / "next")}


def test_a_folder_deleted_while_the_ledger_is_read_holds_no_weights(tmp_path, monkeypatch):
    import model_recycling.fetching.budget as budget_module

    folder = tmp_path / "vanishing"
    folder.mkdir()

    def deleted_by_another_job(model_dir):
        folder.rmdir()  # another probe finished and removed its scratch folder
        return sorted(folder.iterdir())

    monkeypatch.setattr(budget_module, "weight_paths", deleted_by_another_job)
    assert not budget_module.holds_weights(folder)
