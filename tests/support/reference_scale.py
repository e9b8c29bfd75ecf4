"""One architecture's results at the reference site's scale, generated: 1,000+ fully tested
candidates over the 36 target tasks, with what went wrong in the reference's data planted in
known places (cells with impossible scores, probes at exactly 0 on a 3-class task, failed probes,
exclusions). Every record has the shape the workflow writes; the tables and pages are made from
it by the workflow's own entry points (select_job, aggregate_job, render_site).

Scores are seeded: a hidden quality per model decides its probe score (plus noise) and its task
scores (plus noise), so the linear probe really does rank well and logme only loosely.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model_recycling.io import atomic_write_json
from model_recycling.listing.candidates import Candidate, write_candidates
from model_recycling.naming import safe_name

N_TASKS = 36
SPEARMAN_TASKS = 2  # the STS-like tasks of the protocol: a Spearman correlation, not a count
TASK_EVAL = 1000  # evaluation examples per target task
PROBE_EVAL = 9832  # MNLI's matched validation split, as the probe's evaluation
BASE = "org/base-model"
BASE_SEEDS = 5
KINDS = {  # how many candidates of each kind
    "tested": 1050,  # probed well, selected, every cell valid
    "cells_invalid": 40,  # selected, some cells refused (score above 1, a shifted count)
    "cells_failed": 5,  # selected, a cell failed (its reason recorded)
    "probe_zero": 30,  # probe accuracy exactly 0 on 3 classes: implausible, never selected
    "probe_zero_tested": 3,  # the same, but finetuned by an earlier run: its cells still rank
    "not_selected": 200,  # probed, below the top-k
    "probe_failed": 10,
    "excluded": 20,  # refused at listing
}


@dataclass
class ReferenceScale:
    arch_dir: Path
    candidates_tsv: Path
    probe_meta: Path
    task_metas: list
    tasks: list
    models: dict = field(default_factory=dict)  # kind -> model ids
    top_k: int = 0


def task_names() -> list:
    return [f"task{i:02d}" for i in range(N_TASKS)]


def task_meta(task: str, index: int) -> dict:
    metric = "spearman" if index < SPEARMAN_TASKS else "accuracy"
    return {
        "task": task, "metric": metric, "fingerprint": f"fp-{task}", "num_labels": 3,
        "sizes": {"train": 5000, "dev": 500, "eval": TASK_EVAL},
        "spec": {"dataset": f"org/{task}", "config": None, "eval_split": "test"},
    }  # fmt: skip


def _cell(model_id, task, meta, seed, score) -> dict:
    record = {
        "model_id": model_id, "role": "baseline" if model_id == BASE else "candidate",
        "task": task, "seed": seed, "status": "ok", "reason": "", "metric": meta["metric"],
        "n_eval": TASK_EVAL, "model_revision": f"rev-{safe_name(model_id)}",
        "task_fingerprint": meta["fingerprint"],
    }  # fmt: skip
    if meta["metric"] == "accuracy":
        n_correct = int(round(float(np.clip(score, 0, 1)) * TASK_EVAL))
        return {**record, "score": n_correct / TASK_EVAL, "n_correct": n_correct}
    return {**record, "score": float(np.clip(score, -1, 1))}


def _write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def _cells(arch_dir, model_id, metas, scores, seeds=(0,)) -> list:
    paths = []
    for (task, meta), score in zip(metas.items(), scores, strict=True):
        for seed in seeds:
            path = arch_dir / "cells" / safe_name(model_id) / task / f"seed{seed}.json"
            _write(path, _cell(model_id, task, meta, seed, score))
            paths.append(path)
    return paths


def _probe(model_id, n_correct, logme, status="ok") -> dict:
    record = {"model_id": model_id, "model_revision": f"rev-{safe_name(model_id)}"}
    if status != "ok":
        return {
            **record,
            "status": "failed",
            "reason": "OSError: no tokenizer files",
            "score": None,
        }
    score = n_correct / PROBE_EVAL
    return {
        **record, "status": "ok", "reason": "", "task": "mnli", "task_fingerprint": "fp-mnli",
        "n_eval": PROBE_EVAL, "n_correct": n_correct, "score": score,
        "proxies": {"linear_probe": score, "logme": logme, "hscore": None, "knn": None},
    }  # fmt: skip


def generate(root: Path, seed: int = 0) -> ReferenceScale:
    rng = np.random.default_rng(seed)
    root = Path(root)
    arch_dir = root / "architectures" / "bert"
    tasks = task_names()
    metas = {task: task_meta(task, i) for i, task in enumerate(tasks)}
    meta_paths = []
    for task, meta in metas.items():
        meta_paths.append(root / "tasks" / task / "meta.json")
        atomic_write_json(meta_paths[-1], meta)
    probe_meta = root / "tasks" / "mnli" / "meta.json"
    atomic_write_json(probe_meta, {
        "task": "mnli", "metric": "accuracy", "fingerprint": "fp-mnli", "num_labels": 3,
        "sizes": {"train": 3000, "dev": 300, "eval": PROBE_EVAL},
    })  # fmt: skip

    base_scores = rng.uniform(0.55, 0.85, N_TASKS)
    _cells(arch_dir, BASE, metas, base_scores, seeds=range(BASE_SEEDS))
    models = {kind: [f"org/{kind}-{i:04d}" for i in range(n)] for kind, n in KINDS.items()}
    for kind, ids in models.items():
        for model_id in ids:
            _model(arch_dir, kind, model_id, metas, base_scores, rng)
    listed = [m for kind, ids in models.items() if kind != "excluded" for m in ids]
    candidates = [
        Candidate(m, f"rev-{safe_name(m)}", "hub", downloads=int(rng.integers(0, 10_000)))
        for m in listed
    ] + [Candidate(m, "", "hub", "excluded", "trust_remote_code") for m in models["excluded"]]
    write_candidates(arch_dir / "candidates.tsv", candidates)
    top_k = sum(len(models[k]) for k in ("tested", "cells_invalid", "cells_failed"))
    return ReferenceScale(
        arch_dir, arch_dir / "candidates.tsv", probe_meta, meta_paths, tasks, models, top_k
    )


def _model(arch_dir, kind, model_id, metas, base_scores, rng) -> None:
    """One candidate's probe record and cells, as its kind says."""
    quality = rng.normal(0, 0.03)  # its gain over the base, on average
    probe_dir = arch_dir / "probe" / f"{safe_name(model_id)}.json"
    if kind == "probe_failed":
        _write(probe_dir, _probe(model_id, 0, None, status="failed"))
        return
    if kind == "excluded":
        return
    if kind in ("probe_zero", "probe_zero_tested"):
        n_correct = 0
    elif kind == "not_selected":  # below every selected one, above chance
        n_correct = int(rng.integers(3600, 4900))
    else:  # selected: the probe follows the quality, with noise
        n_correct = int(np.clip(6500 + quality * 30_000 + rng.normal(0, 300), 5000, 9000))
    _write(probe_dir, _probe(model_id, n_correct, float(quality * 50 + rng.normal(0, 2))))
    if kind in ("not_selected", "probe_zero"):
        return
    scores = base_scores + quality + rng.normal(0, 0.01, N_TASKS)
    paths = _cells(arch_dir, model_id, metas, scores)
    if kind == "cells_invalid":  # 1 to 10 impossible cells
        for path in rng.choice(paths[SPEARMAN_TASKS:], int(rng.integers(1, 11)), replace=False):
            record = json.loads(path.read_text())
            record.update(score=record["score"] + 1.0, n_correct=record["n_correct"] + TASK_EVAL)
            path.write_text(json.dumps(record))
    if kind == "cells_failed":
        record = json.loads(paths[-1].read_text())
        record.update(status="failed", reason="CUDA out of memory", score=None, n_correct=None)
        paths[-1].write_text(json.dumps(record))
