"""Build one part of the demo zoo: tasks, base, intermediate or decoys (see rules/demo_zoo.smk)."""

import argparse
import json

from model_recycling.demo.zoo import build_part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=["tasks", "base", "intermediate", "decoys"])
    parser.add_argument("--settings", type=json.loads, required=True, help="JSON")
    parser.add_argument("--out", required=True)
    parser.add_argument("--base", help="base model folder (intermediate, decoys)")
    parser.add_argument("--lexicon", help="lexicon.json (base)")
    parser.add_argument("--task-dir", help="prepared source task (intermediate)")
    a = parser.parse_args()
    build_part(a.part, a.settings, a.out, a.base, a.lexicon, a.task_dir)


if __name__ == "__main__":
    main()
