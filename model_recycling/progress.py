"""Progress lines for long jobs: step, examples/s and ETA, printed to the job's log (its stdout
is redirected there by the rule), so `tail -f results/logs/...` shows how a job is doing.

A line is printed at the first step, every `every` steps, whenever `seconds` have passed since
the last line, and at the end. Only the log sees them: result files are unaffected.
"""

from __future__ import annotations

import sys
import time


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


class Progress:
    """progress = Progress("train", total_steps); progress.step(examples) after each step.
    `extra` (the line's tail) may be a function, called only when a line is printed."""

    def __init__(self, what: str, total: int, every: int = 50, seconds: float = 10.0, out=None):
        self.what, self.total, self.every, self.seconds = what, total, every, seconds
        self.out = out or sys.stdout
        self.done = self.examples = 0
        self.started = self.last_line = time.perf_counter()

    def step(self, examples: int, extra="") -> None:
        self.done += 1
        self.examples += examples
        now = time.perf_counter()
        due = self.done == 1 or self.done % self.every == 0 or now - self.last_line >= self.seconds
        if due or self.done == self.total:
            self._print(now, extra)

    def finish(self, extra: str = "") -> None:
        """The last line, when the loop ended before `total` (early stopping)."""
        if self.done and self.done != self.total:
            self._print(time.perf_counter(), extra, finished=True)

    def _print(self, now: float, extra, finished: bool = False) -> None:
        self.last_line = now
        extra = extra() if callable(extra) else extra
        print(self.line(now, extra, finished), file=self.out, flush=True)

    def line(self, now: float, extra: str = "", finished: bool = False) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.examples / elapsed
        remaining = 0 if finished else (self.total - self.done) * elapsed / self.done
        tail = f", {extra}" if extra else ""
        return (
            f"progress {self.what}: step {self.done}/{self.total}, {rate:.1f} examples/s, "
            f"elapsed {_duration(elapsed)}, ETA {_duration(remaining)}{tail}"
        )
