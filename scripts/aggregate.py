"""Aggregate one architecture's cells into tables (cells, baseline, ranking, gains, probes,
invalid records, every candidate's outcome)."""

import argparse
import json
from pathlib import Path

from model_recycling.aggregate import aggregate_architecture
from model_recycling.io import atomic_write_json, read_json
from model_recycling.selection import read_selection
from model_recycling.sources import read_candidates
from model_recycling.sources.local import content_revision


def current_revisions(candidates, base_id: str, base_revision: str, base_dir: str) -> dict:
    """Model id -> the revision the run uses now: candidates.tsv's, and the base's as its cells
    get it ("auto": a local base's content hash, as jobs.finetune_cell computes it)."""
    revisions = {c.model_id: c.revision for c in candidates if c.revision}
    revisions[base_id] = content_revision(base_dir) if base_revision == "auto" else base_revision
    return revisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch-dir", required=True)
    parser.add_argument("--base-id", required=True)
    parser.add_argument("--base-revision", required=True, help="'auto': the folder's hash")
    parser.add_argument("--base-dir", required=True)
    parser.add_argument("--settings", type=json.loads, required=True, help="targets and seeds")
    parser.add_argument("--task-metas", nargs="+", required=True)
    parser.add_argument("--probe-meta", required=True)
    parser.add_argument("--candidates", required=True)
    parser.add_argument("--selection", required=True)
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args()
    s = args.settings
    candidates = read_candidates(args.candidates)
    revisions = current_revisions(candidates, args.base_id, args.base_revision, args.base_dir)
    tables = aggregate_architecture(
        args.arch_dir, args.base_id, s["targets"], s["seeds"], s["baseline_seeds"],
        {m["task"]: m for m in map(read_json, args.task_metas)}, read_json(args.probe_meta),
        revisions, args.out_dir, listing=(args.candidates, args.selection),
    )  # fmt: skip
    selection = read_selection(args.selection)
    counts = {
        "listed": len(candidates),
        "excluded": sum(c.status != "ok" for c in candidates),
        "probed": sum(r["status"] == "ok" for r in selection),
        "probe_failed": sum(r["status"] != "ok" for r in selection),
        "selected": sum(r["selected"] == "yes" for r in selection),
        "tested": len(tables["ranking"]),
        "invalid": len(tables["invalid"]),
    }
    atomic_write_json(Path(args.out_dir) / "counts.json", counts)
    print(json.dumps(counts))
    for _, row in tables["invalid"].iterrows():
        print(f"invalid {row.kind} {row.path}: {row.reason}")


if __name__ == "__main__":
    main()
