"""Atomic file writes: a reader never sees half a result, a crash never leaves one behind.

Written files get the usual permissions (0666 less the umask, e.g. 0644), not mkstemp's 0600:
pages, tables and cells are meant to be read by a web server or a colleague.
"""

import json
import math
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    """The process umask, read without changing it where Linux says it (setting it to read it
    would briefly affect files other threads create)."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"^Umask:\s*([0-7]+)$", status, re.M).group(1), 8)
    except (OSError, AttributeError):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


@contextmanager
def atomic_output(path, mode: str = "w", durable: bool = True):
    """A handle on a temporary file beside `path`, renamed onto `path` when the block ends
    without an error (removed when it raises). durable=False skips the fsync (about 10 ms a file
    here): for files a rerun rewrites anyway, like thousands of gain pages; the rename still keeps
    half a file from readers."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path, text: str, durable: bool = True) -> None:
    with atomic_output(path, durable=durable) as handle:
        handle.write(text)


def non_finite_key(data, where="") -> str | None:
    """Where the first NaN or infinity sits in nested dicts and lists ("history[3].loss")."""
    if isinstance(data, float):
        return None if math.isfinite(data) else where or "the value"
    if isinstance(data, dict):
        items = ((f"{where}.{key}" if where else str(key), value) for key, value in data.items())
    elif isinstance(data, list | tuple):
        items = ((f"{where}[{index}]", value) for index, value in enumerate(data))
    else:
        return None
    return next((found for inner, v in items if (found := non_finite_key(v, inner))), None)


def _dumps(path, data, **kwargs) -> str:
    """JSON text; a NaN or infinity is refused (bare NaN is not JSON), naming file and key."""
    try:
        return json.dumps(data, sort_keys=True, allow_nan=False, **kwargs)
    except ValueError as err:
        key = non_finite_key(data)
        raise ValueError(f"{path}: not written, {key} is not a finite number ({err})") from None


def atomic_write_json(path, data) -> None:
    atomic_write_text(path, _dumps(path, data, indent=2, default=str) + "\n")


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_jsonl(path, rows) -> None:
    lines = (_dumps(f"{path} line {i}", row) + "\n" for i, row in enumerate(rows, start=1))
    atomic_write_text(path, "".join(lines))


def read_jsonl(path) -> list:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
