"""Replay adaptive baseline seeds and racing against the full protocol on per-model per-task
scores (model_recycling/runtime/simulate.py says what is replayed and how each figure is
computed): cells used, top-1 agreement, regret@k and the baseline's standard error."""

import argparse

from model_recycling.runtime.simulate import PROFILES, simulate_job

SEED_RULE = {"min_seeds": "min", "max_seeds": "max", "step": "step", "target_se": "target_se"}
RACE_RULE = {"first_round": "first_round", "round": "round", "z": "z"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", action="append", default=[], help="results/architectures/"
                        "<arch>/tables (this project's layout); repeatable")  # fmt: skip
    parser.add_argument("--reference-models", help="the reference's model table (CSV)")
    parser.add_argument("--reference-baseline", help="the reference's baseline table (CSV)")
    parser.add_argument("--synthetic", type=int, nargs="*", default=[], metavar="N_MODELS",
                        help="synthetic data sets of N candidates each")  # fmt: skip
    parser.add_argument("--profile", choices=sorted(PROFILES), nargs="+", default=["bert"],
                        help="the seed noise of the synthetic data: each profile")  # fmt: skip
    parser.add_argument("--orders", type=int, default=200, help="task orders replayed")
    parser.add_argument("--seed", type=int, default=0)
    for option in (*SEED_RULE, *RACE_RULE):
        kind = float if option in ("target_se", "z") else int
        parser.add_argument("--" + option.replace("_", "-"), type=kind)
    parser.add_argument("--no-finite", action="store_true", help="racing SE without the finite "
                        "population correction")  # fmt: skip
    parser.add_argument("--json", help="also write the figures here")
    a = parser.parse_args()
    if bool(a.reference_models) != bool(a.reference_baseline):
        parser.error("--reference-models and --reference-baseline go together")
    seeds = {key: getattr(a, opt) for opt, key in SEED_RULE.items() if getattr(a, opt) is not None}
    race = {key: getattr(a, opt) for opt, key in RACE_RULE.items() if getattr(a, opt) is not None}
    if a.no_finite:
        race["finite"] = False
    reference = (a.reference_models, a.reference_baseline) if a.reference_models else None
    simulate_job(
        a.tables, reference, a.synthetic, a.profile, a.orders, a.seed,
        {"baseline_seeds": seeds, "racing": race}, a.json,
    )  # fmt: skip


if __name__ == "__main__":
    main()
