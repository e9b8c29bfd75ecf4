"""Disk at scale (issue 9, item 7): candidates downloaded from the tests' local Hub server
(tests/hub_server.py, the real huggingface_hub client) into a results folder, each probed in
turn: what one candidate downloads, and the folder's peak size with the weights deleted after
probing (downloads.keep_unselected: false, the default) and kept (true). The probe itself is
left out: only its deletion matters to the disk. Sizes: BENCH_DISK_CANDIDATES,
BENCH_DISK_WEIGHT_MB."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from huggingface_hub import HfApi

from model_recycling.disk import delete_weights, folder_bytes
from model_recycling.sources.hub import download_candidate
from tests.hub_server import FakeHub

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
    return {"candidates": n, "weight_mb": weight_mb, "keep_unselected_false": deleted,
            "keep_unselected_true": kept}  # fmt: skip


def table_rows(disk: dict) -> list:
    d, k = disk["keep_unselected_false"], disk["keep_unselected_true"]
    return [
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


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2))
