"""Cells -> tables, per architecture. Every value is keyed by task name, never by position, and
every accuracy keeps the counts behind it (cells.csv), so each number can be checked on its own.

Every cell of a current target task and every probe record is validated first
(model_recycling/validation.py): an invalid one is listed in invalid.csv with its file and reason,
and never counts.

Wide tables (ranking.csv, baseline.csv, gains.csv) are x100, as the pages show them; cells.csv
keeps the raw fraction of each cell.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from model_recycling.io import atomic_write_json, read_json
from model_recycling.listing.candidates import read_candidates
from model_recycling.listing.local import content_revision
from model_recycling.naming import model_id_from_safe_name
from model_recycling.probing.selection import read_selection
from model_recycling.records import read_record
from model_recycling.settings import default
from model_recycling.tables.coverage import counted_tasks, seeds_of, task_coverage
from model_recycling.tables.outcomes import (
    PROBE_FAILED,
    PROBE_INVALID,
    RANKED,
    candidate_outcomes,
    outcome_counts,
    write_candidates_csv,
)
from model_recycling.tables.proxy_quality import proxies_table
from model_recycling.validation import validate_cell, validate_probe

CELL_COLUMNS = [
    "model_id", "role", "task", "seed", "status", "reason", "score", "metric", "n_eval",
    "n_correct", "dev_score", "epochs_run", "model_revision", "task_fingerprint",
    "unknown_token_rate", "path", "invalid",
]  # fmt: skip
# Timings stay in the probe files: the published tables hold what two runs agree on.
PROBE_COLUMNS = [
    "model_id", "model_revision", "status", "reason", "score", "n_correct", "n_eval", "n_train",
    "task_fingerprint", "path", "invalid",
]  # fmt: skip
INVALID_COLUMNS = ["kind", "path", "model_id", "reason"]


def read_cells_csv(path) -> pd.DataFrame:
    """cells.csv as written, each column's type read from the whole file: with tens of thousands
    of rows, pandas otherwise types a column of mostly empty reasons chunk by chunk."""
    return pd.read_csv(path, low_memory=False)


def _misplaced(path: Path, cell: dict) -> str:
    model_dir, task_dir = path.parent.parent.name, path.parent.name
    if cell.get("model_id") != model_id_from_safe_name(model_dir) or cell.get("task") != task_dir:
        return "file location does not match its model_id and task"
    if path.name != f"seed{cell.get('seed')}.json":
        return "file name does not match its seed"
    return ""


def load_cells(cells_root, task_metas: dict, revisions: dict) -> pd.DataFrame:
    """Every cell file under results/architectures/<arch>/cells (results accumulate across runs);
    cells of current target tasks are validated ("invalid": the reason, "" when valid)."""
    rows = []
    for path in sorted(Path(cells_root).glob("*/*/seed*.json")):
        cell, reason = read_record(path)
        if not reason and path.parent.name in task_metas:
            reason = validate_cell(cell, task_metas, revisions)
        reason = reason or _misplaced(path, cell)
        row = {c: cell.get(c) for c in CELL_COLUMNS} | {"path": str(path), "invalid": reason}
        if reason:  # name the record by where it lies, whatever it holds
            row.update(model_id=model_id_from_safe_name(path.parent.parent.name))
            row.update(task=path.parent.name, status="invalid")
        rows.append(row)
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


def load_probes(probe_dir, probe_meta: dict, revisions: dict) -> pd.DataFrame:
    rows = []
    for path in sorted(Path(probe_dir).glob("*.json")):
        record, reason = read_record(path)
        if not reason and record.get("model_id") != model_id_from_safe_name(path.stem):
            reason = "file name does not match its model_id"
        reason = reason or validate_probe(record, probe_meta, revisions)
        row = {c: record.get(c) for c in PROBE_COLUMNS} | {"path": str(path), "invalid": reason}
        if reason:
            row.update(model_id=model_id_from_safe_name(path.stem), status="invalid")
        rows.append(row)
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


def invalid_records(cells: pd.DataFrame, probes: pd.DataFrame) -> pd.DataFrame:
    parts = [
        frame.loc[frame.invalid != "", ["path", "model_id", "invalid"]].assign(kind=kind)
        for kind, frame in (("cell", cells), ("probe", probes))
    ]
    table = pd.concat(parts, ignore_index=True).rename(columns={"invalid": "reason"})
    return table[INVALID_COLUMNS]


def _counted(cells: pd.DataFrame, tasks, seeds) -> pd.DataFrame:
    """The cells that count: valid, ok, of the current tasks and the given seeds."""
    keep = (cells.status == "ok") & (cells.invalid == "")
    return cells[keep & cells.task.isin(tasks) & cells.seed.isin(seeds)]


def complete_models(cells: pd.DataFrame, tasks, seeds) -> list:
    """Models with a valid ok cell for every task and seed (validation checked the task data)."""
    done = _counted(cells, tasks, seeds).drop_duplicates(["model_id", "task", "seed"])
    done = done.groupby("model_id").size()
    return sorted(done[done == len(tasks) * len(seeds)].index)


def baseline_table(cells: pd.DataFrame, base_id: str, tasks, seeds) -> pd.DataFrame:
    """Mean, std, number and standard error of the mean over the seeds that finished, per task,
    plus 'avg': the mean of the task means, with the std of the per-seed averages over the seeds
    that finished every task and the standard error of the average (the task means' errors
    combined: sqrt of the sum of squares / tasks). seeds: a list, or task -> its seeds."""
    if not tasks:  # no target counts: an average of nothing
        empty = {"mean": [math.nan], "std": [math.nan], "n_seeds": [0], "se": [math.nan]}
        return pd.DataFrame(empty, index=pd.Index(["avg"], name="task"))
    base = pd.concat([_counted(cells[cells.model_id == base_id], [t], seeds_of(seeds, t))
                      for t in tasks])  # fmt: skip
    per_seed = base.pivot_table(index="seed", columns="task", values="score")
    per_seed = per_seed.reindex(columns=list(tasks)) * 100
    complete = per_seed.dropna()
    counts = per_seed.count()
    table = pd.DataFrame({
        "mean": per_seed.mean(), "std": per_seed.std(ddof=1), "n_seeds": counts,
        "se": per_seed.std(ddof=1) / counts.pow(0.5),
    })  # fmt: skip
    averages = complete.mean(axis=1)  # per seed that finished every task
    every_seed = len(complete) == len(per_seed)  # else an average over seeds would mix tasks
    table.loc["avg"] = [
        averages.mean() if every_seed else table["mean"][list(tasks)].mean(),
        averages.std(ddof=1) if len(complete) > 1 else math.nan,
        len(complete),
        math.sqrt((table["se"][list(tasks)] ** 2).sum(min_count=len(tasks))) / len(tasks),
    ]
    table["n_seeds"] = table["n_seeds"].astype(int)
    table.index.name = "task"
    return table


def ranking_table(
    cells, models, tasks, seeds, baseline: pd.DataFrame, probes: dict
) -> pd.DataFrame:
    """One row per fully tested model: probe score, avg, gain, and each task (mean over seeds)."""
    rows = []
    for model_id in models:
        mine = _counted(cells[cells.model_id == model_id], tasks, seeds)
        per_task = (mine.groupby("task").score.mean() * 100)[list(tasks)]
        revision = mine.model_revision.iloc[0]
        rows.append({
            "model_id": model_id,
            "revision": revision,
            "probe_score": probes.get(model_id),
            "avg": per_task.mean(),
            "gain_avg": per_task.mean() - baseline.loc["avg", "mean"],
            "n_seeds": len(seeds),
            **per_task.to_dict(),
        })  # fmt: skip
    columns = ["model_id", "revision", "probe_score", "avg", "gain_avg", "n_seeds", *tasks]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["avg", "model_id"], ascending=[False, True]).reset_index(drop=True)


def gains_table(ranking: pd.DataFrame, baseline: pd.DataFrame, tasks) -> pd.DataFrame:
    gains = ranking.set_index("model_id")[list(tasks)] - baseline.loc[list(tasks), "mean"]
    gains.insert(0, "avg", ranking.set_index("model_id").gain_avg)
    return gains


def aggregate_architecture(
    arch_dir, base_id, targets, seeds, baseline_seeds, task_metas, probe_meta, revisions, out_dir,
    listing=None, baseline_min_seeds=1, raced=None,
):  # fmt: skip
    """Write cells.csv, baseline.csv, ranking.csv, gains.csv, probes.csv, invalid.csv,
    tasks.csv (which targets count, coverage.py), proxies.csv (every proxy's score per probed
    model) and candidates.csv (every listed candidate's outcome; listing: the paths of
    candidates.tsv and selected.tsv, which every workflow run has; without them the table has no
    rows). Averages, rankings and gains rest on the targets that count.

    task_metas: task -> meta.json of the targets; probe_meta: the probe task's meta.json;
    revisions: model id -> the revision the run uses now (candidates.tsv, and the base's);
    baseline_seeds: a list, or task -> its seeds (adaptive seeds); raced: with racing, the last
    round's decisions (model id -> status, tasks, interval): a stopped candidate never ranks,
    and racing.csv lists every raced one."""
    arch_dir, out_dir = Path(arch_dir), Path(out_dir)
    missing = set(targets) - set(task_metas)
    if missing:
        raise ValueError(f"no prepared data for tasks {sorted(missing)}")
    prepared = {t: task_metas[t] for t in targets if task_metas[t].get("status") != "failed"}
    cells = load_cells(arch_dir / "cells", prepared, revisions)
    probe_rows = load_probes(arch_dir / "probe", probe_meta, revisions)
    valid_probes = probe_rows[(probe_rows.status == "ok") & (probe_rows.invalid == "")]
    probes = dict(zip(valid_probes.model_id, valid_probes.score * 100, strict=True))
    coverage = task_coverage(
        task_metas, cells, base_id, targets, baseline_seeds, baseline_min_seeds, arch_dir
    )
    tasks = counted_tasks(coverage)
    baseline = baseline_table(cells, base_id, tasks, baseline_seeds)
    stopped = {m for m, row in (raced or {}).items() if row["status"] == "stopped"}
    tested = [m for m in complete_models(cells, tasks, seeds) if m not in {base_id, *stopped}]
    tested = tested if tasks else []
    ranking = ranking_table(cells, tested, tasks, seeds, baseline, probes)
    gains = gains_table(ranking, baseline, tasks)
    invalid = invalid_records(cells, probe_rows)

    _write_tables(out_dir, {
        "tasks": coverage, "cells": cells, "baseline": baseline, "ranking": ranking,
        "gains": gains, "probes": probe_rows, "invalid": invalid,
        **({"racing": racing_table(raced)} if raced is not None else {}),
    })  # fmt: skip
    current = cells[cells.task.isin(tasks) & cells.seed.isin(seeds)]
    refused = dict(zip(probe_rows.model_id, probe_rows.invalid, strict=True))
    refused = {model: reason for model, reason in refused.items() if reason}
    outcomes = (
        candidate_outcomes(*listing, current, set(ranking.model_id), refused, raced, len(targets))
        if listing
        else []
    )
    write_candidates_csv(out_dir / "candidates.csv", outcomes)
    # the valid records again, for every proxy's score (probes.csv keeps the linear probe's)
    records = {row.model_id: read_json(row.path) for row in valid_probes.itertuples()}
    proxies = proxies_table(records, ranking, listing)
    proxies.to_csv(out_dir / "proxies.csv", index=False)
    return {
        "baseline": baseline, "ranking": ranking, "gains": gains, "cells": cells,
        "probes": probe_rows, "invalid": invalid, "proxies": proxies, "tasks": coverage,
        "outcomes": outcomes,
    }  # fmt: skip


def _write_tables(out_dir: Path, tables: dict) -> None:
    """<name>.csv per table; baseline and gains keep their index (task, model_id)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(out_dir / f"{name}.csv", index=name in ("baseline", "gains"))


def racing_table(raced: dict) -> pd.DataFrame:
    """Every raced candidate: finished ones first, then stopped ones, the later stopped first;
    by mean gain within each."""
    table = pd.DataFrame(
        [{"model_id": model, **row} for model, row in raced.items()],
        columns=["model_id", "status", "tasks", "mean_gain", "low", "high", "why"],
    )
    table["why"] = table.why.astype(object).fillna("")
    table["finished"] = table.status == "finished"
    order = ["finished", "tasks", "mean_gain", "model_id"]
    table = table.sort_values(order, ascending=[False, False, False, True])
    return table.drop(columns="finished").reset_index(drop=True)


def add_base_arguments(parser) -> None:
    """The command-line options that name the base whose cells count (current_revisions reads
    them): --base-id, --base-revision, --base-dir."""
    parser.add_argument("--base-id", required=True)
    parser.add_argument("--base-revision", required=True, help="'auto': the folder's hash")
    parser.add_argument("--base-dir", required=True)


def current_revisions(candidates, base_id: str, base_revision: str, base_dir: str) -> dict:
    """Model id -> the revision the run uses now: candidates.tsv's, and the base's as its cells
    get it ("auto": a local base's content hash, as finetuning/cell.py computes it)."""
    revisions = {c.model_id: c.revision for c in candidates if c.revision}
    revisions[base_id] = content_revision(base_dir) if base_revision == "auto" else base_revision
    return revisions


def baseline_seeds_from_rounds(configured, rounds, tasks):
    """The configured list of seeds, or with adaptive seeds {task: the seeds its rounds asked},
    read from the tasks' final seeds files (each a copy of the task's last round)."""
    if isinstance(configured, list):
        return configured
    seeds = {decision["task"]: decision["seeds"] for decision in map(read_json, rounds)}
    missing = set(tasks) - set(seeds)
    if missing:
        raise ValueError(f"no final baseline seeds for tasks {sorted(missing)} in {rounds}")
    return seeds


def aggregate_job(
    arch_dir, base_id, base_revision, base_dir, settings, task_metas, probe_meta, candidates_tsv,
    selection_tsv, out_dir, baseline_rounds=(), racing=None,
) -> dict:  # fmt: skip
    """The aggregate rule: every table of one architecture, and counts.json (listed, excluded,
    probed, failed, selected, tested, invalid) that the pages read. task_metas and probe_meta:
    paths of meta.json files; settings: targets, seeds, baseline_seeds and, when the config
    writes it, baseline_min_seeds (else the schema's default). baseline_rounds: with adaptive
    seeds, the tasks' final seeds files (each names its seeds); racing: the last racing round's
    file."""
    candidates = read_candidates(candidates_tsv)
    revisions = current_revisions(candidates, base_id, base_revision, base_dir)
    metas = {m["task"]: m for m in map(read_json, task_metas)}
    targets = settings["targets"]
    tables = aggregate_architecture(
        arch_dir, base_id, targets, settings["seeds"],
        baseline_seeds_from_rounds(settings["baseline_seeds"], baseline_rounds, targets), metas,
        read_json(probe_meta), revisions, out_dir, listing=(candidates_tsv, selection_tsv),
        baseline_min_seeds=settings.get("baseline_min_seeds", default("baseline_min_seeds")),
        raced=read_json(racing)["decisions"] if racing else None,
    )  # fmt: skip
    selection = read_selection(selection_tsv)
    outcomes = outcome_counts(tables["outcomes"])
    counts = {
        "listed": len(candidates),
        "excluded": sum(c.status != "ok" for c in candidates),
        "probed": sum(outcomes[o] for o in RANKED),  # ranked by a valid probe
        "probe_failed": outcomes[PROBE_FAILED],
        "probe_invalid": outcomes[PROBE_INVALID],
        "selected": sum(r["selected"] == "yes" for r in selection),
        "tested": len(tables["ranking"]),
        "invalid": len(tables["invalid"]),
        "invalid_models": tables["invalid"].model_id.nunique(),
        "outcomes": outcomes,
    }
    atomic_write_json(Path(out_dir) / "counts.json", counts)
    print(json.dumps(counts))
    for _, row in tables["invalid"].iterrows():
        print(f"invalid {row.kind} {row.path}: {row.reason}")
    return counts
