"""Turn a job's death into a recorded failure, so one bad model or seed never stops the run.

A probe, cell or download killed by the kernel (out of memory), a segfault or a scheduler's limit
writes nothing itself. Rules run their job through this guard, outside the GPU slot wrapper::

    python -m model_recycling.guard --kind cell --attempt A --attempts N --log LOG -- CMD ARGS...

The guard runs CMD as a child. When CMD fails on an earlier attempt it exits non-zero, so
Snakemake retries (the rule's ``retries:``). When the LAST attempt fails it writes the failure in
place of the result and exits 0, so the run goes on:

- ``probe`` / ``cell``: a failure record (write_probe_died, write_cell_died) at CMD's ``--out``;
- ``download``: ``FAILED.json`` inside CMD's ``--out`` folder, which the probe then reports.

A job that exits with TEMPORARY_FAILURE (the Hub unreachable) never gets a record: it failed for
a reason that is not the model's, and a later run tries again.
The guard reads the identity it records (``--out``, ``--model-id``, ...) from CMD's own options,
so a rule states them once. SIGTERM (a scheduler's time limit, sent before SIGKILL) is passed on
to the child and the record written once it has died; an interrupt (Ctrl-C) never records.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from collections import deque
from pathlib import Path

from model_recycling.records import TEMPORARY_FAILURE
from model_recycling.runtime.summary import disk_full

LOG_LINES = 3
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _log(message: str) -> None:
    print(f"guard: {message}", file=sys.stderr, flush=True)


def command_options(command: list) -> dict:
    """CMD's ``--name value`` options as {"name": value} (only the job scripts' long options)."""
    options = {}
    for flag, value in zip(command, command[1:], strict=False):
        if flag.startswith("--") and len(flag) > 2 and not value.startswith("--"):
            options.setdefault(flag[2:].replace("-", "_"), value)
    return options


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = {
            "SIGKILL": " (out of memory, or a scheduler's memory or time limit)",
            "SIGTERM": " (a scheduler's time limit, or a cancellation)",
            "SIGSEGV": " (segmentation fault)",
        }.get(name, "")
        return f"killed by {name}{hint}"
    return f"exit status {returncode}"


def log_tail(path, lines: int = LOG_LINES) -> str:
    """The last non-empty lines of the job's log, joined into one line."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            tail = deque((line.strip() for line in handle if line.strip()), maxlen=lines)
    except OSError:
        return ""
    return " | ".join(line[:200] for line in tail)


def run_child(command: list) -> tuple[int, int | None]:
    """(returncode, signal received by the guard while the child ran, or None)."""
    child = subprocess.Popen(command)
    received = []

    def forward(signum, _frame):
        received.append(signum)
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        while True:
            try:
                return child.wait(), (received[0] if received else None)
            except InterruptedError:  # pragma: no cover - wait() retries on EINTR itself
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def write_failure(kind: str, options: dict, reason: str) -> Path:
    # Imported here: the probe's and the cell's modules import torch, which a guard that
    # never records anything should not wait for.
    if kind == "download":
        from model_recycling.fetching.download import write_download_failure

        return write_download_failure(options["out"], reason, options)
    if kind == "probe":
        from model_recycling.probing.job import write_probe_died

        return write_probe_died(options["out"], reason, options)
    from model_recycling.finetuning.cell import write_cell_died

    return write_cell_died(options["out"], reason, options)


def guard(kind: str, attempt: int, attempts: int, log, command: list) -> int:
    returncode, received = run_child(command)
    if returncode == 0:
        return 0
    options = command_options(command)
    what = describe_exit(returncode)
    tail = log_tail(log) if log else ""  # the job's own last lines, before the guard adds any
    _log(f"{kind} job {what} on attempt {attempt} of {attempts}")
    if received in (signal.SIGINT, signal.SIGHUP):
        return 128 + received  # interrupted by the user, not the model's fault: never recorded
    if returncode == TEMPORARY_FAILURE:
        _log("a temporary failure (not the model's): not recorded, a later run tries again")
        return returncode
    if attempt < attempts:
        return 1  # Snakemake tries again
    reason = f"job {what} on attempt {attempt} of {attempts}" + (f"; log: {tail}" if tail else "")
    full = disk_full([Path(options["out"]).parent])
    reason += f"; {full}" if full else ""
    try:
        path = write_failure(kind, options, reason)
    except OSError as err:  # a full disk: nothing can be written, Snakemake stops this job
        _log(f"last attempt failed and its record cannot be written ({err}); {full}")
        return 1
    _log(f"last attempt failed; recorded in {path}")
    if kind == "probe" and "--fetch" in command:  # its scratch folder: no weights left behind
        from model_recycling.fetching.disk import remove_scratch

        remove_scratch(options["model_dir"])
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="python -m model_recycling.guard",
        usage="%(prog)s --kind KIND --attempt A --attempts N [--log LOG] -- COMMAND [ARGS...]",
        description="Run a job; record its death as the candidate's failure on the last attempt.",
    )
    parser.add_argument("--kind", choices=["probe", "cell", "download"], required=True)
    parser.add_argument("--attempt", type=int, required=True, help="this attempt, from 1")
    parser.add_argument("--attempts", type=int, required=True, help="attempts in all")
    parser.add_argument("--log", help="the job's log, whose last lines go into the reason")
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    if not command:
        parser.error("give the command to run after --")
    if "out" not in command_options(command):
        parser.error("the command has no --out option: nowhere to record a failure")
    return guard(args.kind, args.attempt, args.attempts, args.log, command)


if __name__ == "__main__":
    sys.exit(main())
