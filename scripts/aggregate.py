"""Aggregate one architecture's cells into tables (cells, baseline, ranking, gains, probes,
invalid records, every candidate's outcome)."""

import argparse
import json

from model_recycling.tables.aggregate import add_base_arguments, aggregate_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch-dir", required=True)
    add_base_arguments(parser)
    parser.add_argument("--settings", type=json.loads, required=True, help="targets and seeds")
    parser.add_argument("--task-metas", nargs="+", required=True)
    parser.add_argument("--probe-meta", required=True)
    parser.add_argument("--candidates", required=True)
    parser.add_argument("--selection", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--baseline-rounds", nargs="*", default=[],
                        help="adaptive seeds: the tasks' final seeds files")  # fmt: skip
    parser.add_argument("--racing", help="the last racing round's decisions")
    a = parser.parse_args()
    aggregate_job(
        a.arch_dir, a.base_id, a.base_revision, a.base_dir, a.settings, a.task_metas,
        a.probe_meta, a.candidates, a.selection, a.out_dir, a.baseline_rounds, a.racing,
    )  # fmt: skip


if __name__ == "__main__":
    main()
