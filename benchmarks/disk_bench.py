"""Disk at scale: candidates downloaded from the tests' local Hub server
(tests/support/hub_server.py, the real huggingface_hub client) into a results folder, each probed in
turn: what one candidate downloads, and the folder's peak size with the weights deleted after
probing (downloads.keep_unselected: false, the default) and kept (true). Then BENCH_DISK_WORKERS
probes at once, each fetching its candidate (downloads.fetch: probe), without a budget and under
downloads.disk_budget_gb of BENCH_DISK_BUDGET_CANDIDATES candidates' weights: the peak, polled
every 5 ms. The probe itself is a pause (BENCH_DISK_PROBE_S): only what it deletes matters to
the disk. Sizes: BENCH_DISK_CANDIDATES, BENCH_DISK_WEIGHT_MB."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from huggingface_hub import HfApi

from model_recycling.fetching.disk import delete_weights, folder_bytes
from model_recycling.fetching.download import download_candidate
from tests.support.downloads import run_parallel
from tests.support.hub_server import FakeHub

CONFIG = b'{"model_type": "bert", "hidden_size": 16, "num_hidden_layers": 1}'


def sizes() -> tuple:
    return (
        int(os.environ.get("BENCH_DISK_CANDIDATES", 20)),
        float(os.environ.get("BENCH_DISK_WEIGHT_MB", 8)),
    )


def _repos(hub: FakeHub, n: int, weight_bytes: int) -> list:
    rng = random.Random(0)
    ids = []
    for i in range(n):
        model_id = f"org/candidate-{i}"
        files = {
            "config.json": CONFIG,
            "tokenizer.json": b"{}",
            "model.safetensors": rng.randbytes(weight_bytes),
        }
        hub.add_repo(model_id, files)
        ids.append(model_id)
    return ids


def run(hub: FakeHub, ids: list, root: Path, keep: bool) -> dict:
    api, peak, downloaded = HfApi(endpoint=hub.endpoint), 0, []
    for model_id in ids:
        folder = root / "results/models" / model_id.replace("/", "~2f")
        download_candidate(model_id, hub.repos[model_id]["info"]["sha"], folder, api=api)
        downloaded.append(folder_bytes(folder))
        peak = max(peak, folder_bytes(root))
        if not keep:
            delete_weights(folder)
    return {
        "download_bytes_per_candidate": sum(downloaded) / len(downloaded),
        "disk_peak_gb": peak / 1e9,
        "disk_end_gb": folder_bytes(root) / 1e9,
    }


def measure() -> dict:
    n, weight_mb = sizes()
    os.environ.pop("HF_HUB_OFFLINE", None)  # the local server only (127.0.0.1)
    from huggingface_hub import constants
    from huggingface_hub.utils import disable_progress_bars

    constants.HF_HUB_OFFLINE = False
    disable_progress_bars()
    with FakeHub() as hub, tempfile.TemporaryDirectory() as tmp:
        ids = _repos(hub, n, int(weight_mb * 1e6))
        deleted = run(hub, ids, Path(tmp) / "deleted", keep=False)
        kept = run(hub, ids, Path(tmp) / "kept", keep=True)
        in_budget = float(os.environ.get("BENCH_DISK_BUDGET_CANDIDATES", 2.5))
        budget_bytes = int(in_budget * weight_mb * 1e6)
        workers = int(os.environ.get("BENCH_DISK_WORKERS", 4))
        pause = float(os.environ.get("BENCH_DISK_PROBE_S", 0.3))
        unlimited = run_parallel(hub, ids, Path(tmp) / "unlimited", None, workers, pause)
        budgeted = run_parallel(hub, ids, Path(tmp) / "budget", budget_bytes, workers, pause)
    return {"candidates": n, "weight_mb": weight_mb, "keep_unselected_false": deleted,
            "keep_unselected_true": kept, "parallel_no_budget": unlimited,
            "parallel_budget": {**budgeted, "budget_gb": budget_bytes / 1e9}}  # fmt: skip


def table_rows(disk: dict) -> list:
    d, k = disk["keep_unselected_false"], disk["keep_unselected_true"]
    rows = [
        (
            "download_bytes_per_candidate",
            f"{d['download_bytes_per_candidate'] / 1e6:.2f} MB",
            f"{disk['weight_mb']:g} MB weights + config + tokenizer, from the local Hub server",
        ),
        (
            f"disk_peak_gb, {disk['candidates']} candidates probed one after another",
            f"{d['disk_peak_gb']:.3f} GB",
            f"weights deleted once probed (keep_unselected: false); kept: "
            f"{k['disk_peak_gb']:.3f} GB; left at the end {d['disk_end_gb']:.4f} / "
            f"{k['disk_end_gb']:.3f} GB",
        ),
    ]
    if "parallel_budget" in disk:
        free, held = disk["parallel_no_budget"], disk["parallel_budget"]
        rows.append(
            (
                f"disk_peak_gb, {held['workers']} fetching probes at once, disk_budget_gb "
                f"{held['budget_gb']:.3f} (target: <= the budget)",
                f"{held['disk_peak_gb']:.3f} GB",
                f"without a budget {free['disk_peak_gb']:.3f} GB; {disk['candidates']} "
                f"candidates in {held['seconds']:.1f} s under the budget, "
                f"{free['seconds']:.1f} s without",
            )
        )
    return rows


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2))
