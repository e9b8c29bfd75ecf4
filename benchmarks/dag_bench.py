"""Planning at scale: `snakemake -n` on configs/hub.yaml (six architectures,
36 targets, 20 baseline seeds) with recorded listings of n candidates per architecture, in two
states: every probe done and the top-k selected, so the plan holds every finetuning cell; and,
at the target's size, a fresh listing (no probe run yet), so the plan holds every probe, the
selections and the baseline cells. Wall time, CPU time and the peak resident memory of the
snakemake process tree (psutil, polled every 50 ms).

Alone: `python -m benchmarks.dag_bench` (sizes: BENCH_DAG_SIZES=500,1000,2000,4000)."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from tests.support.recorded_run import copy_workflow, hub_config, write_recorded_run

DEFAULT_SIZES = "500,1000,2000,4000"
TARGET_S, TARGET_MB, TARGET_AT = 30.0, 1024.0, 2000


def sizes() -> list:
    return [int(n) for n in os.environ.get("BENCH_DAG_SIZES", DEFAULT_SIZES).split(",") if n]


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for each in [process, *process.children(recursive=True)]:
        try:
            total += each.memory_info().rss
        except psutil.Error:
            pass  # gone between listing and reading
    return total


def run_measured(command: list, cwd: Path) -> dict:
    """Wall seconds and peak summed RSS (MB) of `command` and its children."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak, watched = [0], psutil.Process(process.pid)

    def poll():
        while process.poll() is None:
            try:
                peak[0] = max(peak[0], _tree_rss(watched))
            except psutil.Error:
                return
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    poller.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{output[-4000:]}")
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(getattr(cpu_after, f) - getattr(cpu_before, f) for f in ("ru_utime", "ru_stime"))
    return {"seconds": seconds, "cpu_s": cpu, "rss_mb": peak[0] / 2**20, "output": output}


def planned_total(output: str) -> int:
    for line in output.split("Job stats:", 1)[-1].splitlines():
        if line.strip().startswith("total"):
            return int(line.split()[1])
    return 0


def dry_run(n: int, fetch: str = "probe", probed: bool = True) -> dict:
    """fetch: downloads.fetch (probe, the default: no download job per candidate; host).
    probed: the probes and selections recorded, else a fresh listing."""
    config = hub_config()
    config["downloads"]["fetch"] = fetch
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        configfile = copy_workflow(workdir, config)
        write_recorded_run(workdir, config, n, probed=probed)
        snakemake = str(Path(sys.executable).parent / "snakemake")
        command = [snakemake, "-n", "--cores", "2", "--configfile", str(configfile)]
        result = run_measured(command, workdir)
    return {
        "candidates_per_arch": n,
        "fetch": fetch,
        "probed": probed,
        "architectures": len(config["architectures"]),
        "planned_jobs": planned_total(result["output"]),
        "dag_dryrun_s": result["seconds"],
        # CPU seconds (user + system): what the wall time is on an idle core
        "dag_cpu_s": result["cpu_s"],
        "dag_rss_mb": result["rss_mb"],
    }


def repeated(n: int, fetch: str = "probe", probed: bool = True) -> dict:
    """At the target's size the dry run is repeated (BENCH_DAG_REPS, default 3): this machine's
    CPU seconds for the same dry run vary by 10-15% from run to run. Medians, with every run."""
    reps = int(os.environ.get("BENCH_DAG_REPS", 3)) if n == TARGET_AT else 1
    runs = [dry_run(n, fetch, probed) for _ in range(reps)]
    keys = ("dag_dryrun_s", "dag_cpu_s", "dag_rss_mb")
    row = {**runs[0], **{k: statistics.median(r[k] for r in runs) for k in keys}}
    return {**row, "runs": [{k: r[k] for k in keys} for r in runs]}


def measure(ns: list | None = None) -> dict:
    rows = [repeated(n) for n in (ns or sizes())]
    at_target = TARGET_AT in (ns or sizes())
    # A fresh listing (the probes to plan) and downloads.fetch: host (compute nodes without
    # network) at the target's size
    fresh = [repeated(TARGET_AT, probed=False)] if at_target else []
    host = [repeated(TARGET_AT, "host")] if at_target else []
    for row in rows + fresh + host:
        print(
            f"  dag {row['candidates_per_arch']}/arch: {row['dag_dryrun_s']:.1f} s "
            f"({row['dag_cpu_s']:.1f} s CPU), "
            f"{row['dag_rss_mb']:.0f} MB, {row['planned_jobs']} jobs planned",
            file=sys.stderr,
        )
    slopes = [_slope(a, b) for a, b in zip(rows, rows[1:], strict=False)]
    # CPU seconds per added candidate, last step over first (CPU, not wall: the wall time
    # swings with the machine's load). 1.0: linear; above 1: superlinear.
    growth = slopes[-1] / slopes[0] if len(slopes) > 1 and slopes[0] > 0 else None
    return {
        "sizes": rows,
        "fresh": fresh,
        "host_fetch": host,
        "cpu_s_per_candidate": slopes,
        "growth_over_linear": growth,
        "load_average": os.getloadavg(),
    }


def _runs(row: dict) -> str:
    """' (median of 3: CPU 30.3, 31.7, 32.0 s)' for a repeated row, '' for one run."""
    runs = row.get("runs", [])
    if len(runs) < 2:
        return ""
    cpu = ", ".join(f"{r['dag_cpu_s']:.1f}" for r in runs)
    wall = ", ".join(f"{r['dag_dryrun_s']:.1f}" for r in runs)
    return f" (median of {len(runs)}: CPU {cpu} s; wall {wall} s)"


def _slope(a: dict, b: dict) -> float:
    added = (b["candidates_per_arch"] - a["candidates_per_arch"]) * b["architectures"]
    return (b["dag_cpu_s"] - a["dag_cpu_s"]) / added


def table_rows(dag: dict) -> list:
    target = f" (target <= {TARGET_S:.0f} s of CPU, <= {TARGET_MB:.0f} MB)"
    rows = []
    for row in dag["sizes"]:
        rows.append(
            (
                f"dag_dryrun_s / dag_rss_mb, {row['candidates_per_arch']:,} candidates x "
                f"{row['architectures']} architectures"
                + (target if row["candidates_per_arch"] == TARGET_AT else ""),
                f"{row['dag_dryrun_s']:.1f} s / {row['dag_rss_mb']:.0f} MB",
                f"{row['dag_cpu_s']:.1f} s of CPU{_runs(row)}; "
                f"`snakemake -n` on configs/hub.yaml, probes and selection recorded; "
                f"{row['planned_jobs']} jobs planned",
            )
        )
    for row in dag.get("fresh", []):
        rows.append(
            (
                f"dag_dryrun_s / dag_rss_mb, {row['candidates_per_arch']:,} x "
                f"{row['architectures']}, fresh listing{target}",
                f"{row['dag_dryrun_s']:.1f} s / {row['dag_rss_mb']:.0f} MB",
                f"{row['dag_cpu_s']:.1f} s of CPU{_runs(row)}; no probe run yet: every probe, "
                f"the selections and the baseline cells planned; {row['planned_jobs']} jobs",
            )
        )
    for row in dag.get("host_fetch", []):
        rows.append(
            (
                f"dag_dryrun_s / dag_rss_mb, {row['candidates_per_arch']:,} x "
                f"{row['architectures']}, downloads.fetch: host",
                f"{row['dag_dryrun_s']:.1f} s / {row['dag_rss_mb']:.0f} MB",
                f"{row['dag_cpu_s']:.1f} s of CPU{_runs(row)}; a download job per candidate too",
            )
        )
    if dag["growth_over_linear"] is not None:
        rows.append(
            (
                "planning growth: CPU s per added candidate, last step over first (1.0 = linear)",
                f"{dag['growth_over_linear']:.2f}",
                "per step: " + ", ".join(f"{1000 * s:.1f} ms" for s in dag["cpu_s_per_candidate"]),
            )
        )
    return rows


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
