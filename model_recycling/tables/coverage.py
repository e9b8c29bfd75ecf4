"""Which target tasks an architecture's tables rest on. A task counts when it was prepared and
at least `baseline_min_seeds` of its baseline seeds finished (valid and ok); the others are
left out of every average, each with its reason, so that one broken task or a few failed seeds
never blank an architecture (tasks.csv; the pages say so where they show an average)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from model_recycling.naming import safe_name

COUNTED, FAILED, FEW_SEEDS = "counted", "failed", "too few baseline seeds"
COLUMNS = ["task", "status", "baseline_seeds", "reason", "unknown_tokens"]
# A task whose text is more than this share of unknown tokens to the base's tokenizer is named
# on the console and the pages: its scores say little (every model reads noise).
UNKNOWN_LIMIT = 0.2


def cell_log(arch_dir: Path, model_id: str, task: str, seed) -> Path:
    """Where the finetune rule logs a cell: <results>/logs/finetune/<arch>/<model>/<task>/..."""
    logs = Path(arch_dir).parent.parent / "logs" / "finetune"
    return logs / Path(arch_dir).name / safe_name(model_id) / task / f"seed{seed}.log"


def cell_state(found: pd.DataFrame) -> str:
    """What is wrong with a task and seed's cell; "" when it counts."""
    if not len(found):
        return "missing"
    cell = found.iloc[0]
    if cell.invalid:
        return f"invalid: {cell.invalid}"
    return "" if cell.status == "ok" else f"{cell.status}: {cell.reason}"


def seed_problems(cells: pd.DataFrame, arch_dir, model_id: str, task: str, seeds) -> list:
    """One line per seed of the task without a counted cell: what is wrong, where its log is."""
    mine = cells[(cells.model_id == model_id) & (cells.task == task)]
    lines = []
    for seed in seeds:
        state = cell_state(mine[mine.path.str.endswith(f"/seed{seed}.json")])
        if state:
            log = cell_log(Path(arch_dir), model_id, task, seed)
            lines.append(f"seed {seed}: {state} (log: {log})")
    return lines


def seeds_of(seeds, task) -> list:
    """A task's baseline seeds: the list every task shares, or its own (adaptive seeds)."""
    return seeds[task] if isinstance(seeds, dict) else seeds


def task_coverage(
    task_metas: dict, cells: pd.DataFrame, base_id: str, tasks, baseline_seeds, min_seeds: int,
    arch_dir,
) -> pd.DataFrame:  # fmt: skip
    """One row per target task: counted, failed (not prepared) or too few baseline seeds, the
    number of baseline seeds that finished, and the reason it is left out. min_seeds is capped
    at the number of the task's baseline seeds (baseline_seeds: a list, or task -> its seeds)."""
    rows = []
    for task in tasks:
        meta = task_metas[task]
        seeds = seeds_of(baseline_seeds, task)
        needed = min(min_seeds, len(seeds))
        problems = seed_problems(cells, arch_dir, base_id, task, seeds)
        finished = len(seeds) - len(problems)
        if meta.get("status") == "failed":
            row = (FAILED, 0, f"not prepared: {meta['reason']}")
        elif finished < needed:
            reason = (
                f"{finished} of {len(seeds)} baseline seeds finished, fewer than "
                f"baseline_min_seeds {needed}; {problems[0]}"
            )
            row = (FEW_SEEDS, finished, reason)
        else:
            row = (COUNTED, finished, "")
        rows.append((task, *row, _unknown_tokens(cells, base_id, task)))
    return pd.DataFrame(rows, columns=COLUMNS)


def _unknown_tokens(cells: pd.DataFrame, base_id: str, task: str) -> float | None:
    """The share of the task's training tokens the base's tokenizer does not know (its cells
    record it; None when none did)."""
    if "unknown_token_rate" not in cells:
        return None
    rates = cells.unknown_token_rate[(cells.model_id == base_id) & (cells.task == task)].dropna()
    return float(rates.max()) if len(rates) else None


def unreadable_tasks(tables_dir) -> list:
    """[(task, share of unknown tokens)] for the tasks whose text the base's tokenizer mostly
    cannot read (above UNKNOWN_LIMIT), from tasks.csv (older tables: none known)."""
    path = Path(tables_dir) / "tasks.csv"
    if not path.exists():
        return []
    coverage = pd.read_csv(path, keep_default_na=False)
    if "unknown_tokens" not in coverage:
        return []
    rates = pd.to_numeric(coverage.unknown_tokens, errors="coerce")
    return [(t, float(r)) for t, r in zip(coverage.task, rates, strict=True) if r > UNKNOWN_LIMIT]


def counted_tasks(coverage: pd.DataFrame) -> list:
    return list(coverage.task[coverage.status == COUNTED])


def read_coverage(tables_dir, targets) -> tuple[list, list]:
    """(the targets that count, [(task, reason)] of those left out) from an architecture's
    tasks.csv; tables made before it existed counted every target."""
    path = Path(tables_dir) / "tasks.csv"
    if not path.exists():
        return list(targets), []
    coverage = pd.read_csv(path, keep_default_na=False)
    left_out = coverage[coverage.status != COUNTED]
    return counted_tasks(coverage), list(zip(left_out.task, left_out.reason, strict=True))
