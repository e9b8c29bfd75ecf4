"""Download one Hub model at a pinned revision (only config, tokenizer and one weight format)."""

import argparse

from model_recycling.sources.hub import download_candidate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--revision", required=True, help="commit sha")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    path = download_candidate(args.model_id, args.revision, args.out)
    print(f"{args.model_id}@{args.revision} -> {path}")


if __name__ == "__main__":
    main()
