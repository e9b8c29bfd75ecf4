"""Rank the probed candidates of one architecture, select the top-k and draw the calibration
sample."""

import argparse
import json

from model_recycling.probing.proxies import PROXIES
from model_recycling.probing.selection import select_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probes", nargs="*", default=[], help="probe result files")
    # thousands of paths do not fit in one shell command (Linux caps one argument at 128 KiB)
    parser.add_argument("--probe-dir", help="instead of --probes: the folder of probe files")
    parser.add_argument("--candidates", help="with --probe-dir: the listing (candidates.tsv)")
    parser.add_argument("--filters", type=json.loads, default={}, help="candidates.only/exclude")
    parser.add_argument("--arch", default="", help="with --probe-dir: for error messages")
    parser.add_argument("--top-k", type=int, required=True)
    parser.add_argument("--rank-by", choices=PROXIES, required=True)
    parser.add_argument("--calibration-k", type=int, required=True)
    parser.add_argument("--calibration-seed", type=int, required=True)
    parser.add_argument("--probe-meta", help="the probe task's meta.json: check every record")
    parser.add_argument("--out", required=True)
    a = parser.parse_args()
    select_job(
        a.out, a.top_k, a.rank_by, a.calibration_k, a.calibration_seed, a.probes, a.probe_dir,
        a.candidates, a.filters, a.arch, a.probe_meta,
    )  # fmt: skip


if __name__ == "__main__":
    main()
