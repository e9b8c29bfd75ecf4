"""Prepare one task from the registry: load it, build train/dev/eval examples, write meta.json."""

import argparse
import json

from model_recycling.tasks.prepare import PROTOCOLS, prepare_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registry", nargs="+", required=True)
    parser.add_argument("--task", required=True)
    parser.add_argument("--dev-holdout", type=json.loads, required=True, help="JSON")
    parser.add_argument("--protocol", choices=list(PROTOCOLS), required=True)
    parser.add_argument("--out-dir", required=True)
    a = parser.parse_args()
    prepare_job(a.registry, a.task, a.dev_holdout, a.protocol, a.out_dir)


if __name__ == "__main__":
    main()
