"""Write a run archive, archives/<name>.tar.gz (model_recycling/archive.py): `make archive`."""

import argparse
import tempfile
from pathlib import Path

from model_recycling import archive


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
    args = parser.parse_args()
    source = Path(args.source or args.workdir)
    name = args.name or archive.default_name(source, args.config)
    dest = Path(args.out_dir) / f"{name}.tar.gz"
    wheels = archive.wheelhouse(source / "requirements.lock") if args.wheels else None
    with tempfile.TemporaryDirectory() as tmp:
        image = archive.save_image(args.image, Path(tmp) / "image.tar") if args.image else None
        index = archive.write_archive(
            dest, Path(args.workdir), Path(args.config), source, wheels, image, args.allow_dirty
        )
    print(f"{dest}: {len(index['members'])} files, commit {index['commit']}")


if __name__ == "__main__":
    main()
