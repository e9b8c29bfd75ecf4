"""Snakemake's record of how each output was made (.snakemake/metadata/: one JSON file per
output, named by the path's urlsafe base64, long names split into "@"-prefixed folders). A run's
records say which shell command, params and inputs made each output; they are what Snakemake
compares to decide whether a finished job must run again."""

from __future__ import annotations

import json
import re
from base64 import urlsafe_b64decode
from pathlib import Path

# What a rerun is decided on (rule, params, inputs, code: the unformatted shell command).
DECIDING = ("rule", "params", "input", "code")


def record_files(workdir: Path) -> dict:
    """Output path -> its metadata file."""
    root = Path(workdir) / ".snakemake" / "metadata"
    files = {}
    for path in root.rglob("*"):
        if path.is_file():
            encoded = "".join(part.removeprefix("@") for part in path.relative_to(root).parts)
            files[urlsafe_b64decode(encoded).decode()] = path
    return files


def deciding_fields(workdir: Path) -> dict:
    """Output path -> the fields a rerun is decided on."""
    records = {}
    for output, path in sorted(record_files(workdir).items()):
        record = json.loads(path.read_text())
        records[output] = {key: record.get(key) for key in DECIDING}
    return records


def replace_deciding_fields(workdir: Path, recorded: dict) -> list:
    """Give each output's record the deciding fields of `recorded` (another run's); returns the
    outputs of this run that `recorded` does not hold."""
    missing = []
    for output, path in record_files(workdir).items():
        if output not in recorded:
            missing.append(output)
            continue
        record = json.loads(path.read_text())
        record.update(recorded[output])
        path.write_text(json.dumps(record))
    return missing


CONTENT_REVISION = re.compile(r"content-[0-9a-f]{24}")


def content_revisions(recorded: dict, current: dict) -> dict:
    """Old -> new content revision of each local model (a hash of its files), matched by place
    in the params of the outputs both runs made. The demo zoo's models are trained by the
    workflow's own loop, so their files, and these hashes, change with its numerics."""
    renamed = {}
    for output in recorded.keys() & current.keys():
        old, new = recorded[output].get("params") or [], current[output].get("params") or []
        for before, after in zip(old, new, strict=False):
            a, b = CONTENT_REVISION.search(str(before)), CONTENT_REVISION.search(str(after))
            if a and b and a.group() != b.group():
                renamed[a.group()] = b.group()
    return renamed


def with_revisions(recorded: dict, renamed: dict) -> dict:
    """`recorded` with each old content revision replaced by its new one."""
    text = CONTENT_REVISION.sub(lambda m: renamed.get(m.group(), m.group()), json.dumps(recorded))
    return json.loads(text)
