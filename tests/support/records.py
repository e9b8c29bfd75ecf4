"""Record files the tests write by hand: cells and probes whose every number is known in advance,
selections, and copies of saved models with edited weights or config."""

import json
import shutil

from safetensors.torch import load_file, save_file

from model_recycling.naming import safe_name
from model_recycling.probing.selection import COLUMNS as SELECTION_COLUMNS
from model_recycling.settings import with_defaults
from model_recycling.tables.aggregate import aggregate_architecture

# What a probe job is told: the probe section (the schema's defaults, small sizes) and the device.
PROBE_SETTINGS = with_defaults(
    {"pooling": "mean", "max_length": 32, "batch_size": 64, "l2": 0.001, "device": "cpu"}, "probe"
)

TASKS = ["t_acc", "t_reg"]
FINGERPRINTS = {"t_acc": "fa", "t_reg": "fr"}
METAS = {
    t: {"task": t, "metric": m, "sizes": {"eval": 100}, "fingerprint": FINGERPRINTS[t]}
    for t, m in (("t_acc", "accuracy"), ("t_reg", "spearman"))
}
PROBE_META = {"task": "p", "metric": "accuracy", "sizes": {"eval": 10}, "fingerprint": "fp"}
MODELS = ["base", "org/good", "bad", "half", "stale", "failed"]
REVISIONS = {m: "rev-" + m for m in MODELS}


def aggregate(arch_dir, out, revisions=REVISIONS, base_id="base", min_seeds=2, metas=METAS):
    return aggregate_architecture(
        arch_dir, base_id, TASKS, [0], [0, 1], metas, PROBE_META, revisions, out,
        baseline_min_seeds=min_seeds,
    )  # fmt: skip


def write_cell(arch_dir, model_id, task, seed, score, status="ok", fingerprint=None):
    path = arch_dir / "cells" / safe_name(model_id) / task / f"seed{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    cell = {
        "model_id": model_id,
        "role": "baseline" if model_id == "base" else "candidate",
        "task": task,
        "seed": seed,
        "status": status,
        "reason": "boom" if status == "failed" else "",
        "score": score,
        "metric": "accuracy" if task == "t_acc" else "spearman",
        "n_eval": 100,
        "n_correct": round(score * 100) if task == "t_acc" and score is not None else None,
        "model_revision": "rev-" + model_id,
        "task_fingerprint": fingerprint or FINGERPRINTS[task],
    }
    path.write_text(json.dumps(cell))


def write_selection_tsv(path, rows):
    header = [*SELECTION_COLUMNS, "calibration"]
    lines = ["\t".join(header)]
    for model_id, selected, calibration in rows:
        values = {"model_id": model_id, "selected": selected, "calibration": calibration,
                  "status": "ok", "rank": "1", "probe_score": "0.5"}  # fmt: skip
        lines.append("\t".join(values.get(c, "") for c in header))
    path.write_text("\n".join(lines) + "\n")


def copy_model(source, target, edit_weights=None, edit_config=None):
    """A copy of a saved model folder, its tensors and config edited in place."""
    shutil.copytree(source, target)
    if edit_weights:
        weights = load_file(target / "model.safetensors")
        edit_weights(weights)
        save_file(weights, target / "model.safetensors", metadata={"format": "pt"})
    if edit_config:
        config = json.loads((target / "config.json").read_text())
        edit_config(config)
        (target / "config.json").write_text(json.dumps(config))
    return target


def write_arch_dir(tmp_path):
    """An architecture's cells and probes as a run lays them out: a base with two seeds, a
    good and a bad model fully tested, one half tested, one stale, one failed."""
    arch = tmp_path / "results" / "architectures" / "arch"  # as a run lays it out
    for seed, (acc, reg) in enumerate([(0.50, 0.10), (0.60, 0.30)]):
        write_cell(arch, "base", "t_acc", seed, acc)
        write_cell(arch, "base", "t_reg", seed, reg)
    write_cell(arch, "org/good", "t_acc", 0, 0.70)
    write_cell(arch, "org/good", "t_reg", 0, 0.40)
    write_cell(arch, "bad", "t_acc", 0, 0.40)
    write_cell(arch, "bad", "t_reg", 0, 0.00)
    write_cell(arch, "half", "t_acc", 0, 0.99)  # no t_reg cell: not fully tested
    write_cell(arch, "stale", "t_acc", 0, 0.99, fingerprint="old")
    write_cell(arch, "stale", "t_reg", 0, 0.99)
    write_cell(arch, "failed", "t_acc", 0, None, status="failed")
    write_cell(arch, "failed", "t_reg", 0, 0.5)
    (arch / "probe").mkdir()
    for model, score in [("org/good", 0.8), ("bad", 0.6)]:
        probe = {
            "model_id": model, "model_revision": "rev-" + model, "status": "ok", "score": score,
            "n_correct": round(score * 10), "n_eval": 10, "task_fingerprint": "fp",
        }  # fmt: skip
        (arch / "probe" / f"{safe_name(model)}.json").write_text(json.dumps(probe))
    return arch
