"""Build one part of the demo zoo: tasks, base, intermediate or decoys (see rules/demo_zoo.smk)."""

import argparse
import json

from model_recycling import demo_zoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=["tasks", "base", "intermediate", "decoys"])
    parser.add_argument("--settings", type=json.loads, required=True, help="JSON")
    parser.add_argument("--out", required=True)
    parser.add_argument("--base", help="base model folder (intermediate, decoys)")
    parser.add_argument("--lexicon", help="lexicon.json (base)")
    parser.add_argument("--task-dir", help="prepared source task (intermediate)")
    args = parser.parse_args()
    s = args.settings
    if args.part == "tasks":
        demo_zoo.write_tasks(args.out, s["tasks"], s["seed"])
    elif args.part == "base":
        demo_zoo.build_base(args.out, args.lexicon, s["base_model"], s["pretrain_steps"], s["seed"])
    elif args.part == "intermediate":
        demo_zoo.build_intermediate(args.base, args.task_dir, s["finetune"], s["seed"], args.out)
    else:
        demo_zoo.build_decoys(args.base, args.out, s["seed"])


if __name__ == "__main__":
    main()
