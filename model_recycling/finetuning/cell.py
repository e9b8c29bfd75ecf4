"""The cell job: finetune one (architecture, model, task, seed) cell and write its record."""

from __future__ import annotations

import json
import sys
import time

from model_recycling.finetuning.train import SPLITS, Hyperparameters, finetune
from model_recycling.listing.candidates import base_moved
from model_recycling.listing.local import content_revision
from model_recycling.models.devices import describe_device, seed_everything, setup_job
from model_recycling.models.loading import check_tokenizer_fits, load_for_task, load_tokenizer
from model_recycling.records import (
    TEMPORARY_FAILURE,
    finish,
    job_provenance,
    record_failure,
    write_died,
)
from model_recycling.settings import default
from model_recycling.tasks.prepare import load_prepared
from model_recycling.tasks.tokenized import timed_encoded_splits


def cell_job(
    arch, model_id, role, model_dir, revision, task_dir, settings, seed, output, threads=1,
    tokenized_cache=None, listing=None,
) -> dict:  # fmt: skip
    """finetune_cell as a job. listing: for a baseline cell of a Hub base, the candidates.tsv that
    pinned the base's revision when the cell was planned; when it was redone since and pins
    another, the job exits with TEMPORARY_FAILURE before training (the next run plans the cell
    at the new revision)."""
    moved = listing and base_moved(listing, model_id, revision)
    if moved:
        print(moved, file=sys.stderr)
        sys.exit(TEMPORARY_FAILURE)
    record = finetune_cell(
        arch, model_id, role, model_dir, revision, task_dir, settings, seed, output, threads,
        tokenized_cache,
    )  # fmt: skip
    print(f"{model_id} {record['task']} seed {seed}: {record['status']} score={record['score']}")
    return record


def finetune_cell(
    arch, model_id, role, model_dir, revision, task_dir, settings, seed, output, threads=1,
    tokenized_cache=None,
) -> dict:  # fmt: skip
    """role: "baseline" (the pretrained model) or "candidate". A failure is recorded in the cell
    and the run goes on (a failed baseline seed is also said on the job's error output; the
    tables use the seeds that finished, tables/aggregate.py). tokenized_cache: the folder of the
    tokenized cache (tasks/tokenized.py), or None."""
    started = time.perf_counter()
    device = setup_job(threads, settings.get("device") or default("device"))
    task = load_prepared(task_dir)
    hp = Hyperparameters.from_config(settings)
    if revision == "auto":  # a local base model: its content hash
        revision = content_revision(model_dir)
    record = {
        **_identity(arch, model_id, role, seed, revision, hp, task),
        **job_provenance(task, settings),
        **describe_device(device),
    }
    try:
        task.check_prepared()
        seed_everything(seed)
        tokenizer = load_tokenizer(model_dir)
        model = load_for_task(model_dir, task, device)
        check_tokenizer_fits(tokenizer, model, model_dir)
        encoded = timed_encoded_splits(
            tokenizer, task, hp.max_length, SPLITS, tokenized_cache, record
        )
        result = finetune(model, tokenizer, task, hp, seed, device, threads, encoded)
        record.update(status="ok", reason="", **result)
    except Exception as err:  # noqa: BLE001 - a cell's failure is its own, not the run's
        record_failure(record, err)
        if role == "baseline":
            print(f"baseline {model_id} ({arch}), task {task.name}, seed {seed} failed: {err}",
                  file=sys.stderr)  # fmt: skip
    return finish(record, started, output)


def _identity(arch, model_id, role, seed, revision, hp: Hyperparameters, task) -> dict:
    return {
        "arch": arch,
        "model_id": model_id,
        "role": role,
        "seed": seed,
        "model_revision": revision,
        "hyperparameters": hp.as_dict(),
        "n_eval_expected": task.meta.get("sizes", {}).get("eval"),
    }


def write_cell_died(output, reason: str, options: dict) -> str:
    """The failure record of a cell whose process died (runtime/guard.py): the fields of its own
    failure record, less the device it never reported. options: the job's command line options,
    by name."""
    settings = json.loads(options["settings"])
    task = load_prepared(options["task_dir"])
    record = {
        "model_id": options["model_id"],
        "model_revision": options["revision"],
        **job_provenance(task, settings),
    }
    record.update(
        arch=options["arch"],
        role=options["role"],
        seed=int(options["seed"]),
        hyperparameters=Hyperparameters.from_config(settings).as_dict(),
        n_eval_expected=task.meta.get("sizes", {}).get("eval"),
    )
    return write_died(output, record, reason)
