"""Write the model-card sections (results/model_cards/) from the aggregated tables."""

import argparse
import json

from model_recycling.model_cards import write_model_cards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", type=json.loads, required=True, help="the config, JSON")
    parser.add_argument("--tables", nargs="+", required=True, help="ARCH=TABLES_DIR")
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args()
    archs = {}
    for item in args.tables:
        arch, tables_dir = item.split("=", 1)
        spec = args.settings["architectures"][arch]
        archs[arch] = {
            "base_id": spec["base_model"]["id"],
            "tables_dir": tables_dir,
            "source_type": spec["source"]["type"],
        }
    index = write_model_cards(args.out_dir, archs, args.settings)
    print(f"{len(index)} model-card sections written to {args.out_dir}")


if __name__ == "__main__":
    main()
