"""Spending fewer finetuning cells for the same answer: how many seeds the pretrained baseline
needs on each task, and which candidates are still worth finetuning on more tasks.

Two rules, both pure functions of the scores so far (points x100 of the task's metric), so that
the workflow can ask them again after every finished cell and always get the same answer:

- Adaptive baseline seeds (config `baseline_seeds` as a mapping): a task gets `min` seeds that
  succeed, then `step` more while the standard error of its baseline mean is above `target_se`,
  never more than `max`.
- Racing (config `racing`): every candidate takes the tasks in one seeded order; after the first
  `first_round` tasks and then every `round` tasks, each candidate is compared with the leader
  on the tasks both ran (paired per-task differences, so that what every model finds easy or
  hard cancels out). A candidate whose upper confidence bound on its advantage over the leader
  is below 0 is stopped (clearly behind); once every candidate's bound is below `epsilon`, the
  race ends and only the leader runs the remaining tasks (the rest are within `epsilon` of it).

The error is controlled: each bound is a one-sided Student t bound (t quantiles with the tasks'
degrees of freedom, not z, since a decision rests on few tasks) on the mean over the task order's
finite population, at level (1 - confidence) / (decisions x (candidates - 1)): by the union bound
over every decision and every pair the best candidate is part of, the chance that the race stops
the best, or ends more than `epsilon` below it, is at most 1 - confidence. The task order is
drawn at random, so the tasks seen so far are a random sample of the tasks to come, which is
what the bound assumes. `make simulate` measures the rate on the reference's published results.

Scores that failed are None or NaN: they count as run (a rule never waits for them) but not in
any mean or spread.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping, Sequence

import numpy as np

from model_recycling.settings import defaults

# The defaults of both rules are in schemas/config.schema.yaml (adaptive_seeds, racing); why
# those values: 3 seeds give every task a spread (2 degrees of freedom); 20 is the published
# protocol's count. Racing decides first after 8 tasks (a bound from fewer tasks is too wide to
# stop anyone at the union bound's level) and then every 4, few decisions so that each gets a
# larger share of the error; epsilon 0.2 points of average is the target's regret. The
# simulator's figures for them on the reference's results: BENCHMARKS.md, "Fewer cells".

Gains = Mapping[str, Mapping[str, float | None]]  # {model: {task: gain over the baseline mean}}


def baseline_rule(config: Mapping | None = None) -> dict:
    """The adaptive baseline rule: `config` over the schema's defaults, checked. `min` seeds
    first, then `step` more while the task's standard error (points) exceeds `target_se`, up to
    `max`."""
    rule = {**defaults("adaptive_seeds"), **(config or {})}
    if not 1 <= rule["min"] <= rule["max"] or rule["step"] < 1 or not rule["target_se"] > 0:
        raise ValueError(f"baseline seeds: need 1 <= min <= max, step >= 1, target_se > 0: {rule}")
    return rule


def racing_rule(config: Mapping | None = None) -> dict:
    """The racing rule: `config` over the schema's defaults, checked. `first_round`: tasks
    before the first decision; `round`: tasks between decisions; `confidence`: the chance that
    the race never stops the best candidate nor ends more than `epsilon` points below it;
    `epsilon`: the indifference zone, in points of average; `seed`: the task order; `finite`:
    the standard error of a mean over the tasks still to come (finite population correction),
    since the answer to reproduce is the average over exactly these tasks."""
    rule = {**defaults("racing"), **(config or {})}
    if rule["first_round"] < 2 or rule["round"] < 1:
        raise ValueError(f"racing: need first_round >= 2, round >= 1: {rule}")
    if not 0 < rule["confidence"] <= 1 or rule["epsilon"] < 0:
        raise ValueError(f"racing: need 0 < confidence <= 1, epsilon >= 0: {rule}")
    return rule


def _valid(scores) -> np.ndarray:
    """The scores that did not fail, as floats."""
    values = np.array([np.nan if s is None else s for s in scores], dtype=float)
    return values[~np.isnan(values)]


def task_se(scores: Sequence[float | None]) -> float:
    """Standard error of a task's baseline mean: sample std (n - 1) / sqrt(n) of the scores that
    did not fail; inf with fewer than two, so a rule keeps adding seeds."""
    values = _valid(scores)
    if len(values) < 2:
        return math.inf
    return float(values.std(ddof=1) / math.sqrt(len(values)))


def baseline_se(scores_by_task: Mapping[str, Sequence[float | None]]) -> dict[str, float]:
    """{task: standard error of its baseline mean} (task_se)."""
    return {task: task_se(scores) for task, scores in scores_by_task.items()}


def average_se(scores_by_task: Mapping[str, Sequence[float | None]]) -> float:
    """Standard error of the baseline's average over the tasks (the unweighted mean of the
    per-task means, tasks independent): sqrt(sum of squared task SEs) / number of tasks."""
    errors = list(baseline_se(scores_by_task).values())
    return math.sqrt(sum(e * e for e in errors)) / len(errors) if errors else math.nan


def baseline_seeds_needed(
    scores_by_seed: Mapping[int, float | None] | Sequence[float | None], rule: Mapping | None = None
) -> list[int]:
    """The seeds (0, 1, ...) one task's baseline must have, given the scores of those finished
    so far (a mapping seed -> score, or a list in seed order; None or NaN for a failed cell).

    Start with `min` seeds; once all of them finished, add as many as failed until `min`
    succeeded, then `step` more while the task's standard error is above `target_se`, never
    beyond `max`. When no seed so far succeeded the rule adds none (more would fail alike: a task
    that cannot be trained, left out of the tables with its reason). Only the seeds asked for so
    far are read, so the answer depends on nothing else."""
    rule = baseline_rule(rule)
    scores = scores_by_seed
    if isinstance(scores, Sequence):
        scores = dict(enumerate(scores))
    n = rule["min"]
    while n < rule["max"] and all(seed in scores for seed in range(n)):
        so_far = [scores[seed] for seed in range(n)]
        succeeded = len(_valid(so_far))
        if not succeeded:
            break
        if succeeded < rule["min"]:
            n = min(n + rule["min"] - succeeded, rule["max"])
        elif task_se(so_far) <= rule["target_se"]:
            break
        else:
            n = min(n + rule["step"], rule["max"])
    return list(range(n))


def task_order(tasks, seed: int = 0) -> list[str]:
    """The tasks in the racing order drawn by `seed`: sorted by a hash of (seed, task), so the
    order depends on the set of tasks and the seed, not on the order they were given in."""

    def key(task):
        return hashlib.sha256(f"{seed}\0{task}".encode()).hexdigest(), task

    return sorted(set(tasks), key=key)


def checkpoints(n_tasks: int, rule: Mapping | None = None) -> list[int]:
    """After how many tasks of the order the rule decides: `first_round`, then every `round`,
    and always after the last task."""
    rule = racing_rule(rule)
    points = list(range(rule["first_round"], n_tasks, rule["round"]))
    return [*points, n_tasks] if n_tasks else []


@functools.cache
def t_quantile(p: float, df: int) -> float:
    """The p quantile (p >= 0.5) of Student's t with `df` >= 1 degrees of freedom: bisection on
    its distribution function, exact for whole degrees of freedom (Abramowitz and Stegun
    26.7.3-4)."""
    if p >= 1:
        return math.inf
    low, high = 0.0, 1.0
    while _t_cdf(high, df) < p:
        low, high = high, high * 2
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if _t_cdf(middle, df) < p else (low, middle)
    return (low + high) / 2


def _t_cdf(t: float, df: int) -> float:
    """P(T <= t) for t >= 0."""
    theta = math.atan(t / math.sqrt(df))
    cos2, term = math.cos(theta) ** 2, 1.0
    if df % 2:  # odd: A = 2/pi (theta + sin cos (1 + 2/3 cos^2 + 2.4/3.5 cos^4 + ...))
        total = 1.0 if df > 1 else 0.0
        for k in range(1, (df - 1) // 2):
            term *= cos2 * 2 * k / (2 * k + 1)
            total += term
        both = 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)
    else:  # even: A = sin (1 + 1/2 cos^2 + 1.3/2.4 cos^4 + ...)
        total = 1.0
        for k in range(1, df // 2):
            term *= cos2 * (2 * k - 1) / (2 * k)
            total += term
        both = math.sin(theta) * total
    return 0.5 + both / 2


def bound_level(n_tasks: int, n_candidates: int, rule: Mapping) -> float:
    """The one-sided level of each bound: 1 - confidence shared by every decision before the
    last and every pair that includes the best candidate (the union bound)."""
    decisions = max(1, len(checkpoints(n_tasks, rule)) - 1)
    return (1 - rule["confidence"]) / (decisions * max(1, n_candidates - 1))


def _standard_error(values: np.ndarray, n_total: int, finite: bool) -> float:
    """Of the mean of `values` (NaN: failed, left out) as a sample of n_total; inf below two."""
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return math.inf
    se = values.std(ddof=1) / math.sqrt(len(values))
    return se * math.sqrt(max(0.0, 1 - len(values) / n_total)) if finite else se


def _bound(values: np.ndarray, n_total: int, level: float, finite: bool) -> tuple:
    """(mean, half-width) of a one-sided bound at `level` on the mean of `values` (NaN left
    out); the half-width is inf below two values and 0 when nothing is left to come."""
    valid = values[~np.isnan(values)]
    if not len(valid):
        return math.nan, math.inf
    se = _standard_error(valid, n_total, finite)
    if level <= 0:  # confidence 1: no bound excludes anything
        return float(valid.mean()), math.inf
    if se == 0 or not math.isfinite(se):
        return float(valid.mean()), float(se)
    return float(valid.mean()), float(t_quantile(1 - level, len(valid) - 1) * se)


def _row(status: str, tasks: int, gains: np.ndarray, n_total: int, level: float, rule) -> dict:
    mean, width = _bound(gains, n_total, level, rule["finite"])
    return {"status": status, "tasks": tasks, "mean_gain": mean, "low": mean - width,
            "high": mean + width}  # fmt: skip


def _decide(matrix, models, racing, point, rule, level) -> tuple[dict, list]:
    """One decision after `point` tasks, on the rows `racing` of the gains matrix (models x
    tasks in order): ({model: row} for those rows, the rows still racing). Each candidate's
    row adds `behind_by` (the leader's mean minus its own, over the tasks both ran) and `upper`
    (the bound on how much better than the leader it can be); a stopped one says why."""
    n_total, last = matrix.shape[1], point == matrix.shape[1]
    seen = matrix[:, :point]
    means = [_key(_nanmean(seen[row])) for row in racing]
    lead = racing[min(range(len(racing)), key=lambda i: (-means[i], models[racing[i]]))]
    rows, upper = {}, {}
    for row in racing:
        rows[models[row]] = _row("racing", point, seen[row], n_total, level, rule)
        if row != lead:
            behind, width = _bound(seen[lead] - seen[row], n_total, level, rule["finite"])
            upper[row] = width - behind if not math.isnan(behind) else math.inf
            rows[models[row]].update(behind_by=behind, upper=upper[row])
    if last:
        for row in racing:
            rows[models[row]]["status"] = "finished"
        return rows, []
    behind = {row for row, bound in upper.items() if bound < 0}
    others = set(upper) - behind
    tied = others if all(upper[row] < rule["epsilon"] for row in others) else set()
    for row, why in [*((r, "behind") for r in behind), *((r, "within epsilon") for r in tied)]:
        rows[models[row]].update(status="stopped", why=why)
    return rows, [row for row in racing if row not in behind | tied]


def _replay(gains, order, rule) -> tuple[dict, int | None]:
    """(decisions, the checkpoint the still-racing candidates work towards, None when none)."""
    models, done, out = sorted(gains), _done(gains, order), {}
    matrix = np.array([[_nan(gains[m].get(t)) for t in order] for m in models], dtype=float)
    matrix = matrix.reshape(len(models), len(order))
    level = bound_level(len(order), len(models), rule)
    racing = list(range(len(models)))
    for point in checkpoints(len(order), rule):
        if not racing:
            break
        if any(done[models[i]] < point for i in racing):
            for i in racing:
                n = done[models[i]]
                out[models[i]] = _row("racing", n, matrix[i, :n], len(order), level, rule)
            return out, point
        rows, racing = _decide(matrix, models, racing, point, rule, level)
        out.update(rows)
    return out, None


def _done(gains: Mapping[str, Mapping[str, float]], order: Sequence[str]) -> dict[str, int]:
    """{model: how many tasks of the order, from the first, it has a result for}."""
    done = {}
    for model, mine in gains.items():
        n = 0
        while n < len(order) and order[n] in mine:
            n += 1
        done[model] = n
    return done


def racing_decisions(
    gains: Gains, order: Sequence[str], rule: Mapping | None = None
) -> dict[str, dict]:
    """Replay the racing rule on the results so far: {model: {"status": "racing" | "stopped" |
    "finished", "tasks": tasks of the order it ran (or has, while racing), "mean_gain", "low",
    "high": its mean gain and the bound's interval at that point; for all but the leader
    "behind_by" and "upper" (see _decide); for a stopped one "why": "behind" or "within
    epsilon"}}.

    gains: {model: {task: score minus the baseline's mean on that task}}, points; None or NaN for
    a failed cell (run, but left out). A decision is taken once every racing candidate has the
    first tasks of the order up to that checkpoint. The leader is the highest mean gain (ties:
    the smaller model id). The comparisons use the differences of gains, task by task: the
    baseline cancels out of them, so its precision cannot change who is stopped."""
    return _replay(gains, list(order), racing_rule(rule))[0]


def next_tasks(
    gains: Gains, order: Sequence[str], rule: Mapping | None = None
) -> dict[str, list[str]]:
    """{model: the tasks, in order, it still needs for the next decision}; empty for stopped
    and finished candidates, and for one waiting for the others to catch up."""
    order = list(order)
    decisions, point = _replay(gains, order, racing_rule(rule))
    return {
        model: [t for t in order[:point] if t not in gains[model]]
        if row["status"] == "racing" and point
        else []
        for model, row in decisions.items()
    }


def racing_ranking(decisions: Mapping[str, Mapping]) -> list[str]:
    """The candidates best first: finished ones by mean gain (their average over every task), then
    those still racing, then stopped ones by how many tasks they lasted and their mean gain; ties
    by model id."""
    group = {"finished": 0, "racing": 1, "stopped": 2}

    def key(model):
        row = decisions[model]
        return (group[row["status"]], -row["tasks"], -_key(row["mean_gain"]), model)

    return sorted(decisions, key=key)


def _nan(value) -> float:
    return math.nan if value is None else float(value)


def _nanmean(values: np.ndarray) -> float:
    valid = values[~np.isnan(values)]
    return float(valid.mean()) if len(valid) else math.nan


def _key(mean: float) -> float:
    """A mean as a sort key: NaN (every gain failed) ranks last."""
    return -math.inf if math.isnan(mean) else mean
