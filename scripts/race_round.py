"""After a racing round: which selected candidates still race, each one's interval so far."""

import argparse
import json

from model_recycling.rounds.jobs import race_round_job
from model_recycling.tables.aggregate import add_base_arguments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch-dir", required=True)
    add_base_arguments(parser)
    parser.add_argument("--settings", type=json.loads, required=True,
                        help="targets, seeds, baseline_seeds, racing")  # fmt: skip
    parser.add_argument("--baseline-rounds", nargs="*", default=[],
                        help="adaptive seeds: the tasks' final seeds files")  # fmt: skip
    parser.add_argument("--task-metas", nargs="+", required=True)
    parser.add_argument("--candidates", required=True)
    parser.add_argument("--selection", required=True)
    parser.add_argument("--round", type=int, required=True)
    parser.add_argument("--out", required=True)
    a = parser.parse_args()
    decision = race_round_job(
        a.arch_dir, a.base_id, a.base_revision, a.base_dir, a.settings, a.task_metas,
        a.candidates, a.selection, a.baseline_rounds, a.round, a.out,
    )  # fmt: skip
    print(json.dumps(decision, indent=1))


if __name__ == "__main__":
    main()
