"""The probe job: probe one candidate and write its record. A broken candidate is recorded as
failed with its reason; the run goes on."""

from __future__ import annotations

import json
import time

from model_recycling.fetching.download import check_download
from model_recycling.fetching.lifecycle import WeightsPlan, candidate_weights
from model_recycling.io import atomic_write_json
from model_recycling.models.devices import describe_device, seed_everything, setup_job
from model_recycling.models.loading import check_tokenizer_fits, load_encoder, load_tokenizer
from model_recycling.probing.probe import PROBE_SPLITS, run_probe
from model_recycling.records import finish, job_provenance, record_failure, write_died
from model_recycling.settings import default, with_defaults
from model_recycling.tasks.prepare import load_prepared
from model_recycling.tasks.subsample import with_train_size
from model_recycling.tasks.tokenized import timed_encoded_splits


def probe_job(
    model_id, model_dir, revision, task_dir, settings, output, threads=1, tokenized_cache=None,
    weights: WeightsPlan | None = None,
) -> dict:  # fmt: skip
    """Probe a candidate with its weights fetched, restored or deleted as `weights` says
    (fetching/lifecycle.py)."""
    weights = weights or WeightsPlan()
    with candidate_weights(model_id, revision, model_dir, weights):
        record = probe_candidate(
            model_id, model_dir, revision, task_dir, settings, output, threads, tokenized_cache
        )
        if weights.fetch and str(model_dir) in record.get("reason", ""):
            # the scratch folder is removed on the way out: name the download instead
            shown = f"{model_id}@{revision} (downloaded for this probe, since removed)"
            record["reason"] = record["reason"].replace(str(model_dir), shown)
            atomic_write_json(output, record)
        print(f"{model_id}: {record['status']} score={record['score']} {record.get('reason', '')}")
    return record


def probe_candidate(
    model_id, model_dir, revision, task_dir, settings, output, threads=1, tokenized_cache=None
) -> dict:
    """tokenized_cache: the folder of the tokenized cache (tasks/tokenized.py), or None."""
    started = time.perf_counter()
    device = setup_job(threads, settings.get("device") or default("device"))
    # probe.train_size: the training split subsampled (stratified, seeded); n_train says how many
    task = with_train_size(load_prepared(task_dir), settings.get("train_size"))
    record = {"model_id": model_id, "model_revision": revision, **job_provenance(task, settings)}
    record.update(describe_device(device))
    try:
        task.check_prepared()
        check_download(model_dir)
        seed_everything(0)
        tokenizer = load_tokenizer(model_dir)
        encoder = load_encoder(model_dir, device)
        check_tokenizer_fits(tokenizer, encoder, model_dir)
        probe = with_defaults(settings, "probe")  # as told, completed from the schema
        encoded = timed_encoded_splits(
            tokenizer, task, probe["max_length"], PROBE_SPLITS, tokenized_cache, record
        )
        result = run_probe(encoder, tokenizer, task, probe, device, encoded)
        record.update(status="ok", reason="", **result)
    except Exception as err:  # noqa: BLE001 - any failure of a candidate is its own, not the run's
        record_failure(record, err)
    return finish(record, started, output)


def write_probe_died(output, reason: str, options: dict) -> str:
    """The failure record of a probe whose process died (runtime/guard.py). options: the job's
    command line options, by name."""
    settings = json.loads(options["settings"])
    task = load_prepared(options["task_dir"])
    record = {
        "model_id": options["model_id"],
        "model_revision": options["revision"],
        **job_provenance(task, settings),
    }
    return write_died(output, record, reason)
