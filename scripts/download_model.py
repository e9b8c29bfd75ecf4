"""Download one Hub model at a pinned revision (only config, tokenizer and one weight format)."""

import argparse

from model_recycling.fetching import budget
from model_recycling.fetching.download import download_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--revision", required=True, help="commit sha")
    parser.add_argument("--out", required=True)
    parser.add_argument("--endpoint", default="", help="the source's Hub endpoint ('': default)")
    parser.add_argument(
        "--allow-pickle", action="store_true", help="accept pytorch_model*.bin weights"
    )
    budget.add_arguments(parser)  # the probe releases the reservation once it is done
    a = parser.parse_args()
    download_job(
        a.model_id, a.revision, a.out, a.endpoint, a.allow_pickle, budget.from_arguments(a)
    )


if __name__ == "__main__":
    main()
