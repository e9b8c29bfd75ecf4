"""`make run`: run Snakemake here, one run at a time, resuming by itself after a killed run.

    python -m model_recycling.runtime.resume [SNAKEMAKE ARGS...]

Before Snakemake starts, in this order:

1. **One run per folder.** The run holds an exclusive lock (flock) on .snakemake/make-run.lock
   for as long as it lasts: this process takes it, then becomes Snakemake (exec) with the lock's
   file descriptor still open. A second `make run` here, or one while a Snakemake started by hand
   works here (found through /proc, also before it has written its own lock), stops with
   ``another run is working in <folder> (pid N); wait for it, or stop it`` and exit status 1. It
   never suggests Snakemake's ``--unlock``: under a live run that lets two runs write the same
   files.
2. **Config files** (each ``--configfile``, else config.yaml) are read strictly
   (model_recycling/config_file.py): a duplicate key or malformed YAML stops here with
   ``<file>:<line>: ...`` and exit status 2.
3. **Jobs of a killed run.** Killing Snakemake alone leaves the jobs it started running in this
   folder (runtime/orphans.py). Starting again at once would start the same cells while they
   still write them, so the run says so in one line and, by default, waits for them to end,
   saying every 30 s how many remain. ``RESUME_ORPHANS=stop`` stops them instead: SIGTERM, then
   SIGKILL to those still alive after ``RESUME_ORPHANS_GRACE`` seconds (default 10).
4. **A stale lock.** A killed run (SIGKILL, a reboot) leaves Snakemake's lock behind, and the
   next run would stop with a LockException. No Snakemake works here any more (step 1), so the
   lock is removed (``snakemake --unlock``) and the run goes on; the outputs of jobs that were
   running are made again (``rerun-incomplete`` in the profiles).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from model_recycling.config_file import ConfigFileError, check_config_files
from model_recycling.runtime.orphans import (
    orphaned_jobs,
    process_table,
    stop_orphans,
    wait_for_orphans,
)

LOCKS = Path(".snakemake/locks")


def interpreter_first_on_path() -> None:
    """Jobs run `python` from PATH: put the folder of the interpreter this process runs under
    first, so that `.venv/bin/snakemake` runs its jobs in the venv without activating it."""
    folder = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != folder:
        os.environ["PATH"] = os.pathsep.join([folder, path])


RUN_LOCK = Path(".snakemake/make-run.lock")
DEFAULT_CONFIG = "config.yaml"
HOLDER_WAIT_S = 2  # the winner of a simultaneous start writes its pid just after locking


class AnotherRun(Exception):
    """Another run works in the folder; the message is the line `make run` prints."""

    def __init__(self, directory, pids):
        named = f" (pid {', '.join(map(str, pids))})" if pids else ""
        super().__init__(f"another run is working in {directory}{named}; wait for it, or stop it")


def _is_snakemake(argv) -> bool:
    """`snakemake ...`, `python /venv/bin/snakemake ...` or `python -m snakemake ...`."""
    names = [os.path.basename(arg) for arg in argv[:2]]
    return "snakemake" in names or list(argv[1:3]) == ["-m", "snakemake"]


def snakemake_processes(directory, proc=Path("/proc")) -> list[int]:
    """Pids of live Snakemake processes whose working directory is directory."""
    directory = os.path.realpath(directory)
    table = process_table(proc)
    return sorted(p.pid for p in table.values() if _is_snakemake(p.argv) and p.cwd == directory)


def is_locked(directory) -> bool:
    locks = Path(directory) / LOCKS
    return locks.is_dir() and any(locks.iterdir())


def _lock_holder(path: Path) -> int | None:
    """The pid the run holding the lock wrote into it (None if it has not, in HOLDER_WAIT_S)."""
    deadline = time.monotonic() + HOLDER_WAIT_S
    while True:
        written = path.read_text().strip()
        if written.isdigit() or time.monotonic() > deadline:
            return int(written) if written.isdigit() else None
        time.sleep(0.05)


def take_run_lock(directory) -> int:
    """The folder's run lock, held on an open inheritable file descriptor (returned) that
    survives exec: the lock lasts until the process holding it, Snakemake, ends. AnotherRun when
    another run holds it, or when a Snakemake works here without it."""
    directory = os.path.abspath(directory)
    path = Path(directory) / RUN_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        holder = _lock_holder(path)
        raise AnotherRun(directory, [holder] if holder else []) from None
    others = snakemake_processes(directory)
    if others:
        os.close(fd)
        raise AnotherRun(directory, others)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    os.set_inheritable(fd, True)
    return fd


def config_files(args) -> list[str]:
    """The config files Snakemake will read: each value of --configfile (or --configfiles),
    else config.yaml where it exists (the Snakefile's default)."""
    files, taking = [], False
    for arg in args:
        name, equals, value = arg.partition("=")
        if name in ("--configfile", "--configfiles"):
            files += [value] if equals else []
            taking = not equals
        elif taking and not arg.startswith("-"):
            files.append(arg)
        else:
            taking = False
    if not files and Path(DEFAULT_CONFIG).is_file():
        files = [DEFAULT_CONFIG]
    return files


def orphans_setting(env) -> tuple[str, float]:
    """(RESUME_ORPHANS: "wait" or "stop", RESUME_ORPHANS_GRACE in seconds); ValueError naming
    the variable when either is not one of those."""
    mode = env.get("RESUME_ORPHANS") or "wait"
    if mode not in ("wait", "stop"):
        raise ValueError(f"RESUME_ORPHANS must be 'wait' or 'stop', not {mode!r}")
    grace = env.get("RESUME_ORPHANS_GRACE") or "10"
    try:
        seconds = float(grace)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError(f"RESUME_ORPHANS_GRACE must be a number of seconds, not {grace!r}")
    return mode, seconds


def _say(message: str) -> None:
    print(message, flush=True)


def settle_orphans(directory, mode: str, grace: float) -> None:
    """Wait for (or stop) the jobs a killed run left working in directory, saying so."""
    pids = orphaned_jobs(directory)
    if not pids:
        return
    found = (
        f"make run: {len(pids)} process(es) of a killed run's jobs still work in "
        f"{os.path.abspath(directory)} (pids {', '.join(map(str, pids))})"
    )
    if mode == "stop":
        _say(f"{found}; stopping them (RESUME_ORPHANS=stop).")
        stop_orphans(directory, say=_say, grace=grace)
    else:
        _say(f"{found}; waiting for them to end (RESUME_ORPHANS=stop stops them instead).")
        wait_for_orphans(directory, say=_say)
    _say("make run: the killed run's jobs have ended.")


def _unlock_stale(args) -> int:
    """Remove the lock a killed Snakemake left (no Snakemake works here: take_run_lock)."""
    print("make run: resuming a run that was interrupted (its stale lock removed).", flush=True)
    unlock = subprocess.run(["snakemake", "--unlock", *args], capture_output=True, text=True)
    if unlock.returncode != 0:
        sys.stderr.write(unlock.stdout + unlock.stderr)
    return unlock.returncode


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        mode, grace = orphans_setting(os.environ)
        take_run_lock(".")  # held by this process, then by Snakemake, until the run ends
        check_config_files(config_files(args))
    except AnotherRun as error:
        print(f"make run: {error}", file=sys.stderr)
        return 1
    except ConfigFileError as error:
        print(error, file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"make run: {error}", file=sys.stderr)
        return 2
    settle_orphans(".", mode, grace)
    if is_locked(".") and (failed := _unlock_stale(args)) != 0:
        return failed
    # exec: signals (Ctrl-C, a kill) reach Snakemake itself, its exit status is ours, and the
    # run lock's descriptor stays open in it.
    os.execvp("snakemake", ["snakemake", *args])


if __name__ == "__main__":
    sys.exit(main())
