"""List the candidate models of one architecture into candidates.tsv (kept and excluded)."""

import argparse
import json

from model_recycling.sources import list_candidates, write_candidates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", type=json.loads, required=True, help="architecture config, JSON")
    parser.add_argument("--cache", required=True, help="listing cache (Hub sources)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    candidates = list_candidates(args.arch, args.cache)
    write_candidates(args.out, candidates)
    kept = sum(c.status == "ok" for c in candidates)
    print(f"{len(candidates)} models listed, {kept} kept, {len(candidates) - kept} excluded")
    for c in candidates:
        if c.status != "ok":
            print(f"excluded {c.model_id}: {c.reason}")


if __name__ == "__main__":
    main()
