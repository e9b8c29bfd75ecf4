"""What a run tells its console beyond Snakemake's job lines: the failures it recorded and went on
past (a task that could not be prepared, an architecture without candidates, failed baseline
seeds, probes and cells), a disk that filled up, and pages of an earlier run set aside while new
ones are made, so that they are never shown as current."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

from model_recycling.listing.candidates import read_candidates
from model_recycling.probing.selection import read_selection
from model_recycling.tables.coverage import unreadable_tasks

PAGES = ("site", "site_html")
PREVIOUS = ".previous"
# A filesystem with less than this free is full for our purposes: a cell record or a log line
# no longer fits reliably.
FULL_BYTES = 64 << 20
# A traceback's own lines, which never say what went wrong.
FRAME_LINES = ("Traceback", "During handling", "The above exception")


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


def _model_name(path: Path) -> str:
    try:
        return Path(json.loads(path.read_text()).get("model_id", "")).name
    except (OSError, ValueError, AttributeError):
        return ""


def architecture_failures(results: Path, arch: str, base_folder: str, intended=()) -> list:
    """An empty listing, failed baseline seeds, failed probes and cells of one architecture.
    intended: model folder names made to fail (the demo zoo's decoys), said as such."""
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
        failing = {_model_name(p) for p in probes + others}
        decoys = sorted(failing & set(intended))
        on_purpose = len(decoys) == len(failing)
        why = f"; the demo's decoys {', '.join(decoys)}, failing on purpose" if on_purpose else ""
        lines.append(
            f"{arch}: {len(probes)} failed probe(s), {len(others)} failed candidate cell(s) "
            f"(reasons on {arch}_candidates.md{why})"
        )
    return lines


def short_selections(results, top_k: dict) -> list:
    """Architectures where fewer candidates could be selected than top_k asks for (top_k:
    architecture -> its top_k): every ranked one is then finetuned, and said so."""
    lines = []
    for arch, k in top_k.items():
        path = Path(results) / "architectures" / arch / "selected.tsv"
        if not path.exists():
            continue
        chosen = sum(row["selected"] == "yes" for row in read_selection(path))
        if chosen < k:
            lines.append(
                f"{arch}: top_k is {k}, but only {chosen} candidate(s) were probed without "
                f"failure: all {chosen} are finetuned"
            )
    return lines


def unreadable_text(results, archs) -> list:
    """One line per architecture whose base's tokenizer mostly cannot read a task's text."""
    lines = []
    for arch in archs:
        found = unreadable_tasks(Path(results) / "architectures" / arch / "tables")
        if found:
            named = ", ".join(f"{task} ({rate:.0%})" for task, rate in found)
            lines.append(
                f"{arch}: most tokens of {named} are unknown to the base's tokenizer: every "
                "model reads mostly noise there, its scores tell little"
            )
    return lines


def recorded_failures(results, bases: dict, intended=()) -> list:
    """One line per kind of failure the run recorded. bases: architecture -> base folder name;
    intended: model folder names made to fail (the demo zoo's decoys)."""
    results = Path(results)
    lines = failed_tasks(results)
    for arch, base_folder in bases.items():
        lines += architecture_failures(results, arch, base_folder, intended)
    return lines


def error_line(log) -> str:
    """The line of a failed job's log that says what went wrong: the last line that is not part
    of a traceback's frames ('' when the log is missing or empty)."""
    try:
        lines = Path(log).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.strip() and not line[0].isspace() and not line.startswith(FRAME_LINES):
            return line.strip()[:400]
    return ""


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


def read_only(results) -> str:
    """'' unless the results folder exists without write permission for its owner (as after
    chmod -R a-w): then what to do, naming it. The mode is read, not os.access, which says yes
    to root whatever the mode."""
    path = Path(results)
    if not path.is_dir() or path.stat().st_mode & stat.S_IWUSR:
        return ""
    return (
        f"{path} is read-only: new results, tables and pages cannot be written there. Make it "
        f"writable (chmod -R u+w {path}) or set results_dir to another folder."
    )


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
