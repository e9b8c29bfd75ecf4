"""A run of configs/hub.yaml as the workflow leaves it after listing and probing, written
without running anything: recorded listings of n candidates per architecture, their model
folders, prepared task files, probe records and selected.tsv, with mtimes in stage order so
that Snakemake sees every checkpoint satisfied and plans the finetuning cells (baseline and
top-k) that remain. Used by the planning benchmark (dag_bench.py) and the cost tests."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import yaml

from model_recycling.fetching.disk import WEIGHTS_DELETED
from model_recycling.listing.candidates import BASE_ITSELF, Candidate, write_candidates
from model_recycling.naming import safe_name
from model_recycling.planning import plan
from model_recycling.probing.selection import select_top_k, write_selection
from model_recycling.settings import fill_defaults
from tests.support.common import REPO
from tests.support.workflow import copy_workflow as copy_workflow_files

TASK_FILES = ["train.jsonl", "dev.jsonl", "eval.jsonl", "meta.json"]


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def copy_workflow(dest: Path, config: dict) -> Path:
    """The workflow files and `config` as configs/run.yaml; results/ starts empty."""
    copy_workflow_files(dest)
    (dest / "configs").mkdir(exist_ok=True)
    (dest / "configs/run.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dest / "configs/run.yaml"


def hub_config() -> dict:
    """configs/hub.yaml with the schema's defaults filled in, as the workflow reads it, writing
    its results into results/ (where the recorded runs below lie)."""
    config = fill_defaults(yaml.safe_load((REPO / "configs/hub.yaml").read_text()))
    return {**config, "results_dir": "results"}


def candidate_ids(arch: str, n: int) -> list:
    prefix = arch.replace(".", "-")
    return [f"org{i % 97}/{prefix}-ft{i}" for i in range(n)]


def write_listing(workdir: Path, arch: str, base_id: str, n: int) -> list:
    """candidates.tsv as a Hub listing writes it: n kept, one excluded, the base's row."""
    rows = [
        Candidate(m, sha(m), "hub", num_parameters=110_000_000 + i)
        for i, m in enumerate(candidate_ids(arch, n))
    ]
    rows.append(Candidate(f"org/{arch}-big", sha("big"), "hub", "excluded", "size: 2x the base"))
    rows.append(Candidate(base_id, sha(base_id), "hub", "excluded", BASE_ITSELF))
    write_candidates(workdir / f"results/architectures/{arch}/candidates.tsv", rows)
    return rows


def write_task(workdir: Path, task: str, sizes: dict) -> None:
    folder = workdir / "results/tasks" / task
    folder.mkdir(parents=True, exist_ok=True)
    for name in TASK_FILES[:3]:
        (folder / name).write_text("")
    meta = {"name": task, "fingerprint": sha(task), "sizes": sizes}
    (folder / "meta.json").write_text(json.dumps(meta))


def probe_record(model_id: str, revision: str, score: float, wall_seconds: float) -> dict:
    return {
        "model_id": model_id,
        "model_revision": revision,
        "status": "ok",
        "score": score,
        "proxies": {"linear_probe": score},
        "wall_seconds": wall_seconds,
    }


def delete_weights_of(folder: Path) -> None:
    """What the probe leaves: the weights gone, the marker saying so (disk.py)."""
    (folder / WEIGHTS_DELETED).write_text(json.dumps({"deleted": {}, "bytes": 0}))


def _touch_tree(root: Path, when: float) -> None:
    for path in [root, *root.rglob("*")]:
        os.utime(path, (when, when), follow_symlinks=False)


def write_recorded_run(workdir: Path, config: dict, n: int, probed=True) -> dict:
    """Everything up to selection for `config` (a Hub config) with n candidates per
    architecture (probed=False: up to the downloads). Returns {arch: [kept model ids]}."""
    kept = {}
    downloads = config.get("downloads", {})
    # fetch: probe leaves no candidate folder (the probe deletes its scratch folder); host and
    # keep_unselected leave each download's folder, without its weights unless kept.
    host = downloads.get("fetch", "probe") == "host" or downloads.get("keep_unselected")
    for task in {config["probe"]["task"], *config["targets"]}:
        write_task(workdir, task, {"train": 1000, "dev": 100, "eval": 1000})
    for arch, settings in config["architectures"].items():
        base_id = settings["base_model"]["id"]
        rows = write_listing(workdir, arch, base_id, n)
        kept[arch] = [r.model_id for r in rows if r.status == "ok"]
        for row in rows:
            if (row.status == "ok" and host) or row.model_id == base_id:
                folder = workdir / "results/models" / safe_name(row.model_id) / row.revision
                folder.mkdir(parents=True, exist_ok=True)
                (folder / ".snakemake_timestamp").touch()  # as Snakemake leaves a directory()
    results = workdir / "results"
    _touch_tree(results, 1_700_000_000)  # listings, tasks and downloads first
    for arch in config["architectures"] if probed else []:
        probes = []
        for i, model_id in enumerate(kept[arch]):
            record = probe_record(model_id, sha(model_id), (i * 7919 % 1000) / 1000, 60.0)
            path = results / f"architectures/{arch}/probe/{safe_name(model_id)}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(record))
            os.utime(path, (1_700_000_100, 1_700_000_100))
            probes.append(record)
            if host and not downloads.get("keep_unselected"):
                delete_weights_of(results / "models" / safe_name(model_id) / sha(model_id))
        selection = results / f"architectures/{arch}/selected.tsv"
        rows = select_top_k(
            probes,
            plan.top_k(config, arch),
            rank_by=config["probe"]["rank_by"],
            calibration_k=plan.calibration_k(config, arch),
        )
        write_selection(selection, rows)
        os.utime(selection, (1_700_000_200, 1_700_000_200))
    return kept


def small_hub_config() -> dict:
    """configs/hub.yaml cut down: two architectures, two targets, two baseline seeds."""
    config = hub_config()
    config["architectures"] = dict(list(config["architectures"].items())[:2])
    config.update(targets=["rte", "cb"], baseline_seeds=[0, 1], top_k=2, calibration_k=1)
    return config
