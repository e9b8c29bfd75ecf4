"""Rank the probed candidates of one architecture, select the top-k and draw the calibration
sample."""

import argparse

from model_recycling.io import read_json
from model_recycling.proxies import PROXIES
from model_recycling.selection import COLUMNS, select_top_k, write_selection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probes", nargs="*", default=[], help="probe result files")
    parser.add_argument("--top-k", type=int, required=True)
    parser.add_argument("--rank-by", choices=PROXIES, default="linear_probe")
    parser.add_argument("--calibration-k", type=int, default=0)
    parser.add_argument("--calibration-seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rows = select_top_k(
        [read_json(path) for path in args.probes],
        args.top_k,
        rank_by=args.rank_by,
        calibration_k=args.calibration_k,
        calibration_seed=args.calibration_seed,
    )
    write_selection(args.out, rows)
    print(f"ranked by {args.rank_by}; columns: {' '.join(COLUMNS)}")
    for row in rows:
        print(*(row[column] for column in COLUMNS))


if __name__ == "__main__":
    main()
