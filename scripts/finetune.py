"""Finetune one cell: (architecture, model, task, seed) -> one JSON result."""

import argparse
import json

from model_recycling.finetuning.cell import cell_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", required=True)
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--role", choices=["baseline", "candidate"], required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--task-dir", required=True)
    parser.add_argument("--settings", type=json.loads, required=True, help="finetune config, JSON")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--tokenized-cache",
        help="folder of the tokenized cache (model_recycling/tasks/tokenized.py)",
    )
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--listing", help="a baseline cell: the listing that pins the base's revision (checked)"
    )
    a = parser.parse_args()
    cell_job(
        a.arch, a.model_id, a.role, a.model_dir, a.revision, a.task_dir, a.settings, a.seed, a.out,
        a.threads, a.tokenized_cache, a.listing,
    )  # fmt: skip


if __name__ == "__main__":
    main()
