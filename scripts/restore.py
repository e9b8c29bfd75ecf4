"""Unpack a run archive into a new folder and, when it has a wheelhouse, install its
environment there offline (model_recycling/archive.py): `make restore`."""

import argparse
from pathlib import Path

from model_recycling import archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("archive")
    parser.add_argument("dest", help="a new (or empty) folder")
    parser.add_argument("--no-install", action="store_true", help="only unpack")
    args = parser.parse_args()
    dest = Path(args.dest)
    index = archive.restore(Path(args.archive), dest)
    print(f"{dest}: {len(index['members'])} files checked, commit {index['commit']}")
    if (dest / "wheelhouse").is_dir() and not args.no_install:
        venv = archive.offline_install(dest)
        print(f"installed from {dest}/wheelhouse into {venv} (no index)")
    print(f"then: cd {dest} && .venv/bin/snakemake --configfile {index['config']} -n")


if __name__ == "__main__":
    main()
