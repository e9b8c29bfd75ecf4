"""What a run tells its console beyond Snakemake's job lines: the failures it recorded and went on
past (a task that could not be prepared, an architecture without candidates, failed baseline
seeds, probes and cells), a disk that filled up, and pages of an earlier run set aside while new
ones are made, so that they are never shown as current."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from model_recycling.listing.candidates import read_candidates

PAGES = ("site", "site_html")
PREVIOUS = ".previous"
# A filesystem with less than this free is full for our purposes: a cell record or a log line
# no longer fits reliably.
FULL_BYTES = 64 << 20


def _status(path: Path) -> str:
    try:
        return json.loads(path.read_text()).get("status", "")
    except (OSError, ValueError, AttributeError):
        return ""


def failed_tasks(results: Path) -> list:
    lines = []
    for meta in sorted(results.glob("tasks/*/meta.json")):
        record = json.loads(meta.read_text())
        if record.get("status") == "failed":
            lines.append(f"task {record['task']} not prepared: {record['reason']}")
    return lines


def architecture_failures(results: Path, arch: str, base_folder: str) -> list:
    """An empty listing, failed baseline seeds, failed probes and cells of one architecture."""
    arch_dir = results / "architectures" / arch
    lines = []
    listing = arch_dir / "candidates.tsv"
    if listing.exists() and not any(c.status == "ok" for c in read_candidates(listing)):
        lines.append(f"{arch}: no usable candidate in the listing ({listing})")
    cells = list(arch_dir.glob("cells/*/*/seed*.json"))
    baseline = [p for p in cells if p.parts[-3] == base_folder and _status(p) == "failed"]
    if baseline:
        lines.append(f"{arch}: {len(baseline)} failed baseline seed(s), e.g. {baseline[0]}")
    probes = [p for p in arch_dir.glob("probe/*.json") if _status(p) == "failed"]
    others = [p for p in cells if p.parts[-3] != base_folder and _status(p) == "failed"]
    if probes or others:
        lines.append(
            f"{arch}: {len(probes)} failed probe(s), {len(others)} failed candidate cell(s) "
            f"(reasons on {arch}_candidates.md)"
        )
    return lines


def recorded_failures(results, bases: dict) -> list:
    """One line per kind of failure the run recorded. bases: architecture -> base folder name."""
    results = Path(results)
    lines = failed_tasks(results)
    for arch, base_folder in bases.items():
        lines += architecture_failures(results, arch, base_folder)
    return lines


def disk_full(paths) -> str:
    """'' unless a folder's filesystem is (nearly) full: then what to do, naming it."""
    for path in paths:
        path = Path(path)
        while not path.exists() and path != path.parent:
            path = path.parent
        free = shutil.disk_usage(path).free
        if free < FULL_BYTES:
            return (
                f"No space left on device: the filesystem of {path} has {free >> 20} MB free; "
                "jobs that write there fail (their logs may be empty). Free space and run again."
            )
    return ""


def set_aside_pages(results) -> list:
    """Move the pages of an earlier run to site.previous/ and site_html.previous/ before new
    ones are made; returns the folders moved."""
    moved = []
    for name in PAGES:
        pages = Path(results) / name
        if pages.is_dir():
            previous = pages.with_name(name + PREVIOUS)
            shutil.rmtree(previous, ignore_errors=True)
            pages.rename(previous)
            moved.append(previous)
    return moved


def drop_previous_pages(results) -> None:
    """The new pages are made: the earlier ones go."""
    for name in PAGES:
        shutil.rmtree(Path(results) / (name + PREVIOUS), ignore_errors=True)
