"""`make run`: run Snakemake here, resuming by itself after a run that was killed.

A run killed with SIGKILL (or a rebooted machine) leaves Snakemake's lock behind, and the next
run stops with a LockException. The lock is stale when no live Snakemake process works in this
directory (found through /proc): then it is removed (``snakemake --unlock``) and the run goes on;
the outputs of jobs that were running are made again (``rerun-incomplete`` in the profiles).
When another Snakemake really runs here, stop and say so::

    python -m model_recycling.runtime.resume [SNAKEMAKE ARGS...]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LOCKS = Path(".snakemake/locks")


def _is_snakemake(argv: list) -> bool:
    """`snakemake ...`, `python /venv/bin/snakemake ...` or `python -m snakemake ...`."""
    names = [os.path.basename(arg) for arg in argv[:2]]
    return "snakemake" in names or argv[1:3] == ["-m", "snakemake"]


def snakemake_processes(directory, proc=Path("/proc")) -> list[int]:
    """Pids of live Snakemake processes whose working directory is directory."""
    directory = os.path.realpath(directory)
    pids = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = [
                a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0")
            ]
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone meanwhile, or another user's process
            continue
        if _is_snakemake(argv) and os.path.realpath(cwd) == directory:
            pids.append(int(entry.name))
    return pids


def is_locked(directory) -> bool:
    locks = Path(directory) / LOCKS
    return locks.is_dir() and any(locks.iterdir())


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if is_locked("."):
        others = snakemake_processes(".")
        if others:
            print(
                f"make run: another Snakemake (pid {', '.join(map(str, others))}) is running in "
                f"{os.getcwd()}; wait for it to finish, or stop it first.",
                file=sys.stderr,
            )
            return 1
        print("make run: resuming a run that was interrupted (its stale lock removed).", flush=True)
        unlock = subprocess.run(["snakemake", "--unlock", *args], capture_output=True, text=True)
        if unlock.returncode != 0:
            sys.stderr.write(unlock.stdout + unlock.stderr)
            return unlock.returncode
    # exec: signals (Ctrl-C, a kill) reach Snakemake itself, and its exit status is ours.
    os.execvp("snakemake", ["snakemake", *args])


if __name__ == "__main__":
    sys.exit(main())
