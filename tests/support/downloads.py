"""Probes fetching their candidates at once, with or without a disk budget: the disk budget test
and `BENCH_STAGES=disk make bench` measure the same run."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from huggingface_hub import HfApi

from model_recycling.fetching.budget import DiskBudget, reserving
from model_recycling.fetching.disk import folder_bytes
from model_recycling.fetching.download import download_candidate
from tests.support.hub_server import FakeHub


def run_parallel(hub: FakeHub, ids: list, root: Path, budget_bytes: int | None,
                 workers: int = 4, pause: float = 0.3) -> dict:  # fmt: skip
    """`workers` probes at once, each downloading its candidate, pausing `pause` s (the probe),
    deleting it; the folder's peak size, polled every 5 ms."""
    api, folder_root, peak, done = HfApi(endpoint=hub.endpoint), root / "results/fetching", [0], []
    waits = []
    budget = None
    if budget_bytes:
        budget = DiskBudget(
            root / "results/downloads/ledger.json", budget_bytes, poll_s=0.05, log=waits.append
        )

    def watch():
        while not done:
            try:
                peak[0] = max(peak[0], folder_bytes(folder_root) if folder_root.exists() else 0)
            except OSError:  # a folder deleted while it was summed: measure again
                continue
            time.sleep(0.005)

    def probe(model_ids):
        for model_id in model_ids:
            folder = folder_root / model_id.replace("/", "~2f")
            sha = hub.repos[model_id]["info"]["sha"]
            download_candidate(model_id, sha, folder, api=api,
                               before_download=reserving(budget, folder))  # fmt: skip
            time.sleep(pause)
            shutil.rmtree(folder)
            if budget:
                budget.release(folder)

    started = time.perf_counter()
    threads = [threading.Thread(target=watch)]
    threads += [threading.Thread(target=probe, args=(ids[i::workers],)) for i in range(workers)]
    for each in threads:
        each.start()
    for each in threads[1:]:
        each.join()
    done.append(True)
    threads[0].join()
    return {"workers": workers, "disk_peak_gb": peak[0] / 1e9,
            "seconds": time.perf_counter() - started, "waits": len(waits),
            "reserved_after": budget.reserved_bytes() if budget else 0}  # fmt: skip
