"""List the candidate models of one architecture into candidates.tsv (kept and excluded)."""

import argparse
import json

from model_recycling.listing.sources import list_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", type=json.loads, required=True, help="architecture config, JSON")
    parser.add_argument("--cache", required=True, help="listing cache (Hub sources)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    list_job(args.arch, args.cache, args.out)


if __name__ == "__main__":
    main()
