"""Cells -> tables, per architecture. Every value is keyed by task name, never by position, and
every accuracy keeps the counts behind it (cells.csv), so each number can be checked on its own.

Wide tables (ranking.csv, baseline.csv, gains.csv) are x100, as the pages show them; cells.csv
keeps the raw fraction of each cell.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from model_recycling.io import read_json
from model_recycling.naming import model_id_from_safe_name

CELL_COLUMNS = [
    "model_id", "role", "task", "seed", "status", "reason", "score", "metric", "n_eval",
    "n_correct", "dev_score", "epochs_run", "model_revision", "task_fingerprint", "path",
]  # fmt: skip


def load_cells(cells_root) -> pd.DataFrame:
    """Every cell file under results/architectures/<arch>/cells (results accumulate across runs)."""
    rows = []
    for path in sorted(Path(cells_root).glob("*/*/seed*.json")):
        cell = read_json(path)
        model_dir, task_dir = path.parent.parent.name, path.parent.name
        if model_id_from_safe_name(model_dir) != cell["model_id"] or task_dir != cell["task"]:
            raise ValueError(f"{path}: file location does not match its content")
        rows.append({c: cell.get(c) for c in CELL_COLUMNS if c != "path"} | {"path": str(path)})
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


def complete_models(cells: pd.DataFrame, tasks, seeds, fingerprints: dict) -> list:
    """Models with an ok cell for every task and seed, computed on the current task data."""
    current = cells[(cells.status == "ok") & (cells.task.isin(tasks)) & (cells.seed.isin(seeds))]
    current = current[current.task_fingerprint == current.task.map(fingerprints)]
    done = current.drop_duplicates(["model_id", "task", "seed"]).groupby("model_id").size()
    return sorted(done[done == len(tasks) * len(seeds)].index)


def baseline_table(cells: pd.DataFrame, base_id: str, tasks, seeds) -> pd.DataFrame:
    """Mean and std over seeds per task, plus 'avg': mean and std of the per-seed averages."""
    base = cells[(cells.model_id == base_id) & cells.task.isin(tasks) & cells.seed.isin(seeds)]
    per_seed = base.pivot_table(index="seed", columns="task", values="score")[list(tasks)] * 100
    per_seed["avg"] = per_seed.mean(axis=1)
    table = pd.DataFrame(
        {"mean": per_seed.mean(), "std": per_seed.std(ddof=1), "n_seeds": per_seed.count()}
    )
    table.index.name = "task"
    return table


def ranking_table(
    cells, models, tasks, seeds, baseline: pd.DataFrame, probes: dict
) -> pd.DataFrame:
    """One row per fully tested model: probe score, avg, gain, and each task (mean over seeds)."""
    rows = []
    for model_id in models:
        mine = cells[(cells.model_id == model_id) & cells.task.isin(tasks) & cells.seed.isin(seeds)]
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


def aggregate_architecture(arch_dir, base_id, tasks, seeds, baseline_seeds, fingerprints, out_dir):
    """Write cells.csv, baseline.csv, ranking.csv, gains.csv, probes.csv into out_dir."""
    arch_dir, out_dir = Path(arch_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cells = load_cells(arch_dir / "cells")
    probe_records = [read_json(p) for p in sorted((arch_dir / "probe").glob("*.json"))]
    probes = {p["model_id"]: p["score"] * 100 for p in probe_records if p["status"] == "ok"}
    missing = set(tasks) - set(fingerprints)
    if missing:
        raise ValueError(f"no prepared data for tasks {sorted(missing)}")
    if base_id not in complete_models(cells, tasks, baseline_seeds, fingerprints):
        raise ValueError(f"baseline {base_id}: cells missing or failed for some task/seed")
    baseline = baseline_table(cells, base_id, tasks, baseline_seeds)
    tested = [m for m in complete_models(cells, tasks, seeds, fingerprints) if m != base_id]
    ranking = ranking_table(cells, tested, tasks, seeds, baseline, probes)
    gains = gains_table(ranking, baseline, tasks)

    cells.to_csv(out_dir / "cells.csv", index=False)
    baseline.to_csv(out_dir / "baseline.csv")
    ranking.to_csv(out_dir / "ranking.csv", index=False)
    gains.to_csv(out_dir / "gains.csv")
    pd.DataFrame(probe_records, columns=[
        "model_id", "model_revision", "status", "reason", "score", "n_correct", "n_eval", "n_train",
        "feature_seconds", "fit_seconds", "wall_seconds", "task_fingerprint",
    ]).to_csv(out_dir / "probes.csv", index=False)  # fmt: skip
    return {"baseline": baseline, "ranking": ranking, "gains": gains, "cells": cells}
