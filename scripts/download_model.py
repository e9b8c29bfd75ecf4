"""Download one Hub model at a pinned revision (only config, tokenizer and one weight format)."""

import argparse
import sys

from model_recycling import disk_budget
from model_recycling.guard import TEMPORARY_FAILURE
from model_recycling.sources.hub import HubUnreachableError, download_candidate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--revision", required=True, help="commit sha")
    parser.add_argument("--out", required=True)
    parser.add_argument("--endpoint", default="", help="the source's Hub endpoint ('': default)")
    parser.add_argument(
        "--allow-pickle", action="store_true", help="accept pytorch_model*.bin weights"
    )
    disk_budget.add_arguments(parser)  # the probe releases the reservation once it is done
    args = parser.parse_args()
    try:
        path = download_candidate(
            args.model_id,
            args.revision,
            args.out,
            endpoint=args.endpoint or None,
            allow_pickle=args.allow_pickle,
            before_download=disk_budget.reserving(disk_budget.from_arguments(args), args.out),
        )
    except HubUnreachableError as err:
        print(err, file=sys.stderr)
        sys.exit(TEMPORARY_FAILURE)  # the guard never records this as the model's failure
    print(f"{args.model_id}@{args.revision} -> {path}")


if __name__ == "__main__":
    main()
