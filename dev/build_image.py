"""Build the workflow's image with podman from a clean copy of the build context.

`make image` runs this. --host-pip hands this machine's pip settings (CA bundle, local wheel
folders, constraints, https indexes) to the Dockerfile's install step through dev/build-host/,
which the Dockerfile bind-mounts: none of it is copied into the image. Needed where packages
come through a TLS-intercepting proxy or a local wheel folder (the test machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTEXT_FILES = ["Dockerfile", "requirements.lock", "pyproject.toml", "model_recycling"]
DEFAULT_TAG = "ghcr.io/model-recycling/model-recycling:0.1.0"


def pip_config() -> dict[str, str]:
    """pip's effective settings ("global.cert" -> value), files and PIP_* variables together."""
    listed = subprocess.run(
        ["python3", "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    ).stdout
    settings = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        settings[key.split(".", 1)[-1]] = value.strip().strip("'\"")
    return settings


def write_host_pip(settings: dict[str, str], dest: Path) -> None:
    """dest/pip.conf naming copies of the local files it needs, under /build-host in the build."""
    lines = ["[global]"]
    if cert := settings.get("cert"):
        shutil.copyfile(cert, dest / "ca.crt")
        lines.append("cert = /build-host/ca.crt")
    if constraint := settings.get("constraint"):
        shutil.copyfile(constraint, dest / "constraints.txt")
        lines.append("constraint = /build-host/constraints.txt")
    links = []
    for number, folder in enumerate(settings.get("find-links", "").split()):
        if Path(folder).is_dir():
            _link_tree(Path(folder), dest / f"wheels{number}")
            links.append(f"/build-host/wheels{number}")
    if links:
        lines.append("find-links = " + " ".join(links))
    for key in ("index-url", "extra-index-url"):
        # Local file:// mirrors stay outside; the https indexes they mirror are reachable.
        urls = [u for u in settings.get(key, "").split() if u.startswith("http")]
        if urls:
            lines.append(f"{key} = " + " ".join(urls))
    (dest / "pip.conf").write_text("\n".join(lines) + "\n")


def _link_tree(source: Path, dest: Path) -> None:
    """Hard links where the folders share a file system (a wheel folder can be large)."""
    try:
        shutil.copytree(source, dest, copy_function=os.link)
    except OSError:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(source, dest)


def build_context(dest: Path, host_pip: bool) -> Path:
    for name in CONTEXT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, dest / name)
    (dest / "dev/build-host").mkdir(parents=True)
    if host_pip:
        write_host_pip(pip_config(), dest / "dev/build-host")
    return dest


def build(tag: str, base: str, torch: str, host_pip: bool, torch_cpu_index: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="image-context-") as tmp:
        context = build_context(Path(tmp), host_pip)
        command = ["podman", "build", "--tag", tag, "--build-arg", f"BASE={base}"]
        command += ["--build-arg", f"TORCH={torch}"]
        if torch_cpu_index is not None:
            command += ["--build-arg", f"TORCH_CPU_INDEX={torch_cpu_index}"]
        subprocess.run([*command, str(context)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tag", default=DEFAULT_TAG)
    parser.add_argument("--base", default="python:3.11-slim-bookworm")
    parser.add_argument("--torch", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument(
        "--torch-cpu-index", help="where the CPU torch wheel comes from ('' = pip's own settings)"
    )
    parser.add_argument("--host-pip", action="store_true", help="use this machine's pip settings")
    args = parser.parse_args()
    build(args.tag, args.base, args.torch, args.host_pip, args.torch_cpu_index)


if __name__ == "__main__":
    main()
