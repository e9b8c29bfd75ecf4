"""A run archive: one tar.gz that restores a finished run on another machine, offline.

It holds the workflow at its commit (`git archive HEAD`), the config that ran, every listing,
probe record, cell, table, page, log and the run manifest of its results folder (and the demo
zoo's files but its weights, when the config builds it), Snakemake's metadata
(so a dry run there plans nothing), and optionally a wheelhouse of requirements.lock and the
image (`podman save`). No model weights and no caches. ARCHIVE.json lists every member with
its sha256; restore() checks them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import warnings
from pathlib import Path

from model_recycling.planning.plan import ZOO_DIR, results_dir_of

INDEX = "ARCHIVE.json"
WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx"}
SKIPPED_DIRS = {"__pycache__", ".cache", "conda", "singularity", "shadow", "incomplete"}
WHEELHOUSE_CACHE = Path.home() / ".cache" / "model-recycling" / "wheelhouse"


class DirtyTreeError(RuntimeError):
    pass


def git_head(source: Path, allow_dirty: bool) -> tuple[str, bytes]:
    """(commit, `git archive HEAD` as a tar); a tree with uncommitted changes is refused
    unless allow_dirty, because the archive would hold other code than the one that ran."""
    git = ["git", "-C", str(source)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    if commit.returncode != 0:
        raise DirtyTreeError(f"{source} is not a git checkout: {commit.stderr.strip()}")
    status = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    if status:
        message = f"{source} has uncommitted changes; the archive holds HEAD:\n{status}"
        if not allow_dirty:
            raise DirtyTreeError(message + "commit them, or allow a dirty tree (ALLOW_DIRTY=1)")
        warnings.warn(message, stacklevel=2)
    tar = subprocess.run([*git, "archive", "--format=tar", "HEAD"], capture_output=True,
                         check=True).stdout  # fmt: skip
    return commit.stdout.strip(), tar


def result_files(workdir: Path, results: str) -> list[Path]:
    """What the run wrote (its results folder, the demo zoo) and Snakemake's metadata, less
    weights and caches."""
    files = []
    for top in (results, ZOO_DIR, ".snakemake/metadata"):
        for path in sorted((workdir / top).rglob("*")):
            relative = path.relative_to(workdir)
            if not path.is_file() or path.is_symlink():
                continue
            if SKIPPED_DIRS & set(relative.parts) or path.suffix in WEIGHT_SUFFIXES:
                continue
            files.append(relative)
    return files


def wheelhouse(lock: Path, cache_root: Path = WHEELHOUSE_CACHE) -> Path:
    """Every package of the lock as a wheel (sdists built once), downloaded once per lock:
    cached by the lock's hash."""
    folder = cache_root / hashlib.sha256(lock.read_bytes()).hexdigest()[:16]
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "-r", str(lock),
                        "--wheel-dir", str(folder)], check=True)  # fmt: skip
        (folder / ".complete").touch()
    return folder


def _add_file(tar: tarfile.TarFile, index: dict, path: Path, name: str) -> None:
    index[name] = _sha256(path)
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with open(path, "rb") as handle:
        tar.addfile(info, handle)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o644
    tar.addfile(info, io.BytesIO(data))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_archive(
    dest: Path,
    workdir: Path,
    config: Path,
    source: Path | None = None,
    wheels: Path | None = None,
    image: Path | None = None,
    allow_dirty: bool = False,
) -> dict:
    """dest (.tar.gz) from a finished run in workdir, the workflow of git checkout source
    (default workdir) at HEAD and the config file that ran. Returns the archive's index."""
    workdir, source = Path(workdir), Path(source or workdir)
    commit, code_tar = git_head(source, allow_dirty)
    results = results_dir_of(config)
    if not (workdir / results / "site/manifest.json").is_file():
        raise FileNotFoundError(f"{workdir}/{results}/site/manifest.json: no finished run there")
    members = {}
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    # Level 6 (gzip's default): 9 gains little on wheels and images and takes far longer.
    with (
        open(partial, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as zipped,
    ):
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            files = result_files(workdir, results)
            # git gives every file the commit's time; a commit made after the run would look
            # newer than the results and a dry run there would plan them again.
            oldest = min(int((workdir / p).stat().st_mtime) for p in files)
            with tarfile.open(fileobj=io.BytesIO(code_tar)) as code:
                for info in code.getmembers():
                    info.mtime = min(info.mtime, oldest)
                    data = code.extractfile(info) if info.isfile() else None
                    if data is not None:
                        content = data.read()
                        members[info.name] = hashlib.sha256(content).hexdigest()
                        data = io.BytesIO(content)
                    tar.addfile(info, data)
            config_name = f"archived-config/{Path(config).name}"
            _add_file(tar, members, Path(config), config_name)
            for relative in files:
                _add_file(tar, members, workdir / relative, relative.as_posix())
            for wheel in sorted(Path(wheels).glob("*.whl")) if wheels else []:
                _add_file(tar, members, wheel, f"wheelhouse/{wheel.name}")
            if image:
                _add_file(tar, members, Path(image), "image.tar")
            index = {"commit": commit, "config": config_name, "members": members}
            blob = json.dumps(index, indent=1, sort_keys=True).encode()
            _add_bytes(tar, INDEX, blob, int(os.path.getmtime(workdir / results / "site")))
    partial.replace(dest)
    return index


def restore(archive: Path, dest: Path) -> dict:
    """Unpack archive into dest (new or empty) and check every member against the index."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty: restore into a new folder")
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    index = json.loads((dest / INDEX).read_text())
    for name, digest in index["members"].items():
        if _sha256(dest / name) != digest:
            raise ValueError(f"{archive}: {name} does not match its sha256 in {INDEX}")
    return index


def offline_install(dest: Path, python: str = "python3", prefix: list[str] = ()) -> Path:
    """A fresh venv in dest/.venv with the lock installed from dest/wheelhouse only (no index,
    none of this machine's pip settings); prefix wraps the pip step (e.g. `unshare --net`)."""
    dest = Path(dest)
    venv = dest / ".venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--no-compile"]
    pip += ["--no-index", "--find-links", str(dest / "wheelhouse")]
    pip += ["-r", str(dest / "requirements.lock")]
    subprocess.run([*prefix, *pip], env=env, check=True)
    return venv


def default_name(source: Path, config: Path) -> str:
    """<config name>-<short commit>, e.g. hub-3f2a9c1d0b7e."""
    commit = subprocess.run(["git", "-C", str(source), "rev-parse", "--short=12", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    return f"{Path(config).stem}-{commit}"


def save_image(tag: str, dest: Path) -> Path:
    subprocess.run(["podman", "save", "--quiet", "--output", str(dest), tag], check=True)
    return dest


def archive_job(config, workdir=".", source=None, name=None, out_dir="archives", wheels=False,
                image=None, allow_dirty=False) -> Path:  # fmt: skip
    """`make archive`: archives/<name>.tar.gz of the run in `workdir` made by `config`; `source`:
    the git checkout of the workflow (default: workdir); wheels: add a wheelhouse of the lock;
    image: add this image (podman save)."""
    source = Path(source or workdir)
    name = name or default_name(source, config)
    dest = Path(out_dir) / f"{name}.tar.gz"
    wheel_dir = wheelhouse(source / "requirements.lock") if wheels else None
    with tempfile.TemporaryDirectory() as tmp:
        image_tar = save_image(image, Path(tmp) / "image.tar") if image else None
        index = write_archive(
            dest, Path(workdir), Path(config), source, wheel_dir, image_tar, allow_dirty
        )
    print(f"{dest}: {len(index['members'])} files, commit {index['commit']}")
    return dest


def restore_job(archive: Path, dest: Path, install: bool = True) -> dict:
    """`make restore`: unpack into a new folder, check every file, and with a wheelhouse install
    the environment there offline."""
    index = restore(Path(archive), Path(dest))
    print(f"{dest}: {len(index['members'])} files checked, commit {index['commit']}")
    if (Path(dest) / "wheelhouse").is_dir() and install:
        venv = offline_install(Path(dest))
        print(f"installed from {dest}/wheelhouse into {venv} (no index)")
    print(f"then: cd {dest} && .venv/bin/snakemake --configfile {index['config']} -n")
    return index
