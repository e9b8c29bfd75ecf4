"""Render the site (markdown pages, charts, CSV downloads) from the aggregated tables."""

import argparse
import json

from model_recycling.pages.site import render_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", type=json.loads, required=True, help="the config, JSON")
    parser.add_argument("--tables", nargs="+", required=True, help="ARCH=TABLES_DIR")
    parser.add_argument("--task-metas", nargs="+", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--zoo-models", help="the demo zoo's model folders (its own page)")
    a = parser.parse_args()
    tables = dict(item.split("=", 1) for item in a.tables)
    render_job(a.settings, tables, a.task_metas, a.out_dir, a.zoo_models)


if __name__ == "__main__":
    main()
