"""Item 3's cell_overhead_s: a real `python scripts/finetune.py` run of the demo's tiny BERT on a
demo task, its wall time split into the overhead (process start, imports, model load, data,
tokenizing: everything outside `train.finetune`), evaluation (inside it, outside the steps), and
training (the record's training_seconds: the steps only). And the tokenized cache
(model_recycling/tasks/tokenized.py) on a realistic split: tokenizing cold (encode, then store) and
warm (read, checked) against no cache, per probe or cell."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from benchmarks.timing import figure, interleaved, timed

REPO = Path(__file__).resolve().parents[1]
DEV_HOLDOUT = {"large_threshold": 10000, "large_size": 1000, "small_fraction": 0.1}
TASK = "demo_topic"
# A demo task of the size its benchmark figures were measured at.
TASK_SIZES = {"generator": "topic", "train": 250, "test": 400}


def build_cell_inputs(root: Path) -> tuple[Path, Path, dict]:
    """The demo's tiny BERT (briefly pretrained) and its demo_topic, prepared as the demo does."""
    from model_recycling.demo import zoo as demo_zoo
    from model_recycling.tasks.prepare import prepare_task
    from model_recycling.tasks.registry import load_registry

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    zoo = config["demo_zoo"]
    demo_zoo.write_tasks(root / "tasks", {TASK: TASK_SIZES}, seed=0)
    base_cfg = zoo["bases"]["tiny-bert-base"]
    demo_zoo.build_base(root / "base", root / "tasks/lexicon.json", base_cfg, 20, seed=0)
    registry = (REPO / "resources/tasks/demo.yaml").read_text()
    (root / "registry.yaml").write_text(
        registry.replace("results/demo_zoo/tasks", str(root / "tasks"))
    )
    prepare_task(load_registry(root / "registry.yaml")[TASK], root / TASK, DEV_HOLDOUT)
    return root / "base", root / TASK, {**config["finetune"], "device": "cpu"}


def one_cell(root: Path, model_dir: Path, task_dir: Path, settings: dict):
    out = root / "cell.json"
    command = [
        sys.executable, "scripts/finetune.py", "--arch", "bert", "--model-id", "tiny-bert-base",
        "--role", "baseline", "--model-dir", str(model_dir), "--revision", "auto",
        "--task-dir", str(task_dir), "--settings", json.dumps(settings), "--seed", "0",
        "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}

    def run() -> tuple[float, float, float]:
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - started
        record = json.loads(out.read_text())
        return wall, record["train_seconds"], record["training_seconds"], record["tokenize_seconds"]

    return run


def measure(root: Path, repetitions: int) -> dict:
    cell = one_cell(root, *build_cell_inputs(root))
    imports = [sys.executable, "-c", "import model_recycling.probing.job"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = interleaved(
        {
            "cell": cell,
            "imports": lambda: _wall(lambda: subprocess.run(imports, env=env, check=True)),
        },
        repetitions,
    )
    walls, inside, training, tokenize = (list(col) for col in zip(*runs["cell"], strict=True))
    return {
        "cell_wall_s": figure(walls, "s"),
        "cell_overhead_s": figure([w - f for w, f in zip(walls, inside, strict=True)], "s"),
        "cell_evaluation_s": figure([f - t for f, t in zip(inside, training, strict=True)], "s"),
        "cell_tokenize_s": figure(tokenize, "s"),
        "cell_training_s": figure(training, "s"),
        "process_start_and_imports_s": figure(runs["imports"], "s"),
    }


def _wall(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure_tokenize(root: Path, n_examples: int, repetitions: int) -> dict:
    """One split of `n_examples` of the benchmark's length distribution, the benchmark's
    tokenizer, max_length 256: encoded with no cache, cold (encoded and stored in an empty
    cache) and warm (read back from it: sha256, load, spot check)."""
    from benchmarks import synthetic
    from model_recycling.tasks.prepare import TaskData
    from model_recycling.tasks.tokenized import encode, encoded_splits

    tokenizer = synthetic.build_tokenizer()
    meta = {"task": "bench", "fingerprint": "bench", "task_type": "classification"}
    task = TaskData(meta=meta, train=synthetic.examples(n_examples, 3), dev=[], eval=[])
    quiet = {"log": lambda _: None}
    caches = iter(range(repetitions))

    def cold() -> float:
        return timed(
            lambda: encoded_splits(
                tokenizer, task, 256, ["train"], root / f"cold{next(caches)}", **quiet
            )
        )

    def warm() -> float:
        return timed(
            lambda: encoded_splits(tokenizer, task, 256, ["train"], root / "cold0", **quiet)
        )

    runs = interleaved(
        {
            "no_cache": lambda: timed(lambda: encode(tokenizer, task.train, 256)),
            "cold": cold,
            "warm": warm,
        },
        repetitions,
    )
    same = encoded_splits(tokenizer, task, 256, ["train"], root / "cold0", **quiet)["train"]
    if same != encode(tokenizer, task.train, 256):
        raise AssertionError("the tokenized cache read back other ids")
    stored = sum(p.stat().st_size for p in (root / "cold0").rglob("*") if p.is_file())
    no_cache, warm_s = statistics.median(runs["no_cache"]), statistics.median(runs["warm"])
    return {
        "examples": n_examples,
        "tokenize_no_cache_s": figure(runs["no_cache"], "s"),
        "tokenize_cold_s": figure(runs["cold"], "s"),
        "tokenize_warm_s": figure(runs["warm"], "s"),
        "saving_per_job_s": no_cache - warm_s,
        "warm_over_no_cache": warm_s / no_cache,
        "cache_bytes_per_example": stored / n_examples,
    }
