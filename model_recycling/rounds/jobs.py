"""The rounds of the adaptive rules, as workflow jobs. After each round of a task's baseline seeds,
and after each round of racing tasks, a small job reads the cells so far and writes what the
rule (rounds/racing.py) decides next: the seeds the task's baseline needs, or which candidates
still race. Each decision file records the scores it read, and the same cells always give the
same decision, so a run killed mid-round and resumed decides as a straight run did.

Scores are points (x100). A cell that failed, or that the checks refuse (validation.py), counts
as run but not in any mean.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from model_recycling.io import atomic_write_json, read_json
from model_recycling.listing.candidates import read_candidates
from model_recycling.naming import safe_name
from model_recycling.probing.selection import read_selection
from model_recycling.records import read_record
from model_recycling.rounds.racing import (
    baseline_rule,
    baseline_seeds_needed,
    checkpoints,
    racing_decisions,
    racing_rule,
    task_order,
    task_se,
)
from model_recycling.tables.aggregate import (
    baseline_seeds_from_rounds,
    current_revisions,
    load_cells,
)
from model_recycling.tables.coverage import seeds_of
from model_recycling.validation import validate_cell


def _seed(path) -> int:
    return int(Path(path).stem.removeprefix("seed"))


def baseline_round_job(
    task_meta, cells, rule, base_id, base_revision, base_dir, round_, out
) -> dict:  # fmt: skip
    """One task's baseline after a round: the scores of its seeds so far (the files `cells`),
    their standard error, and the seeds the rule asks for now ("seeds"; "more": whether that
    adds any). A cell counts at the base's current revision ("auto": the folder's hash)."""
    meta = read_json(task_meta)
    revisions = current_revisions([], base_id, base_revision, base_dir)
    scores = {}
    for path in cells:
        record, reason = read_record(path)
        reason = reason or validate_cell(record, {meta["task"]: meta}, revisions)
        counted = not reason and record["status"] == "ok"
        scores[_seed(path)] = record["score"] * 100 if counted else None
    needed = baseline_seeds_needed(scores, rule)
    decision = {
        "task": meta["task"], "round": round_, "rule": baseline_rule(rule),
        "scores": {str(seed): scores[seed] for seed in sorted(scores)},
        "standard_error": _finite(task_se(list(scores.values()))),
        "seeds": needed, "more": len(needed) > len(scores),
    }  # fmt: skip
    atomic_write_json(out, decision)
    return decision


def _finite(value: float) -> float | None:
    """None for a figure that is undefined (NaN) or unbounded (an interval before two tasks)."""
    return value if math.isfinite(value) else None


def race_gains(cells: pd.DataFrame, base_id, racers: dict, tasks, seeds, baseline_seeds) -> dict:
    """{model id: {task: its mean score minus the baseline's mean, points}} for each racer (model
    id -> folder name) and each task it has every seed's cell for; None where no cell of the
    task counted (failed or refused) or the baseline has no counted seed there.
    baseline_seeds: the seeds of every task's baseline mean, or task -> its seeds."""
    counted = cells[(cells.status == "ok") & (cells.invalid == "")]
    base = counted[counted.model_id == base_id]
    base_means = {
        task: base[
            (base.task == task) & base.seed.isin(seeds_of(baseline_seeds, task))
        ].score.mean()
        * 100
        for task in tasks
    }
    gains = {}
    for model_id in racers:
        mine = cells[(cells.model_id == model_id) & cells.seed.isin(seeds)]
        gains[model_id] = {}
        for task in tasks:
            runs = mine[mine.task == task]
            if runs.seed.nunique() < len(seeds):
                continue  # not run yet: the race waits for it
            ok = runs[(runs.status == "ok") & (runs.invalid == "")]
            gain = ok.score.mean() * 100 - base_means[task] if len(ok) else math.nan
            gains[model_id][task] = None if math.isnan(gain) else float(gain)
    return gains


def race_round_job(
    arch_dir, base_id, base_revision, base_dir, settings, task_metas, candidates_tsv,
    selection_tsv, baseline_rounds, round_, out,
) -> dict:  # fmt: skip
    """One racing decision: the candidates the probe selected (not the calibration sample, which
    runs every task to measure the probe) raced over the targets in the rule's order, with the
    results of the first tasks up to this round's checkpoint. Writes every raced candidate's
    status, tasks, mean gain and interval, and which still race ("racing": their folder names).
    settings: targets, seeds, baseline_seeds and the racing rule; baseline_rounds: with
    adaptive seeds, the final seeds files of the tasks up to the checkpoint."""
    rule = racing_rule(settings["racing"])
    order = task_order(settings["targets"], rule["seed"])
    point = checkpoints(len(order), rule)[round_]
    metas = {m["task"]: m for m in map(read_json, task_metas)}
    prepared = {task: meta for task, meta in metas.items() if meta.get("status") != "failed"}
    revisions = current_revisions(read_candidates(candidates_tsv), base_id, base_revision, base_dir)
    cells = load_cells(Path(arch_dir) / "cells", prepared, revisions)
    racers = {
        row["model_id"]: safe_name(row["model_id"])
        for row in read_selection(selection_tsv)
        if row["selected"] == "yes"
    }
    seeds = baseline_seeds_from_rounds(settings["baseline_seeds"], baseline_rounds, order[:point])
    gains = race_gains(cells, base_id, racers, order[:point], settings["seeds"], seeds)
    decisions = {
        model: {
            key: _finite(value) if isinstance(value, float) else value for key, value in row.items()
        }
        for model, row in racing_decisions(gains, order, rule).items()
    }  # fmt: skip; JSON holds no NaN or infinity: an undefined figure is null
    decision = {
        "round": round_, "after_tasks": point, "order": order, "rule": rule,
        "decisions": decisions,
        "racing": sorted(racers[m] for m, row in decisions.items() if row["status"] == "racing"),
    }  # fmt: skip
    atomic_write_json(out, decision)
    return decision
