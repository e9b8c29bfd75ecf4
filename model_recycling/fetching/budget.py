"""A disk budget for candidates' weights (downloads.disk_budget_gb): however many candidates a
listing holds, at most the budget's worth of their weights is on disk at once.

Every download of a candidate's weights for probing reserves its bytes (the Hub's file sizes,
known before it starts) in one ledger shared by the run's jobs, and waits while the reservations
in force would exceed the budget. A reservation is released once the weights are deleted (by the
probe, once scored). One whose job died is recognised without help: a reservation is in force
while its folder holds weights or files being downloaded, or while the job that made it may still
be downloading (its process alive on this host; from another host, for STALE_AFTER_S). A download
larger than the budget alone goes ahead when nothing else is reserved, so no candidate waits
forever."""

from __future__ import annotations

import fcntl
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from model_recycling.fetching.disk import weight_paths, weights_deleted
from model_recycling.io import atomic_write_json, read_json

STALE_AFTER_S = 3600.0  # a reservation from another host, with nothing on disk yet


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def holds_weights(folder) -> bool:
    """Weights on disk, or a download in progress (huggingface_hub keeps its partial files under
    .cache/ of the local folder), and not deleted since."""
    folder = Path(folder)
    # Another job may delete the folder while this one reads it: gone means no weights.
    try:
        if not folder.is_dir() or weights_deleted(folder):
            return False
        return bool(weight_paths(folder)) or (folder / ".cache").is_dir()
    except FileNotFoundError:
        return False


def in_force(entry: dict, now: float | None = None) -> bool:
    if holds_weights(entry["folder"]):
        return True
    if entry["host"] == socket.gethostname():
        return _alive(entry["pid"])
    return (now or time.time()) - entry["since"] < STALE_AFTER_S


@dataclass
class DiskBudget:
    ledger: Path
    budget_bytes: int
    poll_s: float = 5.0
    log: object = print

    @classmethod
    def from_gb(cls, ledger, budget_gb: float, **options) -> DiskBudget:
        return cls(Path(ledger), int(budget_gb * 1e9), **options)

    @contextmanager
    def _entries(self):
        """The ledger's reservations in force, under an exclusive lock; written back on exit."""
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{self.ledger}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = read_json(self.ledger) if self.ledger.exists() else {}
            now = time.time()
            entries = {key: e for key, e in entries.items() if in_force(e, now)}
            yield entries
            atomic_write_json(self.ledger, entries)

    def reserve(self, folder, nbytes: int) -> None:
        """Wait until `nbytes` more fit the budget, then reserve them for `folder` (a reservation
        of the same folder, as a retried download makes, is replaced)."""
        key = str(Path(folder))
        waited = 0.0
        while True:
            with self._entries() as entries:
                others = {k: e for k, e in entries.items() if k != key}
                used = sum(e["bytes"] for e in others.values())
                if used + nbytes <= self.budget_bytes or not others:
                    entries[key] = {
                        "folder": key,
                        "bytes": int(nbytes),
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "since": time.time(),
                    }
                    if waited:
                        self.log(f"disk budget: waited {waited:.0f} s for {_gb(nbytes)}")
                    return
            if not waited:
                self.log(
                    f"disk budget: {_gb(used)} of {_gb(self.budget_bytes)} reserved by "
                    f"{len(others)} downloads; waiting for {_gb(nbytes)} ({key})"
                )
            time.sleep(self.poll_s)
            waited += self.poll_s

    def release(self, folder) -> None:
        with self._entries() as entries:
            entries.pop(str(Path(folder)), None)

    def reserved_bytes(self) -> int:
        with self._entries() as entries:
            return sum(e["bytes"] for e in entries.values())


def _gb(nbytes: int) -> str:
    return f"{nbytes / 1e9:.2f} GB"


def add_arguments(parser) -> None:
    """The job scripts' options (scripts/probe.py, scripts/download_model.py)."""
    parser.add_argument("--disk-budget-gb", type=float, help="downloads.disk_budget_gb")
    parser.add_argument("--disk-ledger", help="the ledger the run's downloads share")


def from_arguments(args) -> DiskBudget | None:
    if not args.disk_budget_gb:
        return None
    if not args.disk_ledger:
        raise SystemExit("--disk-budget-gb needs --disk-ledger (the run's ledger)")
    return DiskBudget.from_gb(args.disk_ledger, args.disk_budget_gb)


def reserving(budget: DiskBudget | None, folder):
    """download_candidate's before_download: reserve the download's bytes for `folder`."""
    if budget is None:
        return None
    return lambda nbytes: budget.reserve(folder, nbytes)
