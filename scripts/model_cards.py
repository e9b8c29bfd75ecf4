"""Write the model-card sections (results/model_cards/) from the aggregated tables."""

import argparse
import json

from model_recycling.pages.model_cards import model_cards_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", type=json.loads, required=True, help="the config, JSON")
    parser.add_argument("--tables", nargs="+", required=True, help="ARCH=TABLES_DIR")
    parser.add_argument("--out-dir", required=True)
    a = parser.parse_args()
    model_cards_job(a.settings, dict(item.split("=", 1) for item in a.tables), a.out_dir)


if __name__ == "__main__":
    main()
