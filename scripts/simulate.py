"""Replay adaptive baseline seeds and racing against the full protocol on per-model per-task
scores, as the pipeline runs them (model_recycling/rounds/simulate.py says what is replayed
and how each figure is computed): cells used, top-1, regret, gain coverage and the rule's error
against its stated rate."""

import argparse

from model_recycling.rounds.published import published_pairs, read_published
from model_recycling.rounds.simulate import read_tables, simulate_job
from model_recycling.rounds.synthetic import PROFILES, synthetic

SEED_RULE = {"min_seeds": "min", "max_seeds": "max", "step": "step", "target_se": "target_se"}
RACE_RULE = {
    "first_round": "first_round",
    "round": "round",
    "confidence": "confidence",
    "epsilon": "epsilon",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--published",
        action="append",
        default=[],
        help="a folder of the reference's published files: every pair in it; repeatable",
    )
    parser.add_argument(
        "--reference-models",
        action="append",
        default=[],
        help="a published <arch>_table.csv; repeatable, each with its baseline",
    )
    parser.add_argument(
        "--reference-baseline",
        action="append",
        default=[],
        help="its models_results_<arch>_pretrain.csv",
    )
    parser.add_argument(
        "--tables",
        action="append",
        default=[],
        help="results/<config>/architectures/<arch>/tables (this project's layout); repeatable",
    )
    parser.add_argument(
        "--synthetic",
        type=int,
        nargs="*",
        default=[],
        metavar="N_MODELS",
        help="synthetic data sets of N candidates each",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        nargs="+",
        default=["bert"],
        help="the seed noise of the synthetic data: each profile",
    )
    parser.add_argument("--top-k", type=int, nargs="+", default=[5, 20], help="pool sizes")
    parser.add_argument("--orders", type=int, default=1000, help="task orders replayed")
    parser.add_argument("--seed", type=int, default=0)
    for option in (*SEED_RULE, *RACE_RULE):
        kind = float if option in ("target_se", "confidence", "epsilon") else int
        parser.add_argument("--" + option.replace("_", "-"), type=kind)
    parser.add_argument("--no-racing", action="store_true", help="every candidate every task")
    parser.add_argument("--json", help="also write the figures here")
    a = parser.parse_args()
    if len(a.reference_models) != len(a.reference_baseline):
        parser.error("give one --reference-baseline for each --reference-models")
    pairs = [p for folder in a.published for p in published_pairs(folder)]
    pairs += list(zip(a.reference_models, a.reference_baseline, strict=True))
    archs = [read_published(table, baseline) for table, baseline in pairs]
    archs += [read_tables(folder) for folder in a.tables]
    archs += [synthetic(n, profile, a.seed) for profile in a.profile for n in a.synthetic]
    seeds = {key: getattr(a, opt) for opt, key in SEED_RULE.items() if getattr(a, opt) is not None}
    race = {key: getattr(a, opt) for opt, key in RACE_RULE.items() if getattr(a, opt) is not None}
    overrides = {"baseline_seeds": seeds, "racing": None if a.no_racing else race}
    simulate_job(archs, a.top_k, a.orders, a.seed, overrides, a.json)


if __name__ == "__main__":
    main()
