"""What a run will cost before it runs: jobs per stage, hours per stage and download volume, for a
config and its listings (model_recycling/cost.py says what each figure rests on)."""

import argparse
import json
from pathlib import Path

import yaml
from snakemake.utils import validate

from model_recycling.cost import estimate, load_sizes, report

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--root", default=".", help="the run's folder (holding results/)")
    parser.add_argument("--bench", default=str(REPO / "benchmarks/results.json"))
    parser.add_argument("--sizes", default=str(REPO / "resources/tasks/protocol_sizes.yaml"))
    parser.add_argument(
        "--assume-candidates", type=int, help="usable candidates per architecture not listed yet"
    )
    parser.add_argument(
        "--speedup", type=float, default=1.0, help="the job device's speed over the measured one"
    )
    parser.add_argument("--device", default="this machine's CPU (make bench)")
    parser.add_argument("--json", help="also write the estimate here")
    args = parser.parse_args()
    config = yaml.safe_load(Path(args.configfile).read_text())
    validate(config, str(REPO / "schemas/config.schema.yaml"))  # fills the defaults
    bench = json.loads(Path(args.bench).read_text())
    try:
        result = estimate(
            config, Path(args.root), bench, load_sizes(Path(args.sizes)), args.assume_candidates
        )
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f"cost: {err}") from None
    print(f"{args.configfile}:")
    print(report(result, args.speedup, args.device))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
