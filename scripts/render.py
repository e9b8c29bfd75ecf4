"""Render the site (markdown pages, charts, CSV downloads) from the aggregated tables."""

import argparse
import json
from pathlib import Path

from model_recycling.demo_page import render_demo_page
from model_recycling.io import read_json
from model_recycling.render import render_site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", type=json.loads, required=True, help="the config, JSON")
    parser.add_argument("--tables", nargs="+", required=True, help="ARCH=TABLES_DIR")
    parser.add_argument("--task-metas", nargs="+", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--zoo-models", help="the demo zoo's model folders (its own page)")
    args = parser.parse_args()
    settings = args.settings
    settings["task_meta"] = {m["task"]: m for m in map(read_json, args.task_metas)}
    archs = {}
    for item in args.tables:
        arch, tables_dir = item.split("=", 1)
        archs[arch] = {
            "base_id": settings["architectures"][arch]["base_model"]["id"],
            "tables_dir": tables_dir,
            "counts": read_json(Path(tables_dir) / "counts.json"),
        }
    render_site(args.out_dir, archs, settings)
    if args.zoo_models:
        render_demo_page(args.out_dir, settings, args.zoo_models)


if __name__ == "__main__":
    main()
