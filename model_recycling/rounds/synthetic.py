"""Synthetic full-protocol results with the reference's statistics, for replays where no real
results are at hand (the simulator; make cost's expectation for an architecture not run yet):
36 tasks, the baseline's seed noise of a family (PROFILES), candidates whose true gains spread
over the tasks as the reference's best models' do."""

from __future__ import annotations

import math

import numpy as np

from model_recycling.rounds.published import Published
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


def family(base_id: str) -> str:
    """The seed-noise family a base's name suggests (t5-v1_1 is far noisier than t5)."""
    name = base_id.lower()
    if "t5" not in name:
        return "bert"
    return "t5-v1_1" if "v1_1" in name or "v1.1" in name else "t5"


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


def synthetic(n_models: int, profile: str = "bert", seed: int = 0, n_seeds: int = 20) -> Published:
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
    return Published(f"synthetic-{profile}", "base", list(TASKS), baseline, models, probe)
