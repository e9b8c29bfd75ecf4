"""One function per workflow job that touches a model: probe one candidate, finetune one cell.
Each writes one small self-describing JSON (atomically) recording what made it."""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import torch

from model_recycling.devices import choose_device, describe_device
from model_recycling.io import atomic_write_json, read_json
from model_recycling.modeling import (
    check_tokenizer_fits,
    load_encoder,
    load_for_task,
    load_tokenizer,
)
from model_recycling.probe import PROBE_SPLITS, run_probe
from model_recycling.provenance import code_version, package_versions
from model_recycling.sources.local import content_revision
from model_recycling.subsample import with_train_size
from model_recycling.tasks import load_prepared
from model_recycling.tokenized import encoded_splits
from model_recycling.train import SPLITS, Hyperparameters, finetune, seed_everything

# Written by guard.py into a model's download folder when its download failed for good.
FAILED_DOWNLOAD = "FAILED.json"


def _provenance(task, settings: dict) -> dict:
    return {
        "started_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        # which device this job was given (GPU slot claim or scheduler) and by whom
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "task": task.name,
        "task_fingerprint": task.meta["fingerprint"],
        "settings": settings,
        "packages": package_versions(),
        "code_version": code_version(),
    }


def _setup(threads: int, device_preference: str):
    torch.set_num_threads(max(1, threads))
    torch.use_deterministic_algorithms(True, warn_only=True)
    return choose_device(device_preference)


def _record_failure(record: dict, err: Exception) -> None:
    traceback.print_exc()  # the whole story goes to the job's log; the reason to the record
    record.update(status="failed", reason=f"{type(err).__name__}: {err}", score=None)


def _finish(record: dict, started: float, output) -> dict:
    record["wall_seconds"] = time.perf_counter() - started
    record["finished_at"] = datetime.now(UTC).isoformat(timespec="milliseconds")
    atomic_write_json(output, record)
    return record


def write_failure_record(output, reason: str, options: dict) -> str:
    """The failure record of a probe or cell whose process died before writing its own (killed,
    out of memory, segfault): the fields of its own failure record, less the device it never
    reported. options: the job's command line options, by name (see guard.py)."""
    settings = json.loads(options["settings"])
    task = load_prepared(options["task_dir"])
    record = {
        "model_id": options["model_id"],
        "model_revision": options["revision"],
        **_provenance(task, settings),
    }
    if "seed" in options:  # a finetuning cell
        record.update(
            arch=options["arch"],
            role=options["role"],
            seed=int(options["seed"]),
            hyperparameters=Hyperparameters.from_config(settings).as_dict(),
            n_eval_expected=task.meta["sizes"]["eval"],
        )
    record.update(status="failed", reason=reason, score=None, wall_seconds=None)
    record["finished_at"] = record["started_at"]
    atomic_write_json(output, record)
    return output


def write_download_failure(out_dir, reason: str, options: dict) -> Path:
    """A download that failed for good: its folder holds only this marker, which the probe
    reports as the candidate's failure."""
    shutil.rmtree(out_dir, ignore_errors=True)  # no half-downloaded weights next to it
    path = Path(out_dir) / FAILED_DOWNLOAD
    marker = {"model_id": options["model_id"], "revision": options["revision"], "reason": reason}
    atomic_write_json(path, {**marker, "status": "failed"})
    return path


def _check_download(model_dir) -> None:
    marker = Path(model_dir) / FAILED_DOWNLOAD
    if marker.exists():
        raise RuntimeError(f"download failed: {read_json(marker)['reason']}")


def _encoded(tokenizer, task, max_length, splits, cache_root, record) -> dict:
    """The task's splits encoded, through the tokenized cache when `cache_root` is given (the
    scores are the same without it); the seconds it took go to the record."""
    started = time.perf_counter()
    encoded = encoded_splits(tokenizer, task, max_length, splits, cache_root)
    record["tokenize_seconds"] = time.perf_counter() - started
    return encoded


def probe_candidate(
    model_id, model_dir, revision, task_dir, settings, output, threads=1, tokenized_cache=None
) -> dict:
    """A broken candidate is recorded as failed with its reason; the run goes on.
    tokenized_cache: the folder of the tokenized cache (model_recycling/tokenized.py), or None."""
    started = time.perf_counter()
    device = _setup(threads, settings.get("device", "auto"))
    # probe.train_size: the training split subsampled (stratified, seeded); n_train says how many
    task = with_train_size(load_prepared(task_dir), settings.get("train_size"))
    record = {"model_id": model_id, "model_revision": revision, **_provenance(task, settings)}
    record.update(describe_device(device))
    try:
        _check_download(model_dir)
        seed_everything(0)
        tokenizer = load_tokenizer(model_dir)
        encoder = load_encoder(model_dir, device)
        check_tokenizer_fits(tokenizer, encoder, model_dir)
        encoded = _encoded(
            tokenizer, task, settings["max_length"], PROBE_SPLITS, tokenized_cache, record
        )
        result = run_probe(encoder, tokenizer, task, settings, device, encoded)
        record.update(status="ok", reason="", **result)
    except Exception as err:  # noqa: BLE001 - any failure of a candidate is its own, not the run's
        _record_failure(record, err)
    return _finish(record, started, output)


def finetune_cell(
    arch, model_id, role, model_dir, revision, task_dir, settings, seed, output, threads=1,
    tokenized_cache=None,
) -> dict:  # fmt: skip
    """role: "baseline" (the pretrained model; failures abort) or "candidate" (failures are
    recorded in the cell, the run goes on). tokenized_cache: as for probe_candidate."""
    started = time.perf_counter()
    device = _setup(threads, settings.get("device", "auto"))
    task = load_prepared(task_dir)
    hp = Hyperparameters.from_config(settings)
    if revision == "auto":  # a local base model: its content hash
        revision = content_revision(model_dir)
    record = {
        "arch": arch,
        "model_id": model_id,
        "role": role,
        "seed": seed,
        "model_revision": revision,
        "hyperparameters": hp.as_dict(),
        "n_eval_expected": task.meta["sizes"]["eval"],
        **_provenance(task, settings),
        **describe_device(device),
    }
    try:
        seed_everything(seed)
        tokenizer = load_tokenizer(model_dir)
        model = load_for_task(model_dir, task, device)
        check_tokenizer_fits(tokenizer, model, model_dir)
        encoded = _encoded(tokenizer, task, hp.max_length, SPLITS, tokenized_cache, record)
        result = finetune(model, tokenizer, task, hp, seed, device, threads, encoded)
        record.update(status="ok", reason="", **result)
    except Exception as err:
        if role == "baseline":  # a broken baseline stops the run, naming the model and cell
            raise RuntimeError(
                f"baseline {model_id} ({arch}), task {task.name}, seed {seed}: {err}"
            ) from err
        _record_failure(record, err)
    return _finish(record, started, output)
