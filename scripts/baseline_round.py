"""After a round of one task's baseline seeds: the seeds the adaptive rule asks for now."""

import argparse
import json

from model_recycling.rounds.jobs import baseline_round_job
from model_recycling.tables.aggregate import add_base_arguments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task-meta", required=True)
    parser.add_argument("--cells", nargs="+", required=True, help="the round's baseline cells")
    parser.add_argument("--rule", type=json.loads, required=True, help="the baseline_seeds rule")
    add_base_arguments(parser)
    parser.add_argument("--round", type=int, required=True)
    parser.add_argument("--out", required=True)
    a = parser.parse_args()
    decision = baseline_round_job(
        a.task_meta, a.cells, a.rule, a.base_id, a.base_revision, a.base_dir, a.round, a.out
    )
    print(json.dumps(decision, indent=1))


if __name__ == "__main__":
    main()
