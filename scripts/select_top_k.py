"""Rank the probed candidates of one architecture, select the top-k and draw the calibration
sample."""

import argparse
import json
from pathlib import Path

from model_recycling.io import read_json
from model_recycling.naming import safe_name
from model_recycling.proxies import PROXIES
from model_recycling.selection import COLUMNS, select_top_k, write_selection
from model_recycling.sources import read_candidates, usable_candidates


def probe_paths(args) -> list:
    """--probes as given, else the usable candidates' files in --probe-dir (thousands of paths
    do not fit in one shell command: Linux caps one argument at 128 KiB)."""
    if args.probe_dir is None:
        return args.probes
    listing = read_candidates(args.candidates)
    usable = usable_candidates(listing, args.filters, args.arch, args.candidates)
    return [Path(args.probe_dir) / f"{safe_name(model_id)}.json" for model_id in usable]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probes", nargs="*", default=[], help="probe result files")
    parser.add_argument("--probe-dir", help="instead of --probes: the folder of probe files")
    parser.add_argument("--candidates", help="with --probe-dir: the listing (candidates.tsv)")
    parser.add_argument("--filters", type=json.loads, default={}, help="candidates.only/exclude")
    parser.add_argument("--arch", default="", help="with --probe-dir: for error messages")
    parser.add_argument("--top-k", type=int, required=True)
    parser.add_argument("--rank-by", choices=PROXIES, default="linear_probe")
    parser.add_argument("--calibration-k", type=int, default=0)
    parser.add_argument("--calibration-seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rows = select_top_k(
        [read_json(path) for path in probe_paths(args)],
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
