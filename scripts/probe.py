"""Probe one candidate: frozen features, linear head, accuracy on the probe task."""

import argparse
import json

from model_recycling.fetching import budget
from model_recycling.fetching.lifecycle import WeightsPlan
from model_recycling.probing.job import probe_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--task-dir", required=True)
    parser.add_argument("--settings", type=json.loads, required=True, help="probe config, JSON")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--tokenized-cache",
        help="folder of the tokenized cache (model_recycling/tasks/tokenized.py)",
    )
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--fetch", action="store_true",
        help="download the candidate into --model-dir first and delete the folder once probed",
    )  # fmt: skip
    parser.add_argument(
        "--delete-weights", action="store_true", help="delete the downloaded weights once probed"
    )
    parser.add_argument("--endpoint", default="", help="the Hub endpoint to fetch weights from")
    parser.add_argument("--allow-pickle", action="store_true")
    budget.add_arguments(parser)
    a = parser.parse_args()
    weights = WeightsPlan(
        a.fetch, a.delete_weights, a.endpoint, a.allow_pickle, budget.from_arguments(a)
    )
    probe_job(
        a.model_id, a.model_dir, a.revision, a.task_dir, a.settings, a.out, a.threads,
        a.tokenized_cache, weights,
    )  # fmt: skip


if __name__ == "__main__":
    main()
