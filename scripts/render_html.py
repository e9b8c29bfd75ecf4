"""Render the Jekyll site (results/site) to self-contained HTML that opens from disk."""

import argparse

from model_recycling.pages.html import render_html_site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site", required=True, help="the markdown site (results/site)")
    parser.add_argument("--out-dir", required=True, help="where the HTML goes")
    args = parser.parse_args()
    render_html_site(args.site, args.out_dir)


if __name__ == "__main__":
    main()
