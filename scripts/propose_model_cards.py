"""Propose the model-card sections as Hub pull requests (dry run unless --settings says
dry_run: false). The token is read from HF_TOKEN only when it will be used."""

import argparse
import json
import os
import sys

from model_recycling.card_pr import DEFAULT_ENDPOINT, propose_cards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", required=True, help="results/model_cards")
    parser.add_argument("--settings", type=json.loads, default={}, help="card_pr, JSON")
    parser.add_argument("--site-url", default="")
    args = parser.parse_args()
    dry_run = args.settings.get("dry_run", True)
    if not dry_run and not args.site_url:
        sys.exit("site_url is not set: a card would link to no published page")
    token = None if dry_run else os.environ.get("HF_TOKEN")
    endpoint = args.settings.get("endpoint", DEFAULT_ENDPOINT)
    print(f"{'dry run' if dry_run else 'proposing'} against {endpoint}", flush=True)
    propose_cards(args.cards, endpoint, token, dry_run)


if __name__ == "__main__":
    main()
