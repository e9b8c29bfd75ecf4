"""What a run will cost, before it runs: jobs per stage, accelerator hours per stage and download
volume, for a config and its listings. The jobs are counted by the plan's own functions
(plan.py), so the estimate cannot drift from what the workflow plans.

Per-job time comes from the best measurement at hand, and the report names which:
1. this run's own records (probe and cell JSON files with their wall_seconds);
2. else this run's cell records of the same architecture on other tasks (examples per second);
3. else the benchmark (benchmarks/results.json, `make bench`): its random BERT 6 x 384 on this
   machine, scaled by compute per token (layers x hidden^2) to the base model's shape and by the
   task's size (<results>/tasks/<task>/meta.json when prepared, else
   resources/tasks/protocol_sizes.yaml)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import yaml

from model_recycling.listing.candidates import read_candidates, usable_candidates
from model_recycling.planning import plan
from model_recycling.rounds.simulate import FULL_PROTOCOL, reference_data, replay
from model_recycling.settings import SCHEMA

REPO = SCHEMA.parents[1]

BENCH_SHAPE = (6, 384)  # layers, hidden size of the benchmark's model (benchmarks/synthetic.py)
ASSUMED_SHAPE = (12, 768)  # a base-size model, when the listing does not record the base's shape
ASSUMED_WEIGHT_BYTES = 440_000_000  # a BERT-base safetensors file
BYTES_PER_PARAMETER = 4  # float32 weights, when the listing records parameters but no file size


def job_counts(config: dict, listings: dict) -> dict:
    """{arch: {stage: jobs}} as the workflow plans them (plan.job_counts). listings: {arch:
    usable candidates}."""
    return {arch: plan.job_counts(config, arch, listings[arch]) for arch in config["architectures"]}


def read_listings(config: dict, root: Path, assume_candidates: int | None = None) -> dict:
    """{arch: usable candidates}: the recorded listing, or `assume_candidates` placeholders for
    an architecture not listed yet."""
    listings = {}
    for arch, settings in config["architectures"].items():
        path = root / plan.listing_file(config, arch)
        if path.exists():
            filters = settings.get("candidates", {})
            usable = usable_candidates(read_candidates(path), filters, arch, path)
            listings[arch] = list(usable.values())
        elif assume_candidates is not None:
            listings[arch] = [_Placeholder() for _ in range(assume_candidates)]
        else:
            raise FileNotFoundError(f"{arch} is not listed yet ({path})")
    return listings


class _Placeholder:
    """An assumed candidate: not local, size unknown."""

    model_id, path, num_parameters = "", "", None


def _records(folder: Path, pattern: str) -> list:
    records = []
    for path in sorted(folder.glob(pattern)) if folder.exists() else []:
        record = json.loads(path.read_text())
        if record.get("status") == "ok" and record.get("wall_seconds"):
            records.append(record)
    return records


class Throughput:
    """Seconds per probe and per cell for one architecture, and what each figure rests on."""

    def __init__(self, config: dict, arch: str, root: Path, bench: dict, sizes: dict, shape):
        self.config, self.root, self.bench, self.sizes = config, root, bench, sizes
        arch_dir = root / plan.arch_dir(config, arch)
        self.probes = _records(arch_dir / "probe", "*.json")
        self.cells = _records(arch_dir / "cells", "*/*/seed*.json")
        self.scale = (shape[0] * shape[1] ** 2) / (BENCH_SHAPE[0] * BENCH_SHAPE[1] ** 2)

    def task_size(self, task: str) -> tuple:
        meta = self.root / plan.task_dir(self.config, task) / "meta.json"
        if meta.exists():
            sizes = json.loads(meta.read_text())["sizes"]
            return sizes["train"], sizes["eval"], "prepared meta.json"
        if task not in self.sizes:
            raise ValueError(f"task '{task}': not prepared and not in the cost estimate's sizes")
        return self.sizes[task]["train"], self.sizes[task]["eval"], "protocol_sizes.yaml"

    def probe_seconds(self) -> tuple:
        if self.probes:
            seconds = statistics.median(r["wall_seconds"] for r in self.probes)
            return seconds, f"median of {len(self.probes)} probe records of this run"
        train, evaluation, where = self.task_size(self.config["probe"]["task"])
        probe = self.bench["probe"]
        per_example = probe["seconds"]["probe_tokens"]["median"] / probe["examples"]
        seconds = per_example * self.scale * (train + evaluation) + self._overhead()
        return seconds, (
            f"benchmark probe {1 / per_example:.1f} examples/s x{1 / self.scale:.3g} for the "
            f"model's size, {train + evaluation:,} examples ({where})"
        )

    def cell_seconds(self, task: str) -> tuple:
        same_task = [r for r in self.cells if r.get("task") == task]
        if same_task:
            seconds = statistics.median(r["wall_seconds"] for r in same_task)
            return seconds, f"median of {len(same_task)} cell records of this run"
        train, _, where = self.task_size(task)
        epochs = self.config["finetune"]["epochs"]
        rated = [r for r in self.cells if r.get("train_examples_per_second")]
        if rated:
            rate = statistics.median(r["train_examples_per_second"] for r in rated)
            overhead = statistics.median(r["wall_seconds"] - r["training_seconds"] for r in rated)
            basis = f"this run's cells: {rate:.1f} examples/s ({len(rated)} records)"
        else:
            rate = self.bench["finetune"]["examples_per_second"]["ours_grouped"]["median"]
            rate, overhead = rate / self.scale, self._overhead()
            basis = f"benchmark training {rate * self.scale:.1f} examples/s x{1 / self.scale:.3g}"
        basis = f"{basis} for the model's size, {epochs} epochs x train size ({where})"
        return epochs * train / rate + overhead, basis

    def _overhead(self) -> float:
        return self.bench["cell"]["cell_overhead_s"]["median"]


def base_shape(listing_path: Path, base_id: str) -> tuple:
    if listing_path.exists():
        for row in read_candidates(listing_path):
            if row.model_id == base_id and row.num_layers and row.hidden_size:
                return (row.num_layers, row.hidden_size), "the listing's base row"
    return ASSUMED_SHAPE, f"assumed {ASSUMED_SHAPE[0]} layers x {ASSUMED_SHAPE[1]}"


def download_bytes(arch_dir: Path, usable: list) -> tuple:
    """Bytes to download for the candidates, and how many sizes were recorded at listing."""
    cache = arch_dir / "listing_cache.json"
    details = json.loads(cache.read_text()).get("details", {}) if cache.exists() else {}
    total, recorded = 0, 0
    for candidate in usable:
        if candidate.path:
            continue
        weight = details.get(candidate.model_id, {}).get("weight_bytes")
        if weight:
            total, recorded = total + weight, recorded + 1
        elif candidate.num_parameters:
            total += candidate.num_parameters * BYTES_PER_PARAMETER
        else:
            total += ASSUMED_WEIGHT_BYTES
    return total, recorded


def estimate(config: dict, root: Path, bench: dict, sizes: dict, assume_candidates=None) -> dict:
    listings = read_listings(config, root, assume_candidates)
    counts = job_counts(config, listings)
    archs = {}
    for arch, settings in config["architectures"].items():
        arch_dir = root / plan.arch_dir(config, arch)
        shape, shape_basis = base_shape(arch_dir / "candidates.tsv", settings["base_model"]["id"])
        rate = Throughput(config, arch, root, bench, sizes, shape)
        probe_s, probe_basis = rate.probe_seconds()
        cells = {task: rate.cell_seconds(task) for task in config["targets"]}
        per_cell = sum(s for s, _ in cells.values())  # one cell of every target
        n = counts[arch]
        baseline_seeds = plan.most_baseline_seeds(config)  # adaptive: at most
        archs[arch] = {
            "jobs": n,
            "seconds": {
                "probes": n["probes"] * probe_s,
                "baseline_cells": per_cell * baseline_seeds,
                "candidate_cells": per_cell * n["candidate_cells"] / len(config["targets"]),
            },
            "download_bytes": download_bytes(arch_dir, listings[arch]),
            "basis": {
                "shape": shape_basis,
                "probe": probe_basis,
                "cells": [f"{n} x {basis}" for basis, n in _tally(cells.values())],
            },
            "fewer_cells": fewer_cells(config, arch, n, per_cell),
        }
    return {"architectures": archs}


def fewer_cells(config: dict, arch: str, jobs: dict, per_cell: float) -> dict:
    """What the adaptive rules may save on one architecture, in cells and seconds: the full
    protocol's count (every seed the rule allows, every task for every selected candidate), the
    fewest and the most cells the rules can run, and what the simulator expects on the
    reference's published results of the base's family (simulate.reference_data: roberta-base
    for BERT-likes, t5-base for T5; synthetic T5 v1.1-like data, which it did not publish here;
    never below the fewest). {} without the rules."""
    seeds, racing = plan.adaptive_seeds(config, arch), plan.racing(config)
    if not seeds and not racing:
        return {}
    n_tasks, n_seeds, k = len(config["targets"]), len(config["seeds"]), plan.top_k(config, arch)
    most_seeds = plan.most_baseline_seeds(config)
    least_seeds = len(plan.first_baseline_seeds(config))
    calibration = jobs["candidate_cells"] - k * n_tasks * n_seeds  # never races
    first = min(racing["first_round"], n_tasks) if racing else n_tasks
    candidate_least = calibration + (n_tasks + (k - 1) * first) * n_seeds if k else calibration
    data = reference_data(plan.base_id(config, arch))
    rules = {"baseline_seeds": seeds or FULL_PROTOCOL["baseline_seeds"], "racing": racing}
    expected = replay(data, rules, max(k, 1), orders=100)  # fractions of the full protocol's
    return {
        "data": data.name,
        "seconds_per_cell": per_cell / n_tasks,
        "baseline": {
            "full": most_seeds * n_tasks, "least": least_seeds * n_tasks,
            "expected": max(least_seeds * n_tasks, expected["baseline"] * most_seeds * n_tasks),
        },
        "candidate": {
            "full": jobs["candidate_cells"], "least": candidate_least,
            "expected": max(
                candidate_least, calibration + expected["candidate"] * k * n_tasks * n_seeds
            ),
        },
    }  # fmt: skip


def _fewer_cells_lines(archs: dict, speedup: float) -> list:
    lines = []
    for arch, a in archs.items():
        f = a.get("fewer_cells")
        if not f:
            continue
        hours = f["seconds_per_cell"] / 3600 / speedup
        for stage in ("baseline", "candidate"):
            full, least, expected = (f[stage][key] for key in ("full", "least", "expected"))
            lines.append(
                f"  {arch} {stage} cells: full protocol {full:,} ({_hours(full * hours).strip()} "
                f"h); with the rules {least:,} to {full:,}; expected {expected:,.0f} "
                f"({_hours(expected * hours).strip()} h, saving "
                f"{_hours((full - expected) * hours).strip()} h)"
            )
        lines.append(
            f"    expected: the simulator replaying {f['data']} (its 36 tasks; `make simulate`)"
        )
    if not lines:
        return []
    ruled = [a["fewer_cells"] for a in archs.values() if a.get("fewer_cells")]
    stages = [f[stage] for f in ruled for stage in ("baseline", "candidate")]
    full, expected = (sum(stage[key] for stage in stages) for key in ("full", "expected"))
    total = (
        f"  all: {expected:,.0f} of {full:,} cells expected ({expected / full:.2f} of the full "
        "protocol's)"
    )
    return ["fewer cells (baseline_seeds as a rule, racing):", *lines, total]


def _tally(figures) -> list:
    """[(basis, how many tasks rest on it)], most first."""
    counts = {}
    for _, basis in figures:
        counts[basis] = counts.get(basis, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _hours(hours: float) -> str:
    """Whole hours at the protocol's scale; a small run's minutes do not round to 0."""
    return f"{hours:14,.0f}" if hours >= 10 else f"{hours:14.2g}"


def report(result: dict, speedup: float = 1.0, device: str = "this machine's CPU") -> str:
    """The estimate as text: a table per stage and what each figure rests on."""
    archs = result["architectures"]
    stages = ["probes", "baseline_cells", "candidate_cells"]
    lines = [f"{'stage':<16}{'jobs':>10}{'hours':>14}   (device: {device}, speedup {speedup:g})"]
    for stage in ["downloads", *stages]:
        jobs = sum(a["jobs"][stage] for a in archs.values())
        hours = sum(a["seconds"].get(stage, 0) for a in archs.values()) / 3600 / speedup
        lines.append(f"{stage:<16}{jobs:>10,}{'' if stage == 'downloads' else _hours(hours)}")
    download_jobs = sum(a["jobs"]["download_jobs"] for a in archs.values())
    lines.append(f"  of which download jobs {download_jobs:,} (the rest inside probe jobs)")
    total = sum(sum(a["seconds"].values()) for a in archs.values()) / 3600 / speedup
    volume = sum(a["download_bytes"][0] for a in archs.values())
    recorded = sum(a["download_bytes"][1] for a in archs.values())
    lines += [
        f"{'total':<16}{'':>10}{_hours(total)}",
        "cells: at most `epochs` over the train split (early stopping usually ends them sooner);"
        " dev evaluations not counted",
        f"download volume: {volume / 1e12:.2f} TB of candidate weights, first downloads "
        f"({recorded:,} sizes "
        f"recorded at listing; else num_parameters x {BYTES_PER_PARAMETER} bytes, else "
        f"{ASSUMED_WEIGHT_BYTES / 1e6:.0f} MB each)",
        *_fewer_cells_lines(archs, speedup),
        "what it rests on, per architecture:",
    ]
    for arch, a in archs.items():
        b = a["basis"]
        lines.append(f"  {arch}: shape {b['shape']}; probe: {b['probe']}")
        lines.extend(f"    cells: {basis}" for basis in b["cells"])
    return "\n".join(lines)


def load_sizes(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) if path.exists() else {}


def cost_job(configfile, root=".", bench=None, sizes=None, assume_candidates=None, speedup=1.0,
             device="this machine's CPU (make bench)", json_out=None) -> dict:  # fmt: skip
    """`make cost`: the estimate of a config file's run in `root`, printed (and written as JSON
    to json_out). bench: benchmarks/results.json; sizes: resources/tasks/protocol_sizes.yaml."""
    from snakemake.utils import validate

    config = yaml.safe_load(Path(configfile).read_text())
    validate(config, str(SCHEMA))  # fills the defaults
    config["results_dir"] = plan.resolve_results_dir(config, [configfile])
    bench = json.loads(Path(bench or REPO / "benchmarks/results.json").read_text())
    sizes = load_sizes(Path(sizes or REPO / "resources/tasks/protocol_sizes.yaml"))
    try:
        result = estimate(config, Path(root), bench, sizes, assume_candidates)
    except FileNotFoundError as err:
        raise SystemExit(
            f"cost: {err}; listing needs the Hub (make run CONFIG={configfile} "
            f"ARGS='--until list_candidates'); offline, assume a pool size: make cost "
            f"CONFIG={configfile} ARGS='--assume-candidates 2000' (the README's figures)"
        ) from None
    except ValueError as err:
        raise SystemExit(f"cost: {err}") from None
    print(f"{configfile}:")
    print(report(result, speedup, device))
    if json_out:
        Path(json_out).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result
