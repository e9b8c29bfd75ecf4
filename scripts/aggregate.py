"""Aggregate one architecture's cells into tables (cells, baseline, ranking, gains, probes)."""

import argparse
import json
from pathlib import Path

from model_recycling.aggregate import aggregate_architecture
from model_recycling.io import atomic_write_json, read_json
from model_recycling.selection import read_selection
from model_recycling.sources import read_candidates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch-dir", required=True)
    parser.add_argument("--base-id", required=True)
    parser.add_argument("--settings", type=json.loads, required=True, help="targets and seeds")
    parser.add_argument("--task-metas", nargs="+", required=True)
    parser.add_argument("--candidates", required=True)
    parser.add_argument("--selection", required=True)
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args()
    s = args.settings
    fingerprints = {m["task"]: m["fingerprint"] for m in map(read_json, args.task_metas)}
    tables = aggregate_architecture(
        args.arch_dir, args.base_id, s["targets"], s["seeds"], s["baseline_seeds"],
        fingerprints, args.out_dir,
    )  # fmt: skip
    candidates = read_candidates(args.candidates)
    selection = read_selection(args.selection)
    counts = {
        "listed": len(candidates),
        "excluded": sum(c.status != "ok" for c in candidates),
        "probed": sum(r["status"] == "ok" for r in selection),
        "probe_failed": sum(r["status"] != "ok" for r in selection),
        "selected": sum(r["selected"] == "yes" for r in selection),
        "tested": len(tables["ranking"]),
    }
    atomic_write_json(Path(args.out_dir) / "counts.json", counts)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
