"""The reference site's published result files, read as they are (IBM/model-recycling's
`results/`; a copy of two architectures' files is in tests/data/published/ with their layout in
its README):

- `<arch>_table.csv`: one row per model, comma-separated, an unnamed index column first, then
  `model_name`, `avg`, `mnli_lp` (the probe) and one column per task, in points (x100). The base
  is a row with no probe (the mean of its seeds), and may appear again probed like a candidate;
  a model may have several rows; a probe of 0.0 is a broken probe.
- `models_results_<arch>_pretrain.csv`: the baseline's seeds, tab-separated, an unnamed index,
  `dataset name`, `accuracy` or `spearmanr` as fractions (0-1), `stage` (the seed). A seed with
  neither score, or with accuracy exactly 0, is a failed run.

Every row left out is counted with its reason (`Published.notes`), so a replay says what it
read.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from model_recycling.validation import implausible

# The reference's probe: MNLI validation_mismatched, 3 classes, 9,832 examples (protocol).
PROBE_LABELS, PROBE_EVAL = 3, 9_832
NOT_TASKS = ("", "model_name", "avg", "mnli_lp")
SPEARMAN_TASKS = ("stsb",)


@dataclass
class Published:
    """One architecture's published results, points (x100): the baseline's scores per task and
    seed (NaN: a failed seed), each fully tested candidate's per task, every valid probe."""

    name: str
    base_id: str
    tasks: list[str]
    baseline: dict[str, list[float]]
    models: dict[str, dict[str, float]]
    probe: dict[str, float]
    notes: Counter = field(default_factory=Counter)


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def read_rows(path: Path) -> list[dict]:
    """A CSV or TSV file's rows (the separator its header uses), the unnamed index column under
    the key ''."""
    with open(path, newline="", encoding="utf-8") as handle:
        header = handle.readline()
        handle.seek(0)
        delimiter = "\t" if header.count("\t") > header.count(",") else ","
        rows = list(csv.DictReader(handle, delimiter=delimiter))
    if rows and None in rows[0]:
        raise ValueError(f"{path}: a row has more fields than the header")
    return rows


def base_names(table: Path, declared: str = "") -> set[str]:
    """The names the base goes by in a table: the declared id, the file's stem (`roberta-base`)
    and, for an organisation-prefixed stem (`microsoft_deberta-v3-base`), `org/name`."""
    stem = Path(table).name.removesuffix(".csv").removesuffix("_table")
    names = {stem, declared} - {""}
    if "_" in stem:
        names.add(stem.replace("_", "/", 1))
    return names


def _is_base(name: str, bases: set[str]) -> bool:
    """The base under one of its names, or under its name without the organisation."""
    name = name.lower()
    full = {b.lower() for b in bases}
    return name in full or ("/" not in name and name in {b.rsplit("/", 1)[-1] for b in full})


def read_baseline(path: Path, notes: Counter) -> dict[str, list[float]]:
    """{task: its seeds' scores in seed order, points}; NaN for a failed seed (no score, or an
    accuracy the plausibility rule refuses: exactly 0)."""
    found = defaultdict(list)
    for index, row in enumerate(read_rows(path)):
        task = (row.get("dataset name") or "").strip()
        if not task:
            raise ValueError(f"{path}: row {index + 2} has no 'dataset name'")
        accuracy, spearman = _number(row.get("accuracy")), _number(row.get("spearmanr"))
        score = accuracy if math.isfinite(accuracy) else spearman
        if not math.isfinite(score):
            notes["baseline seeds failed (no score)"] += 1
        elif abs(score) > 1:
            raise ValueError(f"{path}: row {index + 2} ({task}): {score} is not a fraction")
        elif accuracy == 0:  # the plausibility rule's first clause (validation.implausible)
            notes["baseline seeds failed (accuracy exactly 0)"] += 1
            score = math.nan
        seed = _number(row.get("stage", row.get("seed")))
        found[task].append((seed if math.isfinite(seed) else index, index, 100 * score))
    return {task: [score for *_, score in sorted(seeds)] for task, seeds in found.items()}


def _scores(row: dict, tasks: list[str]) -> tuple[dict, str]:
    """(the row's task scores, why the row is corrupted or '' ); an empty cell is NaN."""
    scores = {}
    for task in tasks:
        value = _number(row.get(task))
        low = -100 if task in SPEARMAN_TASKS else 0
        text = (row.get(task) or "").strip()
        if text and not low <= value <= 100:
            return {}, f"a task score outside [{low}, 100] or not a number ({task}: {text})"
        scores[task] = value
    return scores, ""


def _valid_probe(value: float) -> str:
    """Why a published probe cannot be ranked ('' when it can)."""
    if not math.isfinite(value):
        return "no probe"
    reason = implausible(value / 100, PROBE_EVAL, PROBE_LABELS)
    return "probe 0.0 or implausible" if reason else ""


def read_published(table: Path | str, baseline: Path | str, base_id: str = "") -> Published:
    """One architecture's pair of files. The base's rows are recognised by name (base_names) and
    left out; one entry per model id: its valid probe and, from a row with every task, its
    scores (the first such row when several disagree, counted)."""
    table, notes = Path(table), Counter()
    seeds = read_baseline(Path(baseline), notes)
    rows = read_rows(table)
    columns = [c for c in (rows[0] if rows else {}) if c not in NOT_TASKS]
    tasks = [t for t in columns if t in seeds]
    if not tasks:
        raise ValueError(f"{table}: no task column {columns} is a dataset of {baseline}")
    for task in set(columns) - set(tasks):
        notes[f"task column without baseline seeds, left out: {task}"] += 1
    bases = base_names(table, base_id)
    bases |= {r["model_name"] for r in rows if not (r.get("mnli_lp") or "").strip()
              and all((r.get(t) or "").strip() for t in tasks)}  # fmt: skip
    models, probe, seen = {}, {}, set()
    for row in rows:
        name = (row.get("model_name") or "").strip()
        if _is_base(name, bases):
            notes["rows of the base itself"] += 1
            continue
        notes["duplicate rows of a model id (merged)"] += name in seen
        seen.add(name)
        scores, corrupted = _scores(row, tasks)
        if corrupted:
            notes[f"rows corrupted: {corrupted.split(' (')[0]}"] += 1
            continue
        value = _number(row.get("mnli_lp"))
        why = _valid_probe(value)
        if why:
            notes[f"rows whose {why}: not selectable"] += 1
        elif name in probe and probe[name] != value:
            notes["duplicate rows with another valid probe (the first kept)"] += 1
        else:
            probe[name] = value
        if all(math.isfinite(v) for v in scores.values()):
            if name in models and models[name] != scores:
                notes["duplicate rows with other task scores (the first kept)"] += 1
            models.setdefault(name, scores)
        elif any(math.isfinite(v) for v in scores.values()):
            notes["rows with some tasks missing: not fully tested"] += 1
    base = min(bases, key=lambda b: ("/" not in b, len(b)))
    return Published(
        table.name.removesuffix(".csv").removesuffix("_table"), base, tasks,
        {t: seeds[t] for t in tasks}, models, probe, +notes,
    )  # fmt: skip


def published_pairs(folder: Path | str) -> list[tuple[Path, Path]]:
    """Every (table, baseline) pair in a folder of published files, matched by name
    (`microsoft_deberta-v3-base_table.csv` with `models_results_microsoft_deberta_v3_base_
    pretrain.csv`)."""
    folder = Path(folder)
    baselines = {
        p.name.removeprefix("models_results_").removesuffix("_pretrain.csv"): p
        for p in folder.glob("models_results_*_pretrain.csv")
    }
    pairs = []
    for table in sorted(folder.glob("*_table.csv")):
        key = table.name.removesuffix("_table.csv").replace("-", "_").replace(".", "_")
        if key not in baselines:
            raise ValueError(f"{table}: no baseline file models_results_{key}_pretrain.csv")
        pairs.append((table, baselines[key]))
    return pairs
