"""Reading a task's raw data: a Hub dataset or local CSV / JSON-lines files, through
datasets.load_dataset. What can go wrong is said in the task's terms: the task, the file, the
line, and how to fix it; a file that is missing, empty, only a header or not UTF-8 is named
before `datasets` tries it. A Hub that cannot be reached is not the task's fault: it is raised as
TaskSourceUnreachable, which the job reports without recording the task as failed."""

from __future__ import annotations

import csv
import functools
import io
import json
from pathlib import Path

from model_recycling.hub_client import unreachable_reason
from model_recycling.records import one_line

TEXT_FORMATS = {"csv", "json", "text"}


class TaskDataError(ValueError):
    """The data of a task does not match its registry entry, or cannot be read."""


class TaskSourceUnreachable(RuntimeError):
    """The task's dataset is on a Hub that cannot be reached now: a later run tries again."""


def load_task_dataset(spec, registry_file: str = "its registry"):
    """The raw DatasetDict of a registry entry; TaskDataError naming the task and file."""
    from datasets import load_dataset

    for path in spec.local_data_files():
        check_local_file(spec.name, path, registry_file)
    try:
        return load_dataset(
            spec.dataset, spec.config, revision=spec.revision, data_files=spec.data_files
        )
    except Exception as err:  # noqa: BLE001 - datasets raises many types; each is named below
        raise _translated(spec, err) from err


def _translated(spec, err: Exception) -> Exception:
    reason = unreachable_reason(err)
    if reason is not None or isinstance(err, ConnectionError):
        return TaskSourceUnreachable(
            f"task '{spec.name}': dataset '{spec.dataset}' cannot be reached now "
            f"({reason or one_line(err)}); a later run tries again"
        )
    where = ", ".join(spec.local_data_files()) or f"dataset '{spec.dataset}'"
    return TaskDataError(f"task '{spec.name}': {where} could not be read: {one_line(err)}")


def check_local_file(task: str, path, registry_file: str) -> None:
    """A local data file that exists, holds UTF-8 text, and rows beyond a CSV's header."""
    path = Path(path)
    if not path.is_file():
        raise TaskDataError(
            f"task '{task}': its data file {path} is missing; put the file there (the task's "
            f"entry in {registry_file} says where to get it), or take the task out of the targets"
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise TaskDataError(
            f"task '{task}': {path} is not UTF-8 text: byte 0x{data[err.start]:02x} at line "
            f"{line}; re-save the file as UTF-8"
        ) from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise TaskDataError(f"task '{task}': {path} is empty")
    if path.suffix == ".csv" and len(lines) == 1:
        raise TaskDataError(f"task '{task}': {path} has a header line and no rows")
    if path.suffix == ".csv":
        _check_csv_fields(task, path, text)
    elif path.suffix in (".jsonl", ".json"):
        _check_json_lines(task, path, text)


def _csv_records(text: str):
    """(file line where each non-blank CSV record starts, its fields), the header first."""
    reader, end = csv.reader(io.StringIO(text)), 0
    for fields in reader:
        start, end = end + 1, reader.line_num
        if fields:  # a blank line: no record, as datasets reads it
            yield start, fields


def _check_csv_fields(task: str, path: Path, text: str) -> None:
    """Every row has as many fields as the header names: an extra or a missing one is named with
    its line before datasets reads the row into the wrong columns."""
    records = _csv_records(text)
    _, header = next(records)
    for line, fields in records:
        if len(fields) != len(header):
            extra = f"extra value {fields[len(header)]!r}" if len(fields) > len(header) else ""
            what = extra or f"missing the column '{header[len(fields)]}'"
            raise TaskDataError(
                f"task '{task}': {path} line {line}: {len(fields)} fields where the header names "
                f"{len(header)} ({', '.join(header)}): {what}; a text holding a comma goes in "
                "double quotes"
            )


def _check_json_lines(task: str, path: Path, text: str) -> None:
    """A JSON-lines file whose every non-blank line is a JSON object (a whole JSON document
    is read as it is)."""
    try:
        json.loads(text)
        return
    except ValueError:
        pass
    for line, content in enumerate(text.splitlines(), 1):
        if not content.strip():
            continue
        try:
            ok = isinstance(json.loads(content), dict)
            problem = "not a JSON object"
        except ValueError as err:
            ok, problem = False, f"not JSON ({err.msg} at column {err.colno})"
        if not ok:
            raise TaskDataError(f"task '{task}': {path} line {line}: {problem}")


def row_lines(path) -> list:
    """The file line (from 1) where each data row of a local CSV or JSON-lines file starts, in
    the order datasets reads them (blank lines skipped, a CSV's header is no row)."""
    text = Path(path).read_text(encoding="utf-8")
    if Path(path).suffix == ".csv":
        return [line for line, _ in _csv_records(text)][1:]
    return [line for line, content in enumerate(text.splitlines(), 1) if content.strip()]


def row_places(spec, split: str):
    """A function giving where row i of a split is, for messages: 'file line N' for a split read
    from local files, else "split 'name', row i" (rows counted from 0)."""
    files = (spec.data_files or {}).get(split) if spec.dataset in TEXT_FORMATS else None
    files = [files] if isinstance(files, str) else files or []
    if not files or not all(Path(file).is_file() for file in files):
        return lambda i: f"split '{split}', row {i}"

    @functools.cache
    def places() -> list:  # read only when a message needs it
        return [f"{file} line {line}" for file in files for line in row_lines(file)]

    return lambda i: places()[i] if i < len(places()) else f"split '{split}', row {i}"
