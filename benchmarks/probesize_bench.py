"""probe.train_size: how much of the probe's training split does the ranking need? A zoo of tiny
BERTs (the demo base and intermediates briefly finetuned on demo tasks, each with noise added at
several scales so their scores spread) probed on the whole training split of an NLI-like demo
task and on stratified subsamples (model_recycling/tasks/subsample.py). Per fraction: Spearman
of the subsample's ranking against the full one, whether the top-5 changes, seconds per probe.
Runs alone as `python -m benchmarks.probesize_bench` (or BENCH_STAGES=probesize make bench)."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.timing import figure
from model_recycling.metrics import spearman
from model_recycling.tasks.subsample import with_train_size

CPU = torch.device("cpu")
FRACTIONS = (0.1, 0.25, 0.5)
TOP_K = 5
SOURCES = ("demo_topic", "demo_sentiment", "demo_stance")  # intermediates besides the base
NOISE_SCALES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)  # of each weight tensor's own std
MODEL = {
    "model_type": "bert",
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 128,
    "max_position_embeddings": 64,
}
TASKS = {
    "demo_nli": {"generator": "nli", "train": 3000, "test": 500},
    "demo_topic": {"generator": "topic", "train": 400, "test": 50},
    "demo_sentiment": {"generator": "sentiment", "train": 400, "test": 50},
    "demo_stance": {"generator": "stance", "train": 400, "test": 50},
}
PROBE = {"max_length": 64, "batch_size": 256, "pooling": "mean", "l2": 1e-3, "max_iter": 200}
FINETUNE = {"epochs": 2, "learning_rate": 1e-3, "batch_size": 16, "max_length": 64}


def build(root: Path) -> tuple[dict, object]:
    """Source folders (base + intermediates) and the prepared probe task."""
    from model_recycling.demo import zoo as demo_zoo
    from model_recycling.tasks.prepare import load_prepared, prepare_task
    from model_recycling.tasks.registry import load_registry

    demo_zoo.write_tasks(root / "tasks", TASKS, seed=0)
    demo_zoo.build_base(root / "base", root / "tasks/lexicon.json", MODEL, 200, seed=0)
    repo = Path(__file__).resolve().parents[1]
    text = (repo / "resources/tasks/demo.yaml").read_text()
    (root / "registry.yaml").write_text(text.replace("results/demo_zoo/tasks", str(root / "tasks")))
    registry = load_registry(root / "registry.yaml")
    holdout = {"large_threshold": 10000, "large_size": 1000, "small_fraction": 0.1}
    for name in TASKS:
        prepare_task(registry[name], root / "prepared" / name, holdout)
    sources = {"base": root / "base"}
    for seed, name in enumerate(SOURCES):
        out = root / name
        demo_zoo.build_intermediate(root / "base", root / "prepared" / name, FINETUNE, seed, out)
        sources[name] = out
    return sources, load_prepared(root / "prepared/demo_nli")


def noisy(encoder, scale: float, seed: int):
    """The encoder with Gaussian noise of `scale` x each tensor's std added (in place)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in encoder.parameters():
            if param.numel() > 1:
                param.add_(torch.randn(param.shape, generator=generator) * param.std() * scale)
    return encoder


def probe_zoo(sources: dict, task) -> dict:
    """{candidate: {size label: (score, seconds)}}; sizes: 'full' and each fraction."""
    from model_recycling.models.loading import load_encoder, load_tokenizer

    n = len(task.train)
    tasks = {"full": task, **{f: with_train_size(task, round(f * n)) for f in FRACTIONS}}
    results = {}
    for s_index, (name, folder) in enumerate(sources.items()):
        tokenizer = load_tokenizer(folder)
        for n_index, scale in enumerate(NOISE_SCALES):
            encoder = noisy(load_encoder(folder, CPU), scale, seed=100 * s_index + n_index)
            results[f"{name}+noise{scale}"] = {
                str(label): timed_probe(encoder, tokenizer, sub) for label, sub in tasks.items()
            }
    return results


def timed_probe(encoder, tokenizer, task) -> dict:
    from model_recycling.probing.probe import run_probe

    started = time.perf_counter()
    out = run_probe(encoder, tokenizer, task, PROBE, CPU)
    seconds = time.perf_counter() - started
    return {"score": out["score"], "seconds": seconds, "n_train": out["n_train"]}


def summarise(results: dict, n_train: int, n_eval: int) -> dict:
    names = sorted(results)
    full = [results[m]["full"]["score"] for m in names]
    top = set(sorted(names, key=lambda m: -results[m]["full"]["score"])[:TOP_K])
    rows = {}
    for label in ["full", *map(str, FRACTIONS)]:
        scores = [results[m][label]["score"] for m in names]
        sub_top = set(sorted(names, key=lambda m: -results[m][label]["score"])[:TOP_K])
        rows[label] = {
            "n_train": results[names[0]][label]["n_train"],
            "spearman_vs_full": spearman(scores, full)["score"],
            "top5_overlap": len(top & sub_top),
            "top5_changed": top != sub_top,
            "seconds_per_probe": figure([results[m][label]["seconds"] for m in names], "s"),
        }
    spread = (min(full), max(full))
    return {"candidates": len(names), "n_train": n_train, "n_eval": n_eval,
            "full_score_range": spread, "by_size": rows, "per_candidate": results}  # fmt: skip


def measure() -> dict:
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        sources, task = build(Path(tmp))
        return summarise(probe_zoo(sources, task), len(task.train), len(task.eval))


def table_rows(p: dict) -> list:
    full = p["by_size"]["full"]["seconds_per_probe"]["median"]
    rows = []
    for label, r in p["by_size"].items():
        if label == "full":
            continue
        secs = r["seconds_per_probe"]["median"]
        rows.append((
            f"probe.train_size {float(label):.0%} ({r['n_train']} of {p['n_train']} rows): "
            "Spearman vs the whole split",
            f"{r['spearman_vs_full']:.3f}",
            f"top-{TOP_K} {'changed' if r['top5_changed'] else 'same'} ({r['top5_overlap']} of "
            f"{TOP_K} kept); {secs:.2f} s per probe vs {full:.2f} s whole ({secs / full:.2f}x); "
            f"{p['candidates']} tiny BERTs, scores {p['full_score_range'][0]:.3f}-"
            f"{p['full_score_range'][1]:.3f}, eval {p['n_eval']} rows",
        ))  # fmt: skip
    return rows


if __name__ == "__main__":
    figures = measure()
    print(json.dumps({k: v for k, v in figures.items() if k != "per_candidate"}, indent=2))
    for row in table_rows(figures):
        print(" | ".join(row))
