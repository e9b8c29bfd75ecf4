"""Would adaptive baseline seeds and racing have given the full protocol's answer, and for how
many cells? Replays both on per-model per-task scores that a full protocol produced: this
project's tables (cells.csv), the reference site's published CSVs, or synthetic data with the
reference's statistics.

A replay draws, for each of N task orders: the baseline's seeds in a seeded random order (the
adaptive rule stops when it says so; the full protocol takes every seed the data holds), the
racing order of the tasks (racing.task_order with seed `seed + i`), and, for a top-5 selection
without a probe, which 5 models. Every candidate's score on a task is the one the full protocol
measured, so the only thing that differs from the full protocol is which cells ran. Scores are
points (x100).

Racing's ranking (racing.racing_ranking): the candidates that finished every task by their
average, then those stopped, the later stopped first. regret@k is the best full-protocol
average minus the best full-protocol average among racing's first k; top-1 agreement is the
share of orders where racing's first is the full protocol's best.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model_recycling.runtime.racing import (
    average_se,
    baseline_rule,
    baseline_seeds_needed,
    racing_decisions,
    racing_ranking,
    racing_rule,
    task_order,
    task_se,
)
from model_recycling.settings import SCHEMA, default
from model_recycling.tasks.registry import load_registry

# The published protocol's 36 target tasks: the default task registry's entries.
TASKS = sorted(load_registry([SCHEMA.parents[1] / path for path in default("task_registries")]))
# The small evaluation sets, where a seed moves accuracy by points (synthetic data's long tail).
SMALL_TASKS = ["cb", "copa", "wnli", "wsc", "poem_sentiment", "financial_phrasebank"]
# Seed std per task (points): the large tasks log-normal around a median, the small ones
# log-uniform over a range. "bert" gives a median near 0.7 and a tail to about 10 points, as
# the reference's BERT, RoBERTa and DeBERTa baselines; "t5" a median near 2.5 and a tail to 25,
# as its t5-base; "t5-v1_1" a median near 13, as its t5-v1_1-base.
PROFILES = {
    "bert": {"median": 0.6, "spread": 0.5, "small": (2.0, 10.0)},
    "t5": {"median": 2.2, "spread": 0.6, "small": (6.0, 25.0)},
    "t5-v1_1": {"median": 12.0, "spread": 0.6, "small": (15.0, 40.0)},
}
ALL = 10**9  # "every seed the data holds"
# The full protocol as rules: every baseline seed, and no candidate is ever stopped.
FULL_PROTOCOL = {
    "baseline_seeds": {"min": ALL, "max": ALL, "step": 1, "target_se": 1.0},
    "racing": {"z": math.inf},
}
KS = (1, 3, 5)


@dataclass
class Arch:
    """One architecture's full-protocol scores (points): the baseline's per task and seed (NaN:
    failed), each fully tested model's per task, and its probe score where known."""

    name: str
    tasks: list[str]
    baseline: dict[str, list[float]]
    models: dict[str, dict[str, float]]
    probe: dict[str, float] = field(default_factory=dict)


def _number(text) -> float:
    """A CSV field as a float; NaN when empty or not a number."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _complete(scores: dict[str, dict[str, float]], tasks) -> dict[str, dict[str, float]]:
    """The models with a finite score on every task (the fully tested ones)."""
    return {
        model: {t: mine[t] for t in tasks}
        for model, mine in scores.items()
        if all(math.isfinite(mine.get(t, math.nan)) for t in tasks)
    }


def read_tables(folder: Path | str) -> Arch:
    """This project's tables (results/architectures/<arch>/tables): the baseline's per-seed
    scores and each candidate's mean over its seeds from cells.csv (valid ok cells; scores are
    fractions there), the probe scores from probes.csv when it is there."""
    folder = Path(folder)
    baseline, cand = defaultdict(dict), defaultdict(lambda: defaultdict(list))
    for row in _rows(folder / "cells.csv"):
        ok = row.get("status") == "ok" and not row.get("invalid")
        score = 100 * _number(row.get("score")) if ok else math.nan
        if row.get("role") == "baseline":
            baseline[row["task"]][int(_number(row["seed"]))] = score
        elif math.isfinite(score):
            cand[row["model_id"]][row["task"]].append(score)
    tasks = sorted(baseline)
    means = {m: {t: float(np.mean(v)) for t, v in mine.items()} for m, mine in cand.items()}
    probe = {}
    if (folder / "probes.csv").exists():
        for row in _rows(folder / "probes.csv"):
            if row.get("status") == "ok" and not row.get("invalid"):
                probe[row["model_id"]] = _number(row.get("score"))
    name = folder.parent.name if folder.name == "tables" else folder.name
    seeds = {t: [baseline[t][s] for s in sorted(baseline[t])] for t in tasks}
    return Arch(name, tasks, seeds, _complete(means, tasks), probe)


def read_reference(models_csv: Path | str, baseline_csv: Path | str, name: str = "") -> Arch:
    """The reference site's published tables: one row per model (model_name, avg, mnli_lp and a
    column per task) and one row per baseline seed and task (dataset name, accuracy or
    spearmanr; rows of one dataset are its seeds, in the order of a `seed` column if there is
    one, else of the file). Tasks: the model table's columns the baseline has. Rows with a task
    score that is not a number in [-100, 100] (the published tables' corrupted rows) are left
    out."""
    baseline = _reference_baseline(_rows(baseline_csv))
    rows = _rows(models_csv)
    columns = list(rows[0]) if rows else []
    tasks = [c for c in columns if c in baseline and c not in ("model_name", "avg", "mnli_lp")]
    if not tasks:
        raise ValueError(f"{models_csv}: no task column matches a dataset of {baseline_csv}")
    scores, probe = {}, {}
    for row in rows:
        mine = {t: _number(row[t]) for t in tasks}
        if all(-100 <= v <= 100 for v in mine.values()):
            scores[row["model_name"]] = mine
            probe[row["model_name"]] = _number(row.get("mnli_lp"))
    probe = {m: p for m, p in probe.items() if math.isfinite(p)}
    models = _complete(scores, tasks)
    return Arch(
        name or Path(models_csv).stem, tasks, {t: baseline[t] for t in tasks}, models, probe
    )


def _reference_baseline(rows: list[dict]) -> dict[str, list[float]]:
    """{dataset: its seeds' scores}: accuracy, or spearmanr where accuracy is empty."""
    seed_column = next((c for c in (rows[0] if rows else {}) if c.strip().lower() == "seed"), None)
    found = defaultdict(list)
    for index, row in enumerate(rows):
        value = _number(row.get("accuracy"))
        if not math.isfinite(value):
            value = _number(row.get("spearmanr"))
        seed = _number(row[seed_column]) if seed_column else index
        found[row["dataset name"].strip()].append((seed, index, value))
    return {task: [v for _, _, v in sorted(seeds)] for task, seeds in found.items()}


def _seed_std(rng, profile: str) -> np.ndarray:
    """The baseline's seed std per task of TASKS (points), drawn from PROFILES[profile]."""
    shape = PROFILES[profile]
    std = np.exp(rng.normal(math.log(shape["median"]), shape["spread"], len(TASKS)))
    low, high = (math.log(x) for x in shape["small"])
    small = [TASKS.index(t) for t in SMALL_TASKS]
    std[small] = np.exp(rng.uniform(low, high, len(small)))
    return std


def _true_gains(rng, n_models: int) -> tuple[np.ndarray, np.ndarray]:
    """(each model's true mean gain, its true gain per task of TASKS), points. The mean gain is
    normal (sd 0.8) and, for one model in 20 (at least one), 1-2.5 points more: a few models
    clearly better, many close. Per task: the mean gain + an effect shared by all models + the
    model's own, both larger on the small tasks (sd 1 and 1 on the others; mean 3, sd 4 and
    sd 3 on the small ones), so that a good model's gains spread over the tasks by 3-5 points
    as the reference's best models' do, with their largest gains on copa, cb and the like."""
    gain = rng.normal(0, 0.8, n_models)
    top = rng.choice(n_models, max(1, round(n_models / 20)), replace=False)
    gain[top] += rng.uniform(1, 2.5, len(top))
    small = np.isin(TASKS, SMALL_TASKS)
    effect = np.where(small, rng.normal(3, 4, len(TASKS)), rng.normal(0, 1, len(TASKS)))
    own = rng.normal(0, 1, (n_models, len(TASKS))) * np.where(small, 3.0, 1.0)
    return gain, gain[:, None] + effect + own


def synthetic(n_models: int, profile: str = "bert", seed: int = 0, n_seeds: int = 20) -> Arch:
    """Synthetic full-protocol scores with the reference's statistics: 36 tasks at levels 45-92;
    the baseline's n_seeds seeds with the seed std of `profile` (_seed_std); each model's true
    gains (_true_gains) and one noisy seed per task with the same seed std; a probe that
    follows the true mean gain loosely (correlation about 0.6)."""
    rng = np.random.default_rng([seed, n_models, len(profile)])
    std = _seed_std(rng, profile)
    level = rng.uniform(45, 92, len(TASKS))
    seeds = np.clip(level + rng.normal(0, 1, (n_seeds, len(TASKS))) * std, 0, 100)
    baseline = {t: [float(x) for x in seeds[:, j]] for j, t in enumerate(TASKS)}
    gain, per_task = _true_gains(rng, n_models)
    noisy = level + per_task + rng.normal(0, 1, per_task.shape) * std
    scores = np.clip(noisy, 0, 100)
    names = [f"model-{i:03d}" for i in range(n_models)]
    models = {m: dict(zip(TASKS, map(float, scores[i]), strict=True)) for i, m in enumerate(names)}
    probe = {m: float(50 + 3 * gain[i] + rng.normal(0, 3)) for i, m in enumerate(names)}
    return Arch(f"synthetic-{profile}", list(TASKS), baseline, models, probe)


def _mean(values) -> float:
    values = [v for v in values if math.isfinite(v)]
    return sum(values) / len(values) if values else math.nan


def _draw_baseline(scores: list[float], rule: dict, rng) -> list[float]:
    """The scores the adaptive rule runs when the seeds come in a random order; its `min` and
    `max` capped at the seeds the data holds."""
    drawn = [scores[i] for i in rng.permutation(len(scores))]
    cap = min(rule["max"], len(drawn))
    needed = baseline_seeds_needed(drawn, {**rule, "min": min(rule["min"], cap), "max": cap})
    return drawn[: len(needed)]


def _reached_se(every: dict[str, list[float]], used: dict[str, list[float]]) -> float:
    """The standard error of the baseline's task average with the seeds used: each task's seed
    std from every seed the data holds (the used seeds' own std is too optimistic, since the
    rule stops when it happens to be small) over sqrt(seeds used)."""
    errors = []
    for task, scores in used.items():
        valid = [s for s in scores if math.isfinite(s)]
        std = task_se(every[task]) * math.sqrt(len([s for s in every[task] if math.isfinite(s)]))
        errors.append(std / math.sqrt(len(valid)) if valid else math.inf)
    return math.sqrt(sum(e * e for e in errors)) / len(errors)


def _selection(arch: Arch, top: int | None, rng) -> list[str]:
    """The candidates of one replay: all, or the `top` best by probe (every model has one and
    they differ), else `top` drawn at random."""
    models = sorted(arch.models)
    if top is None or top >= len(models):
        return models
    probes = [arch.probe.get(m, math.nan) for m in models]
    if all(math.isfinite(p) for p in probes) and len(set(probes)) > 1:
        return sorted(models, key=lambda m: (-arch.probe[m], m))[:top]
    return sorted(rng.choice(models, top, replace=False).tolist())


def replay_order(arch: Arch, index: int, rules: dict, seed: int = 0, top=None) -> dict:
    """One replay (the order `index`): cells run and what racing found, against the full
    protocol on the same candidates. rules: {"baseline_seeds": .., "racing": ..}."""
    rng = np.random.default_rng([seed, index])
    models = _selection(arch, top, rng)
    seeds_rule = baseline_rule(rules.get("baseline_seeds"))
    used = {t: _draw_baseline(arch.baseline[t], seeds_rule, rng) for t in arch.tasks}
    base = {t: _mean(v) for t, v in used.items()}
    gains = {m: {t: arch.models[m][t] - base[t] for t in arch.tasks} for m in models}
    order = task_order(arch.tasks, seed + index)
    decisions = racing_decisions(gains, order, racing_rule(rules.get("racing")))
    ranking = racing_ranking(decisions)
    avg = {m: _mean(arch.models[m].values()) for m in models}
    best = min(models, key=lambda m: (-avg[m], m))
    return {
        "baseline_cells": sum(len(v) for v in used.values()),
        "baseline_full": sum(len(v) for v in arch.baseline.values()),
        "candidate_cells": sum(row["tasks"] for row in decisions.values()),
        "candidate_full": len(models) * len(arch.tasks),
        "top1": float(ranking[0] == best),
        **{f"regret@{k}": avg[best] - max(avg[m] for m in ranking[:k]) for k in KS},
        "baseline_se": _reached_se(arch.baseline, used),
    }


def replay(arch: Arch, rules: dict | None = None, orders: int = 200, seed: int = 0, top=None):
    """The replays' figures over `orders` task orders: cells as fractions of the full
    protocol's (baseline, candidates, total), top-1 agreement, mean regret@k (and the largest
    regret@1), and the baseline SE of the task average, mean over orders."""
    runs = [replay_order(arch, i, rules or {}, seed, top) for i in range(orders)]
    total = [
        (r["baseline_cells"] + r["candidate_cells"]) / (r["baseline_full"] + r["candidate_full"])
        for r in runs
    ]
    out = {
        "arch": arch.name,
        "candidates": len(arch.models) if top is None else min(top, len(arch.models)),
        "orders": orders,
        "baseline": sum(r["baseline_cells"] for r in runs) / sum(r["baseline_full"] for r in runs),
        "candidate": sum(r["candidate_cells"] for r in runs)
        / sum(r["candidate_full"] for r in runs),
        "total": float(np.mean(total)),
        "total_max": float(np.max(total)),
        "top1": float(np.mean([r["top1"] for r in runs])),
        **{f"regret@{k}": float(np.mean([r[f"regret@{k}"] for r in runs])) for k in KS},
        "regret@1_max": float(np.max([r["regret@1"] for r in runs])),
        "baseline_se": float(np.mean([r["baseline_se"] for r in runs])),
        "baseline_se_full": average_se(arch.baseline),
    }
    out["target_met"] = out["regret@1"] <= 0.2 and out["total"] <= 1 / 3
    return out


def simulate(archs: list[Arch], rules: dict | None = None, orders: int = 200, seed: int = 0):
    """The figures per architecture: every candidate the data holds, and when there are more
    than 5, a top-5 selection (the 5 best by probe, else 5 at random per order)."""
    rows = []
    for arch in archs:
        rows.append({"set": "all", **replay(arch, rules, orders, seed)})
        if len(arch.models) > 5:
            by_probe = len(arch.probe) == len(arch.models) and len(set(arch.probe.values())) > 1
            top = "top-5 probe" if by_probe else "top-5 random"
            rows.append({"set": top, **replay(arch, rules, orders, seed, top=5)})
    return rows


COLUMNS = [
    ("arch", "architecture", "{}"), ("set", "candidates", "{}"), ("candidates", "K", "{}"),
    ("orders", "orders", "{}"), ("baseline", "base", "{:.3f}"), ("candidate", "cand", "{:.3f}"),
    ("total", "total", "{:.3f}"), ("total_max", "worst", "{:.3f}"), ("top1", "top-1", "{:.3f}"),
    ("regret@1", "regret@1", "{:.3f}"), ("regret@1_max", "worst", "{:.2f}"),
    ("regret@3", "@3", "{:.3f}"), ("regret@5", "@5", "{:.3f}"),
    ("baseline_se", "base SE", "{:.3f}"), ("baseline_se_full", "full SE", "{:.3f}"),
    ("target_met", "target", "{}"),
]  # fmt: skip


def format_table(rows: list[dict]) -> str:
    """The figures as a plain-text table: cells as fractions of the full protocol's (baseline,
    candidates, total and the largest total over the orders), top-1 agreement, regret@k in
    points (mean, and the largest regret@1), the baseline SE of the task average (adaptive,
    and with every seed), and whether the target (regret@1 <= 0.2, total <= 1/3) is met."""
    cells = [[title for _, title, _ in COLUMNS]]
    for row in rows:
        cells.append([_cell(row[key], form) for key, _, form in COLUMNS])
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value, form: str) -> str:
    if isinstance(value, bool):
        return "met" if value else "NOT met"
    return form.format(value)


def simulate_job(
    tables=(), reference=None, synthetic_models=(), profiles=("bert",), orders=200, seed=0,
    rules=None, json_out=None,
) -> list[dict]:  # fmt: skip
    """The simulate script: read the data (tables folders, a reference (models CSV, baseline
    CSV) pair, synthetic data sets of each number of models in synthetic_models for each of
    `profiles`), replay, print the table and the rules replayed, write the rows to json_out
    when given."""
    archs = [read_tables(folder) for folder in tables]
    if reference:
        archs.append(read_reference(*reference))
    archs += [synthetic(n, profile, seed) for profile in profiles for n in synthetic_models]
    if not archs:
        raise SystemExit("nothing to replay: give --tables, --reference-* or --synthetic")
    rules = rules or {}
    used = {
        "baseline_seeds": baseline_rule(rules.get("baseline_seeds")),
        "racing": racing_rule(rules.get("racing")),
    }
    rows = simulate(archs, used, orders, seed)
    print(f"rules: {json.dumps(used)}")
    print("cells as fractions of the full protocol's; regret and SE in points (x100)")
    print(format_table(rows))
    if json_out:
        Path(json_out).write_text(json.dumps({"rules": used, "rows": rows}, indent=1) + "\n")
    return rows
