"""Reading a task's raw data: a Hub dataset or local CSV / JSON-lines files, through
datasets.load_dataset. What can go wrong is said in the task's terms: the task, the file, the
line, and how to fix it; a file that is missing, empty, only a header or not UTF-8 is named
before `datasets` tries it. A Hub that cannot be reached is not the task's fault: it is raised as
TaskSourceUnreachable, which the job reports without recording the task as failed."""

from __future__ import annotations

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
