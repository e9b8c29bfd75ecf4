"""Spending fewer finetuning cells for the same answer: how many seeds the pretrained baseline
needs on each task, and which candidates are still worth finetuning on more tasks.

Two rules, both pure functions of the scores so far (points x100 of the task's metric), so that
the workflow can ask them again after every finished cell and always get the same answer:

- Adaptive baseline seeds (config `baseline_seeds` as a mapping): a task gets `min` seeds, then
  `step` more while the standard error of its baseline mean is above `target_se`, never more
  than `max`. Most tasks have a seed std well under a point and stop at `min`; the few small,
  noisy tasks get more seeds, up to `max`.
- Racing (config `racing`): every candidate takes the tasks in one seeded order; after the first
  `first_round` tasks and then every `round` tasks, a candidate whose interval of mean gain over
  the baseline lies entirely below the leader's is stopped. The candidate that finishes every
  task with the highest average is the answer the full protocol would have given, unless the
  rule stopped it, which a wide `z` makes rare.

Scores that failed are None or NaN: they count as run (a rule never waits for them) but not in
any mean or spread.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

import numpy as np

from model_recycling.settings import defaults

# The defaults of both rules are in schemas/config.schema.yaml (adaptive_seeds, racing); why
# those values: 3 seeds give every task a spread (2 degrees of freedom) and leave most tasks (seed
# std under 1.7 points) at 3 instead of 20 seeds; a task gets 3 more while its mean is unsure by
# more than a point, a tenth of the gains worth reporting on a task and under a one-seed
# candidate's own noise there; 20 is the published protocol's count. Racing decides first after
# 4 tasks, dropping the candidates far behind before they cost much, then every 2 tasks; z = 1.5
# on each side asks the two intervals to be apart, about 2.1 standard errors of the difference
# when both are alike, so a candidate tied with the leader is stopped at one decision with a
# chance near 2%. The simulator's figures for them: BENCHMARKS.md, "Fewer cells".

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
    before the first decision; `round`: tasks between decisions; `z`: interval half-width in
    standard errors (inf: never stop anyone); `seed`: the task order; `finite`: the standard
    error is that of the mean over the tasks still to come (finite population correction),
    since the answer to reproduce is the average over exactly these tasks, not over tasks in
    general."""
    rule = {**defaults("racing"), **(config or {})}
    if rule["first_round"] < 2 or rule["round"] < 1 or not rule["z"] > 0:
        raise ValueError(f"racing: need first_round >= 2, round >= 1, z > 0: {rule}")
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

    Start with `min` seeds; once all of them finished, add `step` more if the task's standard
    error is above `target_se`, never beyond `max`. A failed seed counts as run, so the rule
    ends; when no seed so far succeeded it adds none (more would fail alike: a task that cannot
    be trained, left out of the tables with its reason). Only the seeds asked for so far are
    read, so the answer depends on nothing else."""
    rule = baseline_rule(rule)
    scores = scores_by_seed
    if isinstance(scores, Sequence):
        scores = dict(enumerate(scores))
    n = rule["min"]
    while n < rule["max"] and all(seed in scores for seed in range(n)):
        so_far = [scores[seed] for seed in range(n)]
        if not len(_valid(so_far)) or task_se(so_far) <= rule["target_se"]:
            break
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


def _interval(matrix: np.ndarray, n_total: int, rule: Mapping):
    """(mean, standard error) per row of gains (NaN: failed, left out). SE: std (n - 1) of the
    row's gains / sqrt(n), times sqrt(1 - n / n_total) with `finite`; inf below two gains."""
    valid = ~np.isnan(matrix)
    count = valid.sum(axis=1)
    filled = np.where(valid, matrix, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=1) / count
        squares = np.where(valid, (matrix - mean[:, None]) ** 2, 0.0).sum(axis=1)
        se = np.sqrt(squares / (count - 1) / count)
    if rule["finite"]:
        se = se * np.sqrt(np.clip(1 - count / n_total, 0.0, 1.0))
    return mean, np.where(count >= 2, se, np.inf)


def _done(gains: Mapping[str, Mapping[str, float]], order: Sequence[str]) -> dict[str, int]:
    """{model: how many tasks of the order, from the first, it has a result for}."""
    done = {}
    for model, mine in gains.items():
        n = 0
        while n < len(order) and order[n] in mine:
            n += 1
        done[model] = n
    return done


def _width(z: float, se):
    """z standard errors; 0 when the SE is 0, even for z = inf (no more tasks to come)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.asarray(se) == 0, 0.0, z * np.asarray(se))


def _row(status: str, tasks: int, mean: float, se: float, z: float) -> dict:
    width = float(_width(z, se))
    return {"status": status, "tasks": tasks, "mean_gain": float(mean),
            "low": float(mean) - width, "high": float(mean) + width}  # fmt: skip


def _decide(matrix, models, racing, point, rule) -> tuple[dict, list]:
    """One decision after `point` tasks, on the rows `racing` of the gains matrix (models x
    tasks in order): ({model: row} for those rows, the rows still racing)."""
    z, last = rule["z"], point == matrix.shape[1]
    mean, se = _interval(matrix[racing, :point], matrix.shape[1], rule)
    lead = min(range(len(racing)), key=lambda i: (-_key(mean[i]), models[racing[i]]))
    width = _width(z, se)
    floor = mean[lead] - width[lead]
    rows, keep = {}, []
    for i, row in enumerate(racing):
        stop = not last and bool(mean[i] + width[i] < floor)
        status = "finished" if last else "stopped" if stop else "racing"
        rows[models[row]] = _row(status, point, mean[i], se[i], z)
        if status == "racing":
            keep.append(row)
    return rows, keep


def _replay(gains, order, rule) -> tuple[dict, int | None]:
    """(decisions, the checkpoint the still-racing candidates work towards, None when none)."""
    models, done, out = sorted(gains), _done(gains, order), {}
    matrix = np.array([[_nan(gains[m].get(t)) for t in order] for m in models], dtype=float)
    matrix = matrix.reshape(len(models), len(order))
    racing = list(range(len(models)))
    for point in checkpoints(len(order), rule):
        if not racing:
            break
        if any(done[models[i]] < point for i in racing):
            for i in racing:
                n = done[models[i]]
                mean, se = _interval(matrix[i : i + 1, :n], len(order), rule)
                out[models[i]] = _row("racing", n, mean[0], se[0], rule["z"])
            return out, point
        rows, racing = _decide(matrix, models, racing, point, rule)
        out.update(rows)
    return out, None


def racing_decisions(
    gains: Gains, order: Sequence[str], rule: Mapping | None = None
) -> dict[str, dict]:
    """Replay the racing rule on the results so far: {model: {"status": "racing" | "stopped" |
    "finished", "tasks": tasks of the order it ran (or has, while racing), "mean_gain", "low",
    "high": its interval at that point}}.

    gains: {model: {task: score minus the baseline's mean on that task}}, points; None or NaN for
    a failed cell (run, but left out). A decision is taken once every racing candidate has the
    first tasks of the order up to that checkpoint: the leader is the highest mean gain (ties:
    the smaller model id); a candidate whose mean + z SE is below the leader's mean - z SE is
    stopped. The SE is the std of the candidate's per-task gains / sqrt(tasks) (finite
    correction with `finite`), without the baseline's error: the baseline is the same for every
    candidate, so it moves all means together and cannot change who is ahead."""
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


def _key(mean: float) -> float:
    """A mean as a sort key: NaN (every gain failed) ranks last."""
    return -math.inf if math.isnan(mean) else mean
