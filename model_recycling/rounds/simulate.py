"""Would adaptive baseline seeds and racing have given the full protocol's answer, and for how
many cells? Replays both, as the pipeline runs them, on results that a full protocol produced:
the reference site's published files (rounds/published.py), this project's tables (cells.csv),
or synthetic data with the reference's statistics (rounds/synthetic.py).

What a replay does, as the pipeline would: the candidates are the top `top_k` by probe among the
models with a valid probe and every task (only those can be replayed; the better-probed models
without cells are counted); the full protocol is every baseline seed the data holds (20 x 36)
plus top_k x 36 candidate cells. For each of N task orders it draws the baseline's seeds in a
seeded random order (the adaptive rule stops when it says so) and the racing order of the tasks
(racing.task_order with seed `seed + i`). Every candidate's score is the one the full protocol
measured, so only which cells ran differs from it. Scores are points (x100).

"The same answer" has two halves, both measured: (a) regret, the full protocol's best average
minus that of the model racing chose (mean and 95th percentile over the orders); (b) the chosen
model's reported gain over the base (with the baseline seeds the rule ran, over the tasks that
count) inside the full protocol's 95% interval of its gain: the 20 seeds' standard error of the
baseline average together with the candidate's own seed noise on its average (one seed per task,
each task's noise taken from the base's seed spread there). The rule's error, the best stopped
as behind or the race ended more than epsilon below it, is counted against its stated rate
(1 - confidence) and that rate's binomial 95% interval over the orders.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from model_recycling.rounds.published import Published, published_pairs, read_published, read_rows
from model_recycling.rounds.racing import (
    average_se,
    baseline_rule,
    baseline_seeds_needed,
    racing_decisions,
    racing_ranking,
    racing_rule,
    task_order,
)
from model_recycling.rounds.synthetic import family, synthetic

ALL = 10**9  # "every seed the data holds"
# The full protocol as rules: every baseline seed, and no candidate is ever stopped.
FULL_PROTOCOL = {"baseline_seeds": {"min": ALL, "max": ALL, "step": 1}, "racing": None}
# The settings the README recommends per seed-noise family (synthetic.family): racing at the
# schema's defaults; the baseline's target standard error so loose that a task gets more than
# `min` seeds only where one of its first seeds diverged, since a one-seed candidate's own noise
# dominates the interval of its gain anyway (BENCHMARKS.md, "Fewer cells", has the frontier).
RECOMMENDED = {
    "bert": {"baseline_seeds": {"target_se": 8.0}, "racing": {}},
    "t5": {"baseline_seeds": {"target_se": 10.0}, "racing": {}},
    "t5-v1_1": {"baseline_seeds": {"target_se": 30.0}, "racing": {}},
}
# The reference's published results of two architectures, unchanged (tests/data/published/README.md)
PUBLISHED = Path(__file__).resolve().parents[2] / "tests" / "data" / "published"
MIN_SEEDS = 3  # baseline_min_seeds' default: a task counts with this many seeds that finished
TARGET = {"regret": 0.2, "regret_p95": 0.5, "coverage": 0.95, "total": 1 / 3}


def read_tables(folder: Path | str) -> Published:
    """This project's tables (results/architectures/<arch>/tables): the baseline's per-seed
    scores and each candidate's mean over its seeds from cells.csv (valid ok cells; scores are
    fractions there), the probe scores from probes.csv when it is there."""
    folder = Path(folder)
    baseline, cand = defaultdict(dict), defaultdict(lambda: defaultdict(list))
    for row in read_rows(folder / "cells.csv"):
        ok = row.get("status") == "ok" and not row.get("invalid")
        score = 100 * float(row["score"]) if ok else math.nan
        if row.get("role") == "baseline":
            baseline[row["task"]][int(row["seed"])] = score
        elif math.isfinite(score):
            cand[row["model_id"]][row["task"]].append(score)
    tasks = sorted(baseline)
    means = {m: {t: float(np.mean(v)) for t, v in mine.items()} for m, mine in cand.items()}
    models = {m: mine for m, mine in means.items() if all(t in mine for t in tasks)}
    probe = {}
    if (folder / "probes.csv").exists():
        for row in read_rows(folder / "probes.csv"):
            if row.get("status") == "ok" and not row.get("invalid"):
                probe[row["model_id"]] = float(row["score"])
    name = folder.parent.name if folder.name == "tables" else folder.name
    seeds = {t: [baseline[t][s] for s in sorted(baseline[t])] for t in tasks}
    return Published(name, "", tasks, seeds, models, probe)


def reference_data(base_id: str) -> Published:
    """The published results of the base's seed-noise family (PUBLISHED: roberta-base for
    BERT-likes, t5-base for T5); synthetic data with T5 v1.1's noise, which is not among them."""
    wanted = {"bert": "roberta-base", "t5": "t5-base"}.get(family(base_id))
    pairs = published_pairs(PUBLISHED) if PUBLISHED.is_dir() else []
    for table, baseline in pairs:
        if table.name == f"{wanted}_table.csv":
            return read_published(table, baseline)
    data = synthetic(20, family(base_id))
    data.base_id = base_id
    return data


def candidate_pool(arch: Published, top_k: int) -> tuple[list[str], int]:
    """(the top_k by probe among models with a valid probe and every task, how many models
    probed better than the last of them had no cells); ties by model id."""
    chosen, skipped = [], 0
    for model in sorted(arch.probe, key=lambda m: (-arch.probe[m], m)):
        if len(chosen) == top_k:
            break
        if model in arch.models:
            chosen.append(model)
        else:
            skipped += 1
    return chosen, skipped


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


def gain_interval(arch: Published) -> float:
    """The half-width of the full protocol's 95% interval of a one-seed candidate's average
    gain: 1.96 x sqrt(baseline average's variance with every valid seed + the candidate's own
    seed noise on its average, each task's taken from the base's seed spread)."""
    variance = 0.0
    for scores in arch.baseline.values():
        valid = [s for s in scores if math.isfinite(s)]
        spread = float(np.var(valid, ddof=1)) if len(valid) > 1 else 0.0
        variance += spread / len(valid) + spread if valid else 0.0
    return 1.96 * math.sqrt(variance) / len(arch.baseline)


def _counted_gain(arch: Published, model: str, used: dict) -> float:
    """The model's average gain over the base on the tasks that count with these seeds."""
    gains = []
    for task, scores in used.items():
        valid = [s for s in scores if math.isfinite(s)]
        if valid and len(valid) >= min(MIN_SEEDS, len(scores)):
            gains.append(arch.models[model][task] - _mean(valid))
    return _mean(gains)


def full_protocol(arch: Published, pool: list[str]) -> tuple[dict, dict]:
    """What the full protocol found for each model of the pool: ({model: its average},
    {model: its average gain over the base's every valid seed})."""
    every = {t: [s for s in v if math.isfinite(s)] for t, v in arch.baseline.items()}
    average = {m: _mean(arch.models[m].values()) for m in pool}
    return average, {m: _counted_gain(arch, m, every) for m in pool}


def replay_order(arch: Published, pool: list[str], full, index: int, rules: dict, seed=0):
    """One replay (the order `index`): the cells run, whom racing chose, and how far its answer
    is from the full protocol's on the same pool (`full`: full_protocol's figures). rules:
    {"baseline_seeds": a rule, "racing": a rule or None (off)}."""
    rng = np.random.default_rng([seed, index])
    seeds_rule = baseline_rule(rules.get("baseline_seeds"))
    used = {t: _draw_baseline(arch.baseline[t], seeds_rule, rng) for t in arch.tasks}
    base = {t: _mean(v) for t, v in used.items()}
    gains = {m: {t: arch.models[m][t] - base[t] for t in arch.tasks} for m in pool}
    order = task_order(arch.tasks, seed + index)
    race = rules.get("racing")
    decisions = racing_decisions(gains, order, {"confidence": 1.0} if race is None else race)
    chosen = racing_ranking(decisions)[0]
    average, full_gain = full
    best = min(pool, key=lambda m: (-average[m], m))
    regret = average[best] - average[chosen]
    epsilon = racing_rule(race)["epsilon"] if race is not None else 0.0
    return {
        "baseline_cells": sum(len(v) for v in used.values()),
        "candidate_cells": sum(row["tasks"] for row in decisions.values()),
        "top1": chosen == best,
        "regret": regret,
        "best_stopped": regret > epsilon,
        "best_behind": decisions[best].get("why") == "behind",
        "gain_error": abs(_counted_gain(arch, chosen, used) - full_gain[chosen]),
    }


def binomial_interval(rate: float, n: int) -> tuple[float, float]:
    """The central 95% range of the share of n trials that fail, each with chance `rate`."""
    cumulative, low, high = 0.0, None, None
    for k in range(n + 1):
        cumulative += math.comb(n, k) * rate**k * (1 - rate) ** (n - k)
        if low is None and cumulative >= 0.025:
            low = k
        if cumulative >= 0.975:
            high = k
            break
    return (low or 0) / n, (n if high is None else high) / n


def replay(arch: Published, rules: dict, top_k: int = 5, orders: int = 1000, seed: int = 0):
    """The figures of `orders` replays on the pool of top_k: cells as fractions of the full
    protocol's (baseline, candidates, total and its 95th percentile), top-1 agreement, regret
    (mean, 95th percentile), gain coverage, the rule's error against its stated rate, and the
    baseline SE of the task average with every seed."""
    pool, skipped = candidate_pool(arch, top_k)
    if not pool:
        raise ValueError(f"{arch.name}: no model with a valid probe and every task to replay")
    full = full_protocol(arch, pool)
    runs = [replay_order(arch, pool, full, i, rules, seed) for i in range(orders)]
    baseline_full = sum(len(v) for v in arch.baseline.values())
    candidate_full = len(pool) * len(arch.tasks)
    total = [(r["baseline_cells"] + r["candidate_cells"]) / (baseline_full + candidate_full)
             for r in runs]  # fmt: skip
    regret = [r["regret"] for r in runs]
    race = rules.get("racing")
    stated = 1 - racing_rule(race)["confidence"] if race is not None else 0.0
    half = gain_interval(arch)
    out = {
        "arch": arch.name, "top_k": len(pool), "skipped": skipped, "orders": orders,
        "baseline": float(np.mean([r["baseline_cells"] for r in runs])) / baseline_full,
        "candidate": float(np.mean([r["candidate_cells"] for r in runs])) / candidate_full,
        "total": float(np.mean(total)), "total_p95": float(np.percentile(total, 95)),
        "top1": float(np.mean([r["top1"] for r in runs])),
        "regret": float(np.mean(regret)), "regret_p95": float(np.percentile(regret, 95)),
        "coverage": float(np.mean([r["gain_error"] <= half for r in runs])),
        "gain_error": float(np.mean([r["gain_error"] for r in runs])), "interval": half,
        "best_stopped": float(np.mean([r["best_stopped"] for r in runs])), "stated": stated,
        "best_behind": float(np.mean([r["best_behind"] for r in runs])),
        "stated_high": binomial_interval(stated, orders)[1] if stated else 0.0,
        "baseline_se_full": average_se(arch.baseline),
    }  # fmt: skip
    out["holds"] = out["best_stopped"] <= out["stated_high"]
    out["target_met"] = (
        out["regret"] <= TARGET["regret"] and out["regret_p95"] <= TARGET["regret_p95"]
        and out["coverage"] >= TARGET["coverage"] and out["total"] <= TARGET["total"]
    )  # fmt: skip
    return out


def recommended(arch: Published, overrides: dict | None = None) -> dict:
    """The README's settings for the architecture's seed-noise family, with `overrides` (the
    command line's) over them: {"baseline_seeds": rule, "racing": rule or None}."""
    rules = RECOMMENDED[family(arch.base_id or arch.name)]
    overrides = overrides or {}
    seeds = baseline_rule({**rules["baseline_seeds"], **overrides.get("baseline_seeds", {})})
    if overrides.get("racing") is None and "racing" in overrides:
        return {"baseline_seeds": seeds, "racing": None}
    race = racing_rule({**rules["racing"], **(overrides.get("racing") or {})})
    return {"baseline_seeds": seeds, "racing": race}


COLUMNS = [
    ("arch", "architecture", "{}"), ("top_k", "K", "{}"), ("skipped", "no cells", "{}"),
    ("baseline", "base", "{:.3f}"), ("candidate", "cand", "{:.3f}"), ("total", "total", "{:.3f}"),
    ("total_p95", "p95", "{:.3f}"), ("top1", "top-1", "{:.3f}"), ("regret", "regret", "{:.3f}"),
    ("regret_p95", "p95", "{:.3f}"), ("gain_error", "gain err", "{:.3f}"),
    ("interval", "interval", "{:.2f}"), ("coverage", "gain cov.", "{:.3f}"),
    ("best_behind", "best behind", "{:.4f}"), ("best_stopped", "best stopped", "{:.4f}"),
    ("stated_high", "<= stated", "{:.4f}"),
    ("target_met", "target", "{}"),
]  # fmt: skip


def format_table(rows: list[dict]) -> str:
    """The figures as a plain-text table (simulate_job's header says what each column is)."""
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


HEADER = """\
Replays of the pipeline's protocol (top K by probe, the full protocol = every baseline seed + K x
tasks); no cells: better-probed models without cells. Cells as fractions of the full protocol's
(baseline, candidates, total, its 95th percentile over the orders); top-1: racing chose the full
protocol's best; regret: its average minus the chosen one's, points (mean, 95th percentile);
gain err: the chosen model's reported gain minus its full-protocol gain, points (mean absolute),
against the half-width of the full protocol's 95% interval of that gain (interval); gain cov.:
share of orders inside it; best behind: share of orders where racing stopped the best as behind
(a near-tie may do that at no cost); best stopped: share where the race kept a model more than
epsilon below the best, the rule's error, against the top of its stated rate's binomial 95%
interval (<= stated); target: regret <= 0.2, p95 <= 0.5, gain cov. >= 0.95, total <= 1/3."""


def _describe(arch: Published, rules: dict) -> str:
    """What was read (rows left out and why) and the rules replayed, for the printout."""
    read = (f"{arch.name}: {len(arch.models)} fully tested candidates, {len(arch.probe)} valid "
            f"probes, {sum(len(v) for v in arch.baseline.values())} baseline seeds")  # fmt: skip
    notes = "".join(f"\n  left out: {count} {what}" for what, count in sorted(arch.notes.items()))
    return f"{read}{notes}\n  rules: {json.dumps(rules)}"


def simulate_job(
    archs: list[Published], top_ks=(5, 20), orders=1000, seed=0, overrides=None, json_out=None
) -> list[dict]:
    """The simulate script: replay each architecture at its family's recommended settings
    (with `overrides`) for each pool size, print what was read and the table, and write the
    rows to json_out when given."""
    if not archs:
        raise SystemExit("nothing to replay: give --published, --reference-*, --tables or "
                         "--synthetic")  # fmt: skip
    rows = []
    for arch in archs:
        rules = recommended(arch, overrides)
        print(_describe(arch, rules))
        for top_k in top_ks:
            rows.append({**replay(arch, rules, top_k, orders, seed), "rules": rules})
    print(HEADER)
    print(format_table(rows))
    if json_out:
        Path(json_out).write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    return rows
