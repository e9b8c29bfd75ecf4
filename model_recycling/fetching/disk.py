"""Disk at scale: a candidate's downloaded weights are deleted once it is
probed (downloads.keep_unselected: false), leaving its config, tokenizer and a marker that
records what was deleted. The folder itself stays, with Snakemake's .snakemake_timestamp, so the
finished probe is not planned again; a selected candidate is downloaded again into a folder of
its own (results/selected/...) for its finetuning cells. Identical weights are never downloaded
twice: the listing compares the Hub's LFS sha256 of every weight file before any download and
excludes a duplicate (listing/hub.py, _decide)."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from model_recycling.io import atomic_write_json, read_json
from model_recycling.models.files import PYTORCH, SAFETENSORS

WEIGHTS_DELETED = "WEIGHTS_DELETED.json"


def weight_paths(model_dir) -> list:
    """The weight files in a model folder (safetensors or pytorch shards; not their indexes)."""
    return sorted(
        path
        for path in Path(model_dir).iterdir()
        if (SAFETENSORS.fullmatch(path.name) or PYTORCH.fullmatch(path.name))
        and not path.name.endswith(".json")
    )


def folder_bytes(model_dir) -> int:
    return sum(p.stat().st_size for p in Path(model_dir).rglob("*") if p.is_file())


def delete_weights(model_dir) -> dict:
    """Delete the folder's weight files; the marker lists them with their sizes (no marker when
    there were none: a failed download)."""
    files = {path.name: path.stat().st_size for path in weight_paths(model_dir)}
    if not files:
        return {"deleted": {}, "bytes": 0}
    marker = {"deleted": files, "bytes": sum(files.values())}
    atomic_write_json(Path(model_dir) / WEIGHTS_DELETED, marker)
    for name in files:
        os.unlink(Path(model_dir) / name)
    return marker


def weights_deleted(model_dir) -> bool:
    return (Path(model_dir) / WEIGHTS_DELETED).exists()


def restore_weights(model_dir, fetch) -> bool:
    """A probe that must run again after its candidate's weights were deleted: fetch(model_dir)
    downloads them again (one job at a time per folder). True when they had been deleted."""
    lock_path = Path(model_dir) / ".weights.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not weights_deleted(model_dir):
            return False
        deleted = read_json(Path(model_dir) / WEIGHTS_DELETED)["deleted"]
        fetch(model_dir)
        missing = [name for name in deleted if not (Path(model_dir) / name).exists()]
        if missing:
            raise RuntimeError(f"{model_dir}: weights not restored: {missing}")
        os.unlink(Path(model_dir) / WEIGHTS_DELETED)
        return True


SCRATCH = "fetching"  # downloads.fetch: probe: <results>/fetching/<model>/<revision>


def scratch_folder(folder) -> Path:
    """A fetching probe's scratch folder, resolved: only ever <results>/fetching/<model>/<revision>
    (a revision from a hostile listing such as '../..' must not turn its deletion into deleting
    the run)."""
    path = Path(folder)
    if ".." in path.parts or len(path.parts) < 3 or path.parent.parent.name != SCRATCH:
        expected = f"<results>/{SCRATCH}/<model>/<revision>"
        raise ValueError(f"refusing to delete {folder}: not a scratch folder {expected}")
    return path.resolve()


def remove_scratch(folder) -> None:
    """The scratch folder, and its model's folder once no revision is left in it."""
    path = scratch_folder(folder)
    shutil.rmtree(path, ignore_errors=True)
    try:
        path.parent.rmdir()
    except OSError:  # another revision of the model is being probed, or it is gone already
        pass
