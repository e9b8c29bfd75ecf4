"""Write a run archive, archives/<name>.tar.gz (model_recycling/runtime/archive.py):
`make archive`."""

import argparse

from model_recycling.runtime.archive import archive_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="config.yaml", help="the config file that ran")
    parser.add_argument("--workdir", default=".", help="the workflow folder holding results/")
    parser.add_argument("--source", help="git checkout of the workflow (default: --workdir)")
    parser.add_argument("--name", help="archive name (default: <config name>-<commit>)")
    parser.add_argument("--out-dir", default="archives")
    parser.add_argument("--wheels", action="store_true", help="add a wheelhouse of the lock")
    parser.add_argument("--image", help="add this image (podman save), e.g. its tag")
    parser.add_argument("--allow-dirty", action="store_true", help="archive HEAD anyway")
    a = parser.parse_args()
    archive_job(a.config, a.workdir, a.source, a.name, a.out_dir, a.wheels, a.image, a.allow_dirty)


if __name__ == "__main__":
    main()
