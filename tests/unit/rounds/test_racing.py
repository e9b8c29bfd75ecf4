"""Adaptive baseline seeds and racing (model_recycling/rounds/racing.py): seeds are added only
where a task's baseline is unsure or a seed failed, never beyond max; racing drops a clearly
worse candidate early, keeps the best, ends once the rest are within epsilon, and its t bounds
are exact; everything is deterministic."""

import math
import random

import numpy as np
import pytest

from model_recycling.rounds.racing import (
    average_se,
    baseline_rule,
    baseline_se,
    baseline_seeds_needed,
    checkpoints,
    next_tasks,
    racing_decisions,
    racing_ranking,
    racing_rule,
    t_quantile,
    task_order,
    task_se,
)

RULE = {"min": 3, "max": 12, "step": 3, "target_se": 1.0}
TASKS = [f"task{i:02d}" for i in range(36)]


def test_task_se_is_sample_std_over_root_n_and_skips_failed_seeds():
    assert task_se([70.0, 72.0, 68.0]) == pytest.approx(2.0 / math.sqrt(3))
    assert task_se([70.0, None, 72.0, math.nan]) == pytest.approx(math.sqrt(2) / math.sqrt(2))
    assert task_se([70.0, None]) == math.inf
    scores = {"a": [1.0, 3.0], "b": [5.0, 5.0, 5.0]}
    assert baseline_se(scores) == {"a": pytest.approx(1.0), "b": 0.0}
    assert average_se(scores) == pytest.approx(math.sqrt(1.0**2 + 0.0) / 2)


def test_adaptive_seeds_stop_at_min_when_the_target_is_met():
    assert baseline_seeds_needed([70.0, 70.2, 69.9], RULE) == [0, 1, 2]
    # more results than asked for change nothing: only the seeds asked for are read
    assert baseline_seeds_needed([70.0, 70.2, 69.9, 10.0, 90.0], RULE) == [0, 1, 2]


def test_adaptive_seeds_add_a_step_where_the_target_is_not_met_and_stop_once_met():
    # 3 seeds: std 2, SE 1.15 > 1; 6 seeds: std 1.26, SE 0.52 <= 1
    scores = [70.0, 72.0, 68.0, 70.0, 70.0, 70.0, 50.0, 90.0, 10.0]
    assert baseline_seeds_needed(scores[:3], RULE) == list(range(6))
    assert baseline_seeds_needed(scores, RULE) == list(range(6))


def test_adaptive_seeds_wait_for_the_seeds_asked_for():
    assert baseline_seeds_needed({0: 70.0, 1: 80.0}, RULE) == [0, 1, 2]
    assert baseline_seeds_needed({}, RULE) == [0, 1, 2]


def test_same_scores_give_the_same_seeds_as_a_list_or_a_mapping():
    rng = random.Random(3)
    for _ in range(50):
        scores = [rng.gauss(70, rng.choice([0.3, 2, 8])) for _ in range(12)]
        first = baseline_seeds_needed(scores, RULE)
        assert baseline_seeds_needed(list(scores), RULE) == first
        assert baseline_seeds_needed(dict(enumerate(scores)), RULE) == first
        assert first == list(range(len(first)))


def test_max_is_never_exceeded_and_failed_seeds_end_the_rule():
    rng = random.Random(0)
    for rule in ({"min": 2, "max": 7, "step": 3}, {"min": 5, "max": 5}, {"min": 1, "max": 20}):
        for _ in range(30):
            scores = [rng.uniform(0, 100) for _ in range(40)]
            assert len(baseline_seeds_needed(scores, rule)) <= rule["max"]
    # every seed failed: more would fail alike, none is added
    assert baseline_seeds_needed([None] * 40, RULE) == list(range(RULE["min"]))
    assert baseline_seeds_needed([70.0, None, None, 50.0, None, 90.0] * 5, RULE)[-1] == 11


def test_a_failed_seed_is_replaced_until_min_seeds_succeeded():
    # one of the first three failed: one more seed, and then the target decides as usual
    assert baseline_seeds_needed([70.0, None, 70.1], RULE) == [0, 1, 2, 3]
    assert baseline_seeds_needed([70.0, None, 70.1, 70.2], RULE) == [0, 1, 2, 3]
    assert baseline_seeds_needed([70.0, None, None, 70.2, None], RULE) == list(range(6))


def test_rules_reject_impossible_settings():
    with pytest.raises(ValueError):
        baseline_rule({"min": 5, "max": 3})
    with pytest.raises(ValueError):
        baseline_rule({"target_se": 0})
    with pytest.raises(ValueError):
        racing_rule({"round": 0})
    with pytest.raises(ValueError):
        racing_rule({"confidence": 0})
    with pytest.raises(ValueError):
        racing_rule({"epsilon": -1})
    assert racing_rule({"epsilon": 0.5})["first_round"] == racing_rule()["first_round"]


def test_t_quantiles_match_the_tables():
    # Student t quantiles as published (two-sided 95%, one-sided 95%, 99.5%, 99.9%)
    for p, df, value in [(0.975, 10, 2.228139), (0.95, 3, 2.353363), (0.995, 1, 63.656741),
                         (0.999, 7, 4.785290), (0.975, 120, 1.979930)]:  # fmt: skip
        assert t_quantile(p, df) == pytest.approx(value, abs=1e-5)
    assert t_quantile(1.0, 5) == math.inf


def test_task_order_is_deterministic_and_independent_of_the_input_order():
    first = task_order(TASKS, seed=7)
    shuffled = list(reversed(TASKS))
    random.Random(1).shuffle(shuffled)
    assert task_order(shuffled, seed=7) == first
    assert sorted(first) == sorted(TASKS)
    assert task_order(TASKS, seed=8) != first
    assert first != sorted(TASKS)


def test_checkpoints():
    assert checkpoints(10, {"first_round": 4, "round": 2}) == [4, 6, 8, 10]
    assert checkpoints(9, {"first_round": 4, "round": 3}) == [4, 7, 9]
    assert checkpoints(3, {"first_round": 4}) == [3]


def _gains(means, seed, sd=1.0, tasks=TASKS):
    rng = np.random.default_rng(seed)
    return {m: {t: float(mean + rng.normal(0, sd)) for t in tasks} for m, mean in means.items()}


def test_racing_stops_a_clearly_worse_candidate_at_the_first_decision_and_keeps_the_best():
    rule = {"first_round": 4, "round": 4}
    for seed in range(30):
        gains = _gains({"best": 3.0, "close": 2.5, "worse": -4.0}, seed, sd=0.5)
        decisions = racing_decisions(gains, task_order(TASKS, seed), rule)
        assert decisions["worse"]["status"] == "stopped"
        assert decisions["worse"]["tasks"] == 4
        assert decisions["best"]["status"] == "finished"
        assert decisions["best"]["tasks"] == 36
        assert racing_ranking(decisions)[0] in ("best", "close")


def test_the_best_is_never_stopped_among_many_close_candidates():
    means = {"best": 2.0, **{f"m{i:02d}": 0.5 + 0.02 * i for i in range(20)}}
    for seed in range(20):
        decisions = racing_decisions(_gains(means, seed), task_order(TASKS, seed))
        assert decisions["best"]["status"] == "finished"
        assert racing_ranking(decisions)[0] == "best"
        assert sum(row["status"] == "stopped" for row in decisions.values()) > 10


def test_confidence_1_never_stops_anyone():
    gains = _gains({"a": 5.0, "b": -5.0}, 0)
    decisions = racing_decisions(gains, TASKS, {"confidence": 1.0})
    assert {row["status"] for row in decisions.values()} == {"finished"}


def test_decisions_wait_for_the_slowest_candidate_and_next_tasks_say_what_is_missing():
    order = task_order(TASKS, 0)
    rule = {"first_round": 4, "round": 2}
    gains = _gains({"a": 3.0, "b": 2.0, "c": -6.0}, 1, sd=0.3, tasks=order[:4])
    del gains["b"][order[3]]
    assert {row["status"] for row in racing_decisions(gains, order, rule).values()} == {"racing"}
    assert next_tasks(gains, order, rule) == {"a": [], "b": [order[3]], "c": []}
    gains["b"][order[3]] = 2.0
    decisions = racing_decisions(gains, order, rule)
    assert decisions["c"] == {**decisions["c"], "status": "stopped", "why": "behind"}
    assert next_tasks(gains, order, rule) == {"a": order[4:6], "b": order[4:6], "c": []}


def test_a_failed_cell_counts_as_run_but_not_in_the_mean():
    order = TASKS[:6]
    gains = {"a": dict.fromkeys(order, 1.0), "b": dict.fromkeys(order, 1.0)}
    gains["a"][order[0]] = None
    gains["b"][order[1]] = math.nan
    decisions = racing_decisions(gains, order, {"first_round": 4, "epsilon": 0.0})
    assert decisions["a"] == {**decisions["a"], "status": "finished", "mean_gain": 1.0}
    assert decisions["b"]["tasks"] == 6


def test_ties_are_broken_by_model_id():
    gains = {m: dict.fromkeys(TASKS[:8], 1.0) for m in ("c", "a", "b")}
    decisions = racing_decisions(gains, TASKS[:8])
    assert racing_ranking(decisions) == ["a", "b", "c"]
    assert racing_decisions(dict(reversed(list(gains.items()))), TASKS[:8]) == decisions


def test_the_race_ends_once_every_other_candidate_is_within_epsilon():
    # b: a's gains a hundredth of a point lower, give or take 0.05 per task: never clearly
    # behind a after 8 tasks, but surely within 0.2 of it
    gains = _gains({"a": 1.0}, 3, sd=2.0)
    noise = np.random.default_rng(4).normal(0, 0.05, len(TASKS))
    gains["b"] = {t: g - 0.01 + e for (t, g), e in zip(gains["a"].items(), noise, strict=True)}
    decisions = racing_decisions(gains, TASKS, {"epsilon": 0.2})
    assert decisions["b"] == {**decisions["b"], "status": "stopped", "why": "within epsilon"}
    assert 0 < decisions["b"]["upper"] < 0.2 and decisions["b"]["tasks"] == 8
    assert decisions["a"] == {**decisions["a"], "status": "finished", "tasks": 36}
    # epsilon 0: a tie is never stopped, only evidence of being behind stops a candidate
    tied = {"a": gains["a"], "b": dict(gains["a"])}
    assert racing_decisions(tied, TASKS, {"epsilon": 0.0})["b"]["status"] == "finished"


def test_the_best_is_stopped_no_more_often_than_the_stated_rate():
    # five candidates, the best 0.3 points ahead with noisy, heavy-tailed per-task gains; over
    # 400 task orders the best is stopped as behind in at most 1 - confidence of them
    rng = np.random.default_rng(5)
    means = {"best": 0.3, "b": 0.0, "c": 0.0, "d": -0.2, "e": -1.0}
    base = {m: mean + rng.standard_t(3, 36) * 1.5 for m, mean in means.items()}
    for m, mean in means.items():  # the finite population's own mean is the stated one
        base[m] += mean - base[m].mean()
    gains = {m: dict(zip(TASKS, map(float, v), strict=True)) for m, v in base.items()}
    stopped = sum(
        racing_decisions(gains, task_order(TASKS, seed))["best"].get("why") == "behind"
        for seed in range(400)
    )
    assert stopped / 400 <= 0.05
