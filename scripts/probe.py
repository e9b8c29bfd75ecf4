"""Probe one candidate: frozen features, linear head, accuracy on the probe task."""

import argparse
import json
import sys

from model_recycling import disk_budget
from model_recycling.disk import (
    delete_weights,
    remove_scratch,
    restore_weights,
    scratch_folder,
    weights_deleted,
)
from model_recycling.guard import TEMPORARY_FAILURE
from model_recycling.jobs import probe_candidate, write_download_failure


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
        "--fetch", action="store_true",
        help="download the candidate into --model-dir first and delete the folder once probed",
    )  # fmt: skip
    parser.add_argument(
        "--delete-weights", action="store_true", help="delete the downloaded weights once probed"
    )
    parser.add_argument("--endpoint", default="", help="the Hub endpoint to fetch weights from")
    parser.add_argument("--allow-pickle", action="store_true")
    disk_budget.add_arguments(parser)
    args = parser.parse_args()
    budget = disk_budget.from_arguments(args)
    if args.fetch:  # refused before any download when outside results/fetching/; a folder an
        scratch_folder(args.model_dir)  # earlier attempt left is resumed, not deleted
    try:
        if args.fetch:
            fetch_or_record(args, budget)
        elif weights_deleted(args.model_dir):  # probed before: its weights are fetched again
            restore_weights(args.model_dir, lambda folder: fetch(args, folder, budget))
        record = probe_candidate(
            args.model_id, args.model_dir, args.revision, args.task_dir, args.settings,
            args.out, args.threads, args.tokenized_cache,
        )  # fmt: skip
    finally:
        if args.fetch:
            remove_scratch(args.model_dir)
    print(f"{args.model_id}: {record['status']} score={record['score']} {record.get('reason', '')}")
    if args.delete_weights:
        print(f"deleted {delete_weights(args.model_dir)['bytes']} bytes of weights")
    if budget and (args.fetch or args.delete_weights):
        budget.release(args.model_dir)


def fetch_or_record(args, budget) -> None:
    """The candidate's files into --model-dir; a download that fails for the model's own reason
    leaves the marker the probe records as its failure (as a host download's does)."""
    from model_recycling.sources.hub import HubDownloadError, HubUnreachableError

    try:
        fetch(args, args.model_dir, budget)
    except HubUnreachableError as err:
        print(err, file=sys.stderr)
        sys.exit(TEMPORARY_FAILURE)  # the guard never records this as the model's failure
    except HubDownloadError as err:
        options = {"model_id": args.model_id, "revision": args.revision}
        write_download_failure(args.model_dir, str(err), options)


def fetch(args, folder, budget) -> None:
    from model_recycling.sources.hub import download_candidate

    download_candidate(
        args.model_id, args.revision, folder, endpoint=args.endpoint or None,
        allow_pickle=args.allow_pickle, before_download=disk_budget.reserving(budget, folder),
    )  # fmt: skip


if __name__ == "__main__":
    main()
