"""Tasks as data: a registry of declarative entries (YAML files mapping task name -> entry);
prepare.py turns any entry into (texts, label) examples with train / dev / eval splits.

Keys of an entry (the fields of TaskSpec): dataset, config, revision, data_files, train_split,
eval_split, inputs, label, task_type, labels, label_names, label_transform, drop_labels, metric,
eval_max_examples, train_max_examples, dev_split, eval_from_train.

eval_from_train (for datasets that ship a single labelled split): the eval set is carved out of
the train split instead of read from a split of its own. An int takes that many examples, a float
in (0, 1) that fraction (rounded up); they are a seeded sample (sample_seed) and are removed from
train before the dev set is held out. The entry must then say eval_split equal to train_split,
so that every reader of the entry sees where the eval examples come from; an entry whose eval_split
equals its train_split without eval_from_train is refused (it would evaluate on training data).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

from model_recycling.config_file import key_lines, load_config_file


def _bin_5(value):
    """SST phrase sentiment in [0, 1] -> 5 classes with SST's cut-offs [0, 0.2], (0.2, 0.4],
    (0.4, 0.6], (0.6, 0.8], (0.8, 1.0]: a value on a boundary goes to the lower class."""
    return min(max(math.ceil(round(float(value) * 5, 9)) - 1, 0), 4)


# Derived labels computed from a raw label value (named in the registry, never code per task).
LABEL_TRANSFORMS = {"sst_5bins": _bin_5}


@dataclass(frozen=True)
class TaskSpec:
    name: str
    dataset: str
    inputs: list
    label: str
    task_type: str = "classification"
    metric: str = "accuracy"
    config: str | None = None
    revision: str | None = None
    data_files: dict | None = None
    train_split: str | list = "train"
    eval_split: str | list = "test"
    dev_split: str | list | None = None
    labels: list | None = None
    label_names: list | None = None
    label_transform: str | None = None
    drop_labels: list = field(default_factory=list)
    eval_max_examples: int | None = None
    train_max_examples: int | None = None
    eval_from_train: int | float | None = None

    @property
    def is_regression(self) -> bool:
        return self.task_type == "regression"

    @property
    def num_labels(self) -> int:
        return 1 if self.is_regression else len(self.labels)

    def names_of_labels(self) -> list:
        if self.is_regression:
            return []
        return [str(x) for x in (self.label_names or self.labels)]

    def local_data_files(self) -> list:
        """Local files this task reads (lets the workflow depend on the rule that builds them)."""
        files = []
        for value in (self.data_files or {}).values():
            files.extend([value] if isinstance(value, str) else value)
        return files


ENTRY_KEYS = [f.name for f in fields(TaskSpec) if f.name != "name"]
REQUIRED_KEYS = [f.name for f in fields(TaskSpec) if f.name != "name" and f.default is MISSING
                 and f.default_factory is MISSING]  # fmt: skip


def _entry_problem(name, entry) -> tuple:
    """(the key at fault or None, what is wrong) for an entry of the wrong shape; (None, '')."""
    if not isinstance(entry, dict):
        return None, f"an entry is a mapping of keys ({', '.join(REQUIRED_KEYS)}, ...)"
    for key in entry:
        if key not in ENTRY_KEYS:
            close = difflib.get_close_matches(str(key), ENTRY_KEYS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            return key, f"unknown key '{key}' ({hint}keys: {', '.join(ENTRY_KEYS)})"
    missing = [key for key in REQUIRED_KEYS if key not in entry]
    if missing:
        return None, f"missing key '{missing[0]}' (every entry needs {', '.join(REQUIRED_KEYS)})"
    return None, ""


def load_registry(paths) -> dict:
    """Merge registry files (later files may add tasks, never silently redefine one). Read
    strictly: a duplicate key, malformed YAML, an unknown or missing key is a ValueError naming
    the file and line."""
    registry = {}
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        entries = load_config_file(path, "a task registry is a mapping of task names to entries")
        lines = key_lines(path)
        for name, entry in entries.items():
            if name in registry:
                raise ValueError(f"task '{name}' is defined twice (again in {path})")
            key, problem = _entry_problem(name, entry)
            if problem:
                line = lines.get((name, key) if key else (name,), "?")
                raise ValueError(f"{path}:{line}: task '{name}': {problem}")
            spec = TaskSpec(name=name, **entry)
            if spec.task_type == "classification" and not spec.labels:
                raise ValueError(f"task '{name}' in {path}: classification needs 'labels'")
            if spec.label_transform and spec.label_transform not in LABEL_TRANSFORMS:
                raise ValueError(
                    f"task '{name}' in {path}: unknown label_transform '{spec.label_transform}'"
                )
            _check_eval_source(spec, path)
            registry[name] = spec
    return registry


def _check_eval_source(spec: TaskSpec, path) -> None:
    """eval_from_train is set exactly when eval_split names the train split (see module doc)."""
    size = spec.eval_from_train
    carved = size is not None
    if carved and (
        isinstance(size, bool)
        or not ((isinstance(size, int) and size >= 1) or (isinstance(size, float) and 0 < size < 1))
    ):
        raise ValueError(
            f"task '{spec.name}' in {path}: eval_from_train must be a count >= 1 or a fraction "
            f"in (0, 1), not {size!r}"
        )
    if carved != (as_list(spec.eval_split) == as_list(spec.train_split)):
        raise ValueError(
            f"task '{spec.name}' in {path}: eval_from_train (a disjoint eval set carved out of the "
            "train split) must be set exactly when eval_split equals train_split"
        )


def as_list(split) -> list:
    return [split] if isinstance(split, str) else list(split)


def defining_file(paths, name: str) -> str:
    """The registry file that defines task `name` (for messages that say where to look)."""
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        if (name,) in key_lines(path):
            return str(path)
    return "its registry"
