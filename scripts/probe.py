"""Probe one candidate: frozen features, linear head, accuracy on the probe task."""

import argparse
import json

from model_recycling.jobs import probe_candidate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--task-dir", required=True)
    parser.add_argument("--settings", type=json.loads, required=True, help="probe config, JSON")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    record = probe_candidate(
        args.model_id, args.model_dir, args.revision, args.task_dir, args.settings, args.out,
        args.threads,
    )  # fmt: skip
    print(f"{args.model_id}: {record['status']} score={record['score']} {record.get('reason', '')}")


if __name__ == "__main__":
    main()
