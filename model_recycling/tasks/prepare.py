"""The one data path: a registry entry (registry.py) -> (texts, label) examples -> train / dev /
eval files and meta.json (sizes, label counts, how the task was prepared, fingerprint).

A protocol (config `protocol`) decides how a task is prepared where ours and the reference's
differ on purpose: the dev rule (dev_sets.py) and the input encoding, both recorded in meta.json.
"""

from __future__ import annotations

import json
import math
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from model_recycling.io import atomic_write_json, read_json, read_jsonl, write_jsonl
from model_recycling.provenance import file_sha256, fingerprint, package_versions
from model_recycling.records import TEMPORARY_FAILURE
from model_recycling.settings import default
from model_recycling.tasks.dev_sets import hold_out_dev
from model_recycling.tasks.registry import (
    LABEL_TRANSFORMS,
    TaskSpec,
    as_list,
    defining_file,
    load_registry,
)
from model_recycling.tasks.sources import (
    TaskDataError,
    TaskSourceUnreachable,
    load_task_dataset,
    row_places,
)

SPLIT_FILES = {"train": "train.jsonl", "dev": "dev.jsonl", "eval": "eval.jsonl"}


# Where a protocol's choices differ. recommended: a stratified dev set; the first field is
# segment A and the others segment B (tasks.tokenized.encode). reference: the reference's dev
# rule, and all fields joined into one sequence with the literal separator below (cut from the
# right).
PROTOCOLS = {
    "recommended": {"dev_method": "stratified", "input_encoding": "segments"},
    "reference": {"dev_method": "ends", "input_encoding": "joined"},
}
REFERENCE_SEPARATOR = " <SEP> "


def resolve_protocol(protocol: str, dev_holdout: dict) -> tuple[dict, str]:
    """(dev rule, input encoding) that `protocol` gives: it sets dev_holdout.method's default,
    an explicit dev_holdout.method wins."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol '{protocol}' is not one of {', '.join(PROTOCOLS)}")
    choices = PROTOCOLS[protocol]
    return {"method": choices["dev_method"], **dev_holdout}, choices["input_encoding"]


def _load_split(spec: TaskSpec, splits, dataset_dict) -> list:
    """[(split name, dataset with the declared columns)] for each named split."""
    parts = []
    for split in as_list(splits):
        if split not in dataset_dict:
            raise TaskDataError(
                f"task '{spec.name}': split '{split}' not found in dataset '{spec.dataset}' "
                f"(has: {', '.join(dataset_dict)})"
            )
        part = dataset_dict[split]
        for column in [*spec.inputs, spec.label]:
            if column not in part.column_names:
                raise TaskDataError(
                    f"task '{spec.name}': column '{column}' is missing from split '{split}' of "
                    f"dataset '{spec.dataset}' (columns: {', '.join(part.column_names)})"
                )
        parts.append((split, part.select_columns([*dict.fromkeys([*spec.inputs, spec.label])])))
    return parts


def _examples_of(spec: TaskSpec, splits, dataset_dict) -> list:
    examples = []
    for split, rows in _load_split(spec, splits, dataset_dict):
        examples.extend(to_examples(spec, rows, split, row_places(spec, split)))
    return examples


def _numeric_label(spec: TaskSpec, raw, where: str) -> float:
    """A finite number, or an error: a NaN or inf label would train and score as a number."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or not math.isfinite(value):
        raise TaskDataError(
            f"task '{spec.name}': label {raw!r} in column '{spec.label}' ({where}) is not a "
            "finite number"
        )
    return value


def to_examples(spec: TaskSpec, rows, split: str, place=None) -> list:
    """Rows (dicts with the declared columns) of `split` -> [{"texts": [...], "label": ...}].
    place: row number -> where the row is, for messages (sources.row_places)."""
    place = place or (lambda i: f"split '{split}', row {i}")
    index_of = {value: i for i, value in enumerate(spec.labels or [])}
    transform = LABEL_TRANSFORMS.get(spec.label_transform)
    examples = []
    for row_number, row in enumerate(rows):
        raw = row[spec.label]
        if raw in spec.drop_labels:
            continue
        where = place(row_number)
        if isinstance(raw, float) or transform:  # NaN matches no declared label: say why
            raw = _numeric_label(spec, raw, where)
        if transform:
            raw = transform(raw)
        if spec.is_regression:
            label = _numeric_label(spec, raw, where)
        elif raw in index_of:
            label = index_of[raw]
        else:
            raise TaskDataError(
                f"task '{spec.name}': label {raw!r} in column '{spec.label}' ({where}) is not "
                f"among the declared labels {spec.labels}{_type_hint(raw, spec.labels)}"
            )
        texts = ["" if row[c] is None else str(row[c]) for c in spec.inputs]
        examples.append({"texts": texts, "label": label})
    return examples


def _seeded_indices(total: int, n: int, seed: int) -> list:
    """The one seeded draw behind every sample (eval subsamples, eval carved from train), in
    original order: anyone can rebuild a split from its seed."""
    return sorted(random.Random(seed).sample(range(total), n))


def seeded_sample(examples: list, max_examples: int | None, seed: int) -> list:
    if max_examples is None or len(examples) <= max_examples:
        return examples
    return [examples[i] for i in _seeded_indices(len(examples), max_examples, seed)]


def split_off_sample(examples: list, size: int | float, seed: int):
    """(rest, sample): a seeded sample of `size` examples (a count, or a fraction of them rounded
    up) and the examples not in it, both in their original order."""
    n = math.ceil(len(examples) * size) if isinstance(size, float) else size
    if not 0 < n < len(examples):
        raise ValueError(f"cannot take {n} of {len(examples)} examples and keep some")
    chosen = set(_seeded_indices(len(examples), n, seed))
    rest = [x for i, x in enumerate(examples) if i not in chosen]
    return rest, [x for i, x in enumerate(examples) if i in chosen]


def build_splits(
    spec: TaskSpec,
    dataset_dict,
    dev_holdout: dict,
    sample_seed: int = 0,
    input_encoding: str = "segments",
) -> dict:
    """Raw splits -> {"train", "dev", "eval"} example lists, following the registry entry."""
    train = _examples_of(spec, spec.train_split, dataset_dict)
    if spec.eval_from_train:
        try:
            train, evaluation = split_off_sample(train, spec.eval_from_train, sample_seed)
        except ValueError as err:
            raise TaskDataError(f"task '{spec.name}': eval_from_train: {err}") from None
    else:
        evaluation = _examples_of(spec, spec.eval_split, dataset_dict)
    if spec.dev_split:
        dev = _examples_of(spec, spec.dev_split, dataset_dict)
    else:
        train, dev = hold_out_dev(train, dev_holdout, sample_seed, not spec.is_regression)
    evaluation = seeded_sample(evaluation, spec.eval_max_examples, sample_seed)
    train = seeded_sample(train, spec.train_max_examples, sample_seed)
    if not train or not dev or not evaluation:
        raise TaskDataError(
            f"task '{spec.name}': empty split after preparation "
            f"(train={len(train)}, dev={len(dev)}, eval={len(evaluation)})"
        )
    _check_dev_classes(spec, dev, dev_holdout)
    _check_learnable(spec, train, dev, evaluation)
    splits = {"train": train, "dev": dev, "eval": evaluation}
    return {split: encode_inputs(rows, input_encoding) for split, rows in splits.items()}


def _type_hint(raw, labels) -> str:
    """When the value is declared, but as another type (1 in the data, "1" in the registry)."""
    same_text = [label for label in labels or [] if str(label) == str(raw)]
    if not same_text:
        return ""
    return (
        f": the data holds {type(raw).__name__} {raw!r}, the registry declares "
        f"{type(same_text[0]).__name__} {same_text[0]!r}; declare the labels as the data holds "
        "them"
    )


def _check_learnable(spec: TaskSpec, train: list, dev: list, evaluation: list) -> None:
    """A declared label that the evaluation split holds but training never shows cannot be
    predicted right: its examples would count as errors whatever the model."""
    if spec.is_regression:
        return
    seen = {ex["label"] for ex in train} | {ex["label"] for ex in dev}
    unseen = sorted({ex["label"] for ex in evaluation} - seen)
    if unseen:
        names = spec.names_of_labels()
        counts = {names[i]: sum(ex["label"] == i for ex in evaluation) for i in unseen}
        raise TaskDataError(
            f"task '{spec.name}': declared label(s) {list(counts)} have "
            f"{sum(counts.values())} examples in the evaluation split but none in train or dev "
            f"({counts}); no model can learn them: give the training split examples of them, "
            "or drop them from the task (drop_labels)"
        )


def _check_dev_classes(spec: TaskSpec, dev: list, dev_holdout: dict) -> None:
    """A dev set of one class cannot tell checkpoints apart: the first one would be scored."""
    if spec.is_regression or len({ex["label"] for ex in dev}) > 1:
        return
    if spec.dev_split:
        source, advice = f"its dev split {spec.dev_split!r}", "declare a dev split with every class"
    else:
        method = dev_holdout["method"]
        source = f"dev_holdout.method '{method}'"
        advice = (
            "use dev_holdout.method 'stratified'"
            if method == "ends"
            else "the training split needs more than one class"
        )
    only = spec.names_of_labels()[dev[0]["label"]]
    raise TaskDataError(
        f"task '{spec.name}': the dev set ({source}) holds a single class ('{only}', "
        f"{len(dev)} examples), so it cannot select a checkpoint; {advice}"
    )


def encode_inputs(examples: list, input_encoding: str) -> list:
    """segments: the fields as they are. joined: the reference's encoding, all fields joined with
    " <SEP> " into one text (so the tokenizer sees one segment, cut from the right)."""
    if input_encoding == "segments":
        return examples
    if input_encoding != "joined":
        raise ValueError(f"unknown input encoding '{input_encoding}'")
    return [{**ex, "texts": [REFERENCE_SEPARATOR.join(ex["texts"])]} for ex in examples]


def label_counts(spec: TaskSpec, examples: list) -> dict | None:
    """Examples per class, in the task's label order (None for regression)."""
    if spec.is_regression:
        return None
    counts = [0] * spec.num_labels
    for example in examples:
        counts[example["label"]] += 1
    return dict(zip(spec.names_of_labels(), counts, strict=True))


def prepare_task(
    spec: TaskSpec,
    out_dir,
    dev_holdout: dict,
    sample_seed: int = 0,
    dataset_dict=None,
    protocol: str | None = None,
    registry_file: str = "its registry",
) -> dict:
    """Write train/dev/eval example files and meta.json (sizes, label counts, how the task was
    prepared, fingerprint)."""
    protocol = protocol or default("protocol")
    dev_rule, input_encoding = resolve_protocol(protocol, dev_holdout)
    if dataset_dict is None:
        dataset_dict = load_task_dataset(spec, registry_file)
    splits = build_splits(spec, dataset_dict, dev_rule, sample_seed, input_encoding)
    out_dir = Path(out_dir)
    for split, rows in splits.items():
        write_jsonl(out_dir / SPLIT_FILES[split], rows)
    content = {split: file_sha256(out_dir / name) for split, name in SPLIT_FILES.items()}
    spec_dict = asdict(spec)
    meta = {
        "task": spec.name,
        "spec": spec_dict,
        "task_type": spec.task_type,
        "metric": spec.metric,
        "num_labels": spec.num_labels,
        "label_names": spec.names_of_labels(),
        "sizes": {split: len(rows) for split, rows in splits.items()},
        "label_counts": {split: label_counts(spec, rows) for split, rows in splits.items()},
        "protocol": protocol,
        "input_encoding": input_encoding,
        "dev_holdout": None if spec.dev_split else dev_rule,
        "sample_seed": sample_seed,
        "content_sha256": content,
        "fingerprint": fingerprint(
            {"spec": spec_dict, "content": content, "input_encoding": input_encoding}
        ),
        "packages": package_versions(),
    }
    atomic_write_json(out_dir / "meta.json", meta)
    return meta


@dataclass
class TaskData:
    """A prepared task, ready for training or probing."""

    meta: dict
    train: list
    dev: list
    eval: list

    @property
    def name(self) -> str:
        return self.meta["task"]

    @property
    def is_regression(self) -> bool:
        return self.meta["task_type"] == "regression"

    @property
    def num_labels(self) -> int:
        return self.meta["num_labels"]

    @property
    def failure(self) -> str:
        """Why the task could not be prepared ("" when it was)."""
        return self.meta.get("reason", "") if self.meta.get("status") == "failed" else ""

    def check_prepared(self) -> None:
        """Raise TaskDataError when the task could not be prepared: nothing can run on it."""
        if self.failure:
            raise TaskDataError(f"the task could not be prepared: {self.failure}")


def load_prepared(task_dir) -> TaskData:
    task_dir = Path(task_dir)
    splits = {split: read_jsonl(task_dir / name) for split, name in SPLIT_FILES.items()}
    return TaskData(meta=read_json(task_dir / "meta.json"), **splits)


def prepare_job(registries: list, task: str, dev_holdout: dict, protocol: str, out_dir) -> dict:
    """The prepare_task rule: one registry task prepared into out_dir; prints its summary. A task
    whose data cannot be used is recorded as failed (meta.json says why, the split files are
    empty) so the other tasks' results go on; an unreachable Hub exits with TEMPORARY_FAILURE
    (nothing recorded, a later run tries again)."""
    spec = load_registry(registries)[task]
    source = defining_file(registries, task)
    try:
        meta = prepare_task(spec, out_dir, dev_holdout, protocol=protocol, registry_file=source)
    except TaskSourceUnreachable as err:
        print(err, file=sys.stderr)
        sys.exit(TEMPORARY_FAILURE)
    except TaskDataError as err:
        print(f"task {task} failed: {err}", file=sys.stderr)
        return write_failed_task(spec, out_dir, str(err), protocol)
    summary = {k: meta[k] for k in ("task", "sizes", "label_counts", "protocol", "fingerprint")}
    print(json.dumps(summary))
    return meta


def write_failed_task(spec: TaskSpec, out_dir, reason: str, protocol: str) -> dict:
    """A task that could not be prepared: empty split files and a meta.json with its reason,
    which the probes, cells, tables and pages of the task read."""
    out_dir = Path(out_dir)
    for name in SPLIT_FILES.values():
        write_jsonl(out_dir / name, [])
    meta = {
        "task": spec.name,
        "status": "failed",
        "reason": reason,
        "spec": asdict(spec),
        "task_type": spec.task_type,
        "metric": spec.metric,
        "protocol": protocol,
        "packages": package_versions(),
    }
    atomic_write_json(out_dir / "meta.json", meta)
    return meta
