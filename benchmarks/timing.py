"""Interleaved repetitions (each variant once per round, so a load change on the shared machine
hits all of them alike), medians, and the machine they ran on."""

from __future__ import annotations

import os
import platform
import statistics
import time


def interleaved(variants: dict, repetitions: int) -> dict:
    """{name: fn() -> float} run round-robin `repetitions` times; {name: [values]}."""
    values = {name: [] for name in variants}
    for _ in range(repetitions):
        for name, fn in variants.items():
            values[name].append(fn())
    return values


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def figure(values: list, unit: str) -> dict:
    return {"median": statistics.median(values), "repetitions": values, "unit": unit}


def machine() -> dict:
    import torch
    import transformers

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "load_average_at_start": load,
    }


def keep_block(path, start: str, end: str, block: str, heading: str) -> None:
    """Put block (which begins with start and ends with end) in the markdown file at path, in
    place of the previous one, or at the end under heading the first time."""
    old = path.read_text()
    if start in old:
        old = old[: old.index(start)] + block + old[old.index(end) + len(end) :]
    else:
        old = old.rstrip("\n") + f"\n\n{heading}\n\n" + block + "\n"
    path.write_text(old)
