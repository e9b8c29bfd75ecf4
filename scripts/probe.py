"""Probe one candidate: frozen features, linear head, accuracy on the probe task."""

import argparse
import json

from model_recycling.disk import delete_weights, restore_weights, weights_deleted
from model_recycling.jobs import probe_candidate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--task-dir", required=True)
    parser.add_argument("--settings", type=json.loads, required=True, help="probe config, JSON")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--tokenized-cache", help="folder of the tokenized cache (model_recycling/tokenized.py)"
    )
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--delete-weights", action="store_true", help="delete the downloaded weights once probed"
    )
    parser.add_argument("--endpoint", default="", help="the Hub endpoint to fetch deleted weights")
    parser.add_argument("--allow-pickle", action="store_true")
    args = parser.parse_args()
    if weights_deleted(args.model_dir):  # probed before: its weights are fetched again
        restore_weights(args.model_dir, lambda folder: fetch(args, folder))
    record = probe_candidate(
        args.model_id, args.model_dir, args.revision, args.task_dir, args.settings, args.out,
        args.threads, args.tokenized_cache,
    )  # fmt: skip
    print(f"{args.model_id}: {record['status']} score={record['score']} {record.get('reason', '')}")
    if args.delete_weights:
        print(f"deleted {delete_weights(args.model_dir)['bytes']} bytes of weights")


def fetch(args, folder) -> None:
    from model_recycling.sources.hub import download_candidate

    download_candidate(
        args.model_id, args.revision, folder, endpoint=args.endpoint or None,
        allow_pickle=args.allow_pickle,
    )  # fmt: skip


if __name__ == "__main__":
    main()
