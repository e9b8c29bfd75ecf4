"""`make bench`: build the synthetic model and task, measure, print the table, write
benchmarks/results.json and the table in BENCHMARKS.md. Sizes from the environment:
BENCH_PROBE_TRAIN, BENCH_PROBE_EVAL, BENCH_FT_TRAIN (a real task's size), BENCH_FT_SMALL (the
second, small finetuning row), BENCH_FT_EPOCHS, BENCH_FT_BATCH,
BENCH_REPS, BENCH_REF_REPS, BENCH_CELL_REPS, BENCH_THREADS, BENCH_TOKENIZE_EXAMPLES (the
tokenized cache's split); BENCH_DAG_SIZES (planning, see dag_bench.py); BENCH_DISK_*
(disk_bench.py); PAGES_* (pages_bench.py, pages at scale). BENCH_STAGES (default all: stages,
dag, disk, cell, pages, probesize: probe.train_size, probesize_bench.py) picks what runs;
figures of stages not run are kept from the last results.json. BENCH_PAGES=1 is
BENCH_STAGES=stages,pages."""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULTS = {
    "BENCH_PROBE_TRAIN": 400,
    "BENCH_PROBE_EVAL": 100,
    "BENCH_FT_TRAIN": 2000,
    "BENCH_FT_SMALL": 192,
    "BENCH_FT_EPOCHS": 1,
    "BENCH_FT_BATCH": 32,
    "BENCH_REPS": 3,
    "BENCH_REF_REPS": 1,
    "BENCH_CELL_REPS": 3,
    "BENCH_TOKENIZE_EXAMPLES": 20000,
    "BENCH_THREADS": 2,
}
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
STAGES = ("stages", "dag", "disk", "cell", "pages", "probesize")


def sizes() -> dict:
    return {k: type(v)(os.environ.get(k, v)) for k, v in DEFAULTS.items()}


def stages() -> list:
    default = "stages,pages" if os.environ.get("BENCH_PAGES") == "1" else ",".join(STAGES)
    chosen = os.environ.get("BENCH_STAGES", default).split(",")
    unknown = set(chosen) - set(STAGES)
    if unknown:
        raise SystemExit(f"BENCH_STAGES: unknown {sorted(unknown)}; choose from {STAGES}")
    return chosen


def measure_stages(size: dict) -> dict:
    import torch

    from benchmarks import finetune_bench, probe_bench, synthetic
    from benchmarks.timing import machine

    torch.set_num_threads(size["BENCH_THREADS"])
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = synthetic.save_model(Path(tmp) / "bert-6x384")
        probe_task = synthetic.task(size["BENCH_PROBE_TRAIN"], 0, size["BENCH_PROBE_EVAL"])
        ft_task = synthetic.task(size["BENCH_FT_TRAIN"], 64, 64, seed=10)
        small_task = synthetic.task(size["BENCH_FT_SMALL"], 64, 64, seed=10)
        return {
            "machine": machine(),
            "sizes": size,
            "probe": probe_bench.measure(model_dir, probe_task, size["BENCH_REPS"]),
            "finetune": finetune_bench.measure(
                model_dir,
                ft_task,
                small_task,
                size["BENCH_FT_EPOCHS"],
                size["BENCH_FT_BATCH"],
                size["BENCH_REPS"],
                size["BENCH_REF_REPS"],
            ),
        }


def measure_cell(size: dict) -> dict:
    """A demo cell's overhead and the tokenized cache (cell_bench.py), with their own stamp."""
    from benchmarks import cell_bench

    stamp = run_stamp("BENCH_CELL_REPS", "BENCH_TOKENIZE_EXAMPLES", "BENCH_REPS", "BENCH_STAGES")
    with tempfile.TemporaryDirectory() as tmp:
        return {
            "cell": {**cell_bench.measure(Path(tmp) / "cell", size["BENCH_CELL_REPS"]), **stamp},
            "tokenize": cell_bench.measure_tokenize(
                Path(tmp) / "tokenized", size["BENCH_TOKENIZE_EXAMPLES"], size["BENCH_REPS"]
            ),
        }


def _reps(fig) -> str:
    return ", ".join(f"{v:.3g}" for v in fig["repetitions"])


def table(results: dict) -> str:
    rows = stage_rows(results) if "probe" in results else []
    if "dag" in results:
        from benchmarks.dag_bench import table_rows

        rows += table_rows(results["dag"])
    if "disk" in results:
        from benchmarks import disk_bench

        rows += disk_bench.table_rows(results["disk"])
    if "pages" in results:
        from benchmarks import pages_bench

        rows += pages_bench.rows(results["pages"])
    if "probesize" in results:
        from benchmarks import probesize_bench

        rows += probesize_bench.table_rows(results["probesize"])
    lines = ["| figure | value | detail: median [repetitions] |", "|---|---:|---|"]
    return "\n".join(lines + [f"| {a} | {b} | {c} |" for a, b, c in rows])


def stage_rows(results: dict) -> list:
    p, f, c = results["probe"], results["finetune"], results["cell"]
    s = p["seconds"]
    rows = [
        ("probe_over_forward (target <= 1.2)", f"{p['probe_over_forward']:.2f}",
         f"probe {s['probe_tokens']['median']:.1f} s [{_reps(s['probe_tokens'])}] / "
         f"length-sorted forward, {256} rows {s['forward_rows']['median']:.1f} s "
         f"[{_reps(s['forward_rows'])}], {p['examples']} examples"),
        ("probe over a forward pass with the same token-capped batches",
         f"{p['probe_over_forward_same_batches']:.2f}",
         f"forward {s['forward_tokens']['median']:.1f} s [{_reps(s['forward_tokens'])}]"
         + ("; the probe's own split: " + ", ".join(
             f"{k} {v:.2f} s" for k, v in p["probe_parts_s"].items()) + " (the rest: loading)"
            if "probe_parts_s" in p else "")),
        ("probe before (256-row batches) over the same forward",
         f"{p['probe_over_forward_before']:.2f}",
         f"probe {s['probe_rows']['median']:.1f} s [{_reps(s['probe_rows'])}]"),
        ("probe padding fraction, 256 rows -> token-capped",
         f"{p['padding_fraction_rows']:.2f} -> {p['padding_fraction_tokens']:.2f}",
         f"time change {p['probe_time_change']:+.0%}; accuracy {p['score_rows']:.4f} -> "
         f"{p['score_tokens']:.4f}"),
        *finetune_rows(f),
        ("cell_overhead_s: a demo cell's wall time outside training",
         f"{c['cell_overhead_s']['median']:.1f} s",
         f"of {c['cell_wall_s']['median']:.1f} s [{_reps(c['cell_wall_s'])}] for "
         f"`python scripts/finetune.py` (tiny BERT, demo_topic, demo settings); of the "
         f"overhead, process start + imports alone {c['process_start_and_imports_s']['median']:.1f}"
         f" s [{_reps(c['process_start_and_imports_s'])}] and tokenizing "
         f"{c['cell_tokenize_s']['median']:.2f} s; evaluation "
         f"{c['cell_evaluation_s']['median']:.1f} s; training "
         f"{c['cell_training_s']['median']:.1f} s"),
    ]  # fmt: skip
    return rows + tokenize_rows(results["tokenize"]) if "tokenize" in results else rows


def finetune_rows(f: dict) -> list:
    r, small = f["examples_per_second"], f["small"]

    def versus(ours, trainer, what="group_by_length"):
        return (
            f"ours {r[ours]['median']:.1f} ex/s [{_reps(r[ours])}] / Trainer {what} "
            f"{r[trainer]['median']:.1f} [{_reps(r[trainer])}]"
        )

    def paddings(p):
        return (
            f"ours {p['padding_fraction_grouped']:.3f}, Trainer group_by_length "
            f"{p['padding_fraction_trainer_grouped']:.3f}, random batches "
            f"{p['padding_fraction_random']:.3f}"
        )

    return [
        (f"finetune_speedup_vs_trainer, {f['examples']:,} examples (target >= 1.2)",
         f"{f['finetune_speedup_vs_trainer']:.2f}", versus("ours_grouped", "trainer_grouped")),
        (f"finetune speedup vs Trainer, {small['examples']:,} examples",
         f"{f['finetune_speedup_vs_trainer_small']:.2f}",
         versus("ours_grouped_small", "trainer_grouped_small")),
        (f"finetune speedup vs Trainer padded to max_length, {small['examples']:,} examples",
         f"{f['finetune_speedup_vs_trainer_max_length_small']:.2f}",
         f"Trainer max_length {r['trainer_max_length_small']['median']:.1f} ex/s "
         f"[{_reps(r['trainer_max_length_small'])}]"),
        (f"finetune speedup over our random-batch loop (before), {small['examples']:,} examples",
         f"{f['speedup_over_random_batches_small']:.2f}",
         f"random batches {r['ours_random_batches_small']['median']:.1f} ex/s "
         f"[{_reps(r['ours_random_batches_small'])}]"),
        (f"training padding fraction (target <= 0.10), {f['examples']:,} examples, grouped",
         f"{f['padding_fraction_grouped']:.3f}",
         f"{paddings(f)}; batch {f['batch_size']}, {f['epochs']} epoch(s)"),
        (f"training padding fraction, {small['examples']:,} examples, grouped",
         f"{small['padding_fraction_grouped']:.3f}",
         f"{paddings(small)}; the Trainer groups nothing below {8 * f['batch_size']} examples"),
        ("training padding fraction at 2,000 / 20,000 / 391,702 examples, grouped",
         " / ".join(f"{v:.3f}" for v in f["padding_fraction_grouped_at_scale"]["ours"].values()),
         "Trainer group_by_length " + " / ".join(
             f"{v:.3f}" for v in f["padding_fraction_grouped_at_scale"]["trainer"].values())
         + f" (it groups as ours from 6,400 examples); same length distribution, batch "
         f"{f['batch_size']}, untimed"),
    ]  # fmt: skip


def tokenize_rows(t: dict) -> list:
    n, cold, warm, none = (
        t["examples"],
        t["tokenize_cold_s"],
        t["tokenize_warm_s"],
        t["tokenize_no_cache_s"],
    )
    per_probe = t["saving_per_job_s"] / n * 392702
    return [
        ("tokenized cache: warm read over tokenizing (lower is better)",
         f"{t['warm_over_no_cache']:.2f}",
         f"{n:,} examples: read {warm['median']:.2f} s [{_reps(warm)}] / tokenize "
         f"{none['median']:.2f} s [{_reps(none)}]; cold (tokenize + store) {cold['median']:.2f} s "
         f"[{_reps(cold)}]; {t['cache_bytes_per_example']:.0f} bytes per example on disk"),
        ("tokenized cache: saving per probe or cell sharing the tokenizer",
         f"{t['saving_per_job_s']:.2f} s",
         f"per {n:,} examples; scaled linearly to MNLI's 392,702: {per_probe:.0f} s per probe"),
    ]  # fmt: skip


def _dag_stamp(results: dict) -> str:
    if "dag" not in results:
        return ""
    dag = results["dag"]
    load = ", ".join(f"{v:.1f}" for v in dag["load_average"])
    return f" Planning rows: `{dag['command']}` on {dag['date']}, load average after {load}."


def _cell_stamp(results: dict) -> str:
    cell = results.get("cell", {})
    return (
        f" Cell and tokenize rows: `{cell['command']}` on {cell['date']}." if "date" in cell else ""
    )


def write_benchmarks_md(path: Path, results: dict, text: str) -> None:
    m = results["machine"]
    block = (
        f"{START}\n`{results['command']}` on {results['date']}: {m['cores']} cores "
        f"({m['cpu']}), {m['torch_threads']} torch threads, torch {m['torch']}, transformers "
        f"{m['transformers']}, load average at start {m['load_average_at_start']}; sizes "
        f"{results['sizes']}. Random BERT 6 layers x 384, lognormal lengths cut at 256."
        f"{_dag_stamp(results)}{_cell_stamp(results)}\n\n{text}\n{END}"
    )
    old = path.read_text()
    if START in old:
        old = old[: old.index(START)] + block + old[old.index(END) + len(END) :]
    else:
        old = old.rstrip("\n") + "\n\n## Stage benchmarks (`make bench`)\n\n" + block + "\n"
    path.write_text(old)


def measure(size: dict, chosen: list) -> dict:
    """The chosen stages' figures over the last results.json's (a stage not run keeps its
    figures and their date)."""
    path = HERE / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    if "stages" in chosen:
        results.update(measure_stages(size))
    if "cell" in chosen:
        results.update(measure_cell(size))
    if "dag" in chosen:
        from benchmarks import dag_bench

        results["dag"] = {**dag_bench.measure(), **run_stamp("BENCH_DAG_SIZES", "BENCH_STAGES")}
    if "disk" in chosen:
        from benchmarks import disk_bench

        results["disk"] = disk_bench.measure()
    if "pages" in chosen:
        from benchmarks import pages_bench

        results["pages"] = pages_bench.measure()
    if "probesize" in chosen:
        from benchmarks import probesize_bench

        results["probesize"] = {**probesize_bench.measure(), **run_stamp("BENCH_STAGES")}
    return results


def run_stamp(*names) -> dict:
    """The command as typed (the BENCH_* variables set) and when it ran."""
    env = " ".join(f"{k}={os.environ[k]}" for k in names if k in os.environ)
    return {
        "command": " ".join(filter(None, [env, "make bench"])),
        "argv": shlex.join(sys.argv),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main() -> None:
    size = sizes()
    chosen = stages()
    results = measure(size, chosen)
    if "stages" in chosen:
        changed = [k for k, v in size.items() if v != DEFAULTS[k]]
        results.update(run_stamp(*changed, "BENCH_STAGES"))
    text = table(results)
    print(text)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_benchmarks_md(HERE.parent / "BENCHMARKS.md", results, text)


if __name__ == "__main__":
    main()
