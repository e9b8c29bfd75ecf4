"""Jobs a killed run left running in this folder, found through /proc; waited for, or stopped.

When Snakemake alone is killed (SIGKILL to its pid, not to its process group), the jobs it started
keep running: ``bash -c "python -m model_recycling.guard ... python scripts/finetune.py ..."``
and their children, handed over to init. A new run that started at once would start the same
cells again while these still write them. `make run` (runtime/resume.py) therefore first looks
for them and waits for them to end, or stops them (``RESUME_ORPHANS=stop``).

A process is a job of this workflow folder when its working directory is the folder and its
command line names ``model_recycling.guard``, ``model_recycling.gpu_slots`` or a script in the
folder's ``scripts/``. It is orphaned when the top of its job's process tree has a parent that no
longer works in the folder (init, or a dead Snakemake): a live Snakemake's jobs, and a script a
person runs by hand from a shell in the folder (``make cost``), have a parent there.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

JOB_MODULES = {"model_recycling.guard", "model_recycling.gpu_slots"}
KILL_WAIT_S = 10


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    argv: tuple
    cwd: str


def _read_process(entry: Path) -> Process | None:
    """The process behind /proc/<pid>, or None when it is gone, a zombie or unreadable."""
    try:
        stat = (entry / "stat").read_text()
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state in ("Z", "X"):  # dead, waiting to be reaped: it runs nothing any more
            return None
        cmdline = (entry / "cmdline").read_bytes().rstrip(b"\0")
        argv = tuple(a.decode(errors="replace") for a in cmdline.split(b"\0"))
        cwd = os.path.realpath(os.readlink(entry / "cwd"))
    except (OSError, ValueError, IndexError):
        return None
    return Process(int(entry.name), int(ppid), argv, cwd)


def process_table(proc=Path("/proc")) -> dict[int, Process]:
    """Every live process this user may inspect, by pid (this one left out)."""
    table = {}
    for entry in proc.iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            process = _read_process(entry)
            if process is not None:
                table[process.pid] = process
    return table


def _is_checkout_script(token: str, folder: str) -> bool:
    if not token.endswith(".py"):
        return False
    script = os.path.realpath(os.path.join(folder, token))
    return os.path.dirname(script) == os.path.join(folder, "scripts")


def is_job(process: Process, folder: str) -> bool:
    """Whether the process runs a job of the workflow in folder (a realpath)."""
    if process.cwd != folder:
        return False
    # A rule's shell command is one argument of `bash -c`: look at its words too.
    tokens = [word for arg in process.argv for word in arg.split()]
    return any(t in JOB_MODULES or _is_checkout_script(t, folder) for t in tokens)


def orphaned_jobs(folder, table: dict[int, Process] | None = None) -> list[int]:
    """Pids of the processes of orphaned jobs working in folder, sorted."""
    folder = os.path.realpath(folder)
    table = process_table() if table is None else table
    jobs = {pid for pid, process in table.items() if is_job(process, folder)}
    orphans = []
    for pid in jobs:
        top = pid
        while table[top].ppid in jobs and table[top].ppid != top:
            top = table[top].ppid
        parent = table.get(table[top].ppid)
        if parent is None or parent.pid == 1 or parent.cwd != folder:
            orphans.append(pid)
    return sorted(orphans)


def _pids(pids) -> str:
    return ", ".join(map(str, pids))


def wait_for_orphans(folder, say=print, report_every=30.0, poll=1.0) -> None:
    """Until no orphaned job works in folder; says how many remain every report_every seconds."""
    next_report = time.monotonic() + report_every
    while remaining := orphaned_jobs(folder):
        if time.monotonic() >= next_report:
            say(
                f"make run: still waiting for {len(remaining)} process(es) of the killed run's "
                f"jobs (pids {_pids(remaining)})."
            )
            next_report = time.monotonic() + report_every
        time.sleep(poll)


def _signal_all(pids, signum) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:  # ended meanwhile
            pass


def stop_orphans(folder, say=print, grace=10.0, poll=0.2) -> None:
    """SIGTERM to every orphaned job's process in folder; SIGKILL to those alive after grace."""
    _signal_all(orphaned_jobs(folder), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while (remaining := orphaned_jobs(folder)) and time.monotonic() < deadline:
        time.sleep(poll)
    if remaining:
        say(
            f"make run: {len(remaining)} process(es) still running {grace:g} s after SIGTERM: "
            f"SIGKILL (pids {_pids(remaining)})."
        )
        _signal_all(remaining, signal.SIGKILL)
        deadline = time.monotonic() + KILL_WAIT_S  # a process in uninterruptible sleep ends late
        while orphaned_jobs(folder) and time.monotonic() < deadline:
            time.sleep(poll)
