"""Propose the model-card sections as Hub pull requests (dry run unless --settings says
dry_run: false). The token is read from HF_TOKEN only when it will be used."""

import argparse
import json

from model_recycling.pages.card_pr import propose_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", required=True, help="results/model_cards")
    parser.add_argument("--settings", type=json.loads, required=True, help="card_pr, JSON")
    parser.add_argument("--site-url", default="")
    a = parser.parse_args()
    propose_job(a.cards, a.settings, a.site_url)


if __name__ == "__main__":
    main()
