"""Prepare one task from the registry: load it, build train/dev/eval examples, write meta.json."""

import argparse
import json

from model_recycling.tasks import DEFAULT_PROTOCOL, PROTOCOLS, load_registry, prepare_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registry", nargs="+", required=True)
    parser.add_argument("--task", required=True)
    parser.add_argument("--dev-holdout", type=json.loads, required=True, help="JSON")
    parser.add_argument("--protocol", choices=list(PROTOCOLS), default=DEFAULT_PROTOCOL)
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args()
    spec = load_registry(args.registry)[args.task]
    meta = prepare_task(spec, args.out_dir, args.dev_holdout, protocol=args.protocol)
    summary = {k: meta[k] for k in ("task", "sizes", "label_counts", "protocol", "fingerprint")}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
