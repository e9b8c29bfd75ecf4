"""What a run will cost before it runs: jobs per stage, hours per stage and download volume, for a
config and its listings (model_recycling/planning/cost.py says what each figure rests on)."""

import argparse

from model_recycling.planning.cost import cost_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--root", default=".", help="the run's folder (holding results/)")
    parser.add_argument("--bench", help="default: benchmarks/results.json")
    parser.add_argument("--sizes", help="default: resources/tasks/protocol_sizes.yaml")
    parser.add_argument(
        "--assume-candidates", type=int, help="usable candidates per architecture not listed yet"
    )
    parser.add_argument(
        "--speedup", type=float, default=1.0, help="the job device's speed over the measured one"
    )
    parser.add_argument("--device", default="this machine's CPU (make bench)")
    parser.add_argument("--json", help="also write the estimate here")
    a = parser.parse_args()
    cost_job(
        a.configfile, a.root, a.bench, a.sizes, a.assume_candidates, a.speedup, a.device, a.json
    )


if __name__ == "__main__":
    main()
