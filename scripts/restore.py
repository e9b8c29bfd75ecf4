"""Unpack a run archive into a new folder and, when it has a wheelhouse, install its
environment there offline (model_recycling/runtime/archive.py): `make restore`."""

import argparse

from model_recycling.runtime.archive import restore_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("archive")
    parser.add_argument("dest", help="a new (or empty) folder")
    parser.add_argument("--no-install", action="store_true", help="only unpack")
    a = parser.parse_args()
    restore_job(a.archive, a.dest, install=not a.no_install)


if __name__ == "__main__":
    main()
