"""Rank the probed candidates of one architecture and select the top-k."""

import argparse

from model_recycling.io import read_json
from model_recycling.selection import select_top_k, write_selection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probes", nargs="*", default=[], help="probe result files")
    parser.add_argument("--top-k", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rows = select_top_k([read_json(path) for path in args.probes], args.top_k)
    write_selection(args.out, rows)
    for row in rows:
        print(row["rank"], row["model_id"], row["probe_score"], row["status"], row["selected"])


if __name__ == "__main__":
    main()
