"""The configuration's defaults, stated once in schemas/config.schema.yaml, and the settings a job
is told.

Snakemake's `validate()` fills the schema's defaults into the config, and the code reads the
validated config. A job that gets a section of its own (a cell its `finetune` settings) fills
what the config left out from the same schema (`defaults`).

What a job is told is also what Snakemake compares to decide whether a finished job must run
again (its params). So that adding a default to the schema never reruns finished work, the
settings a job is told hold, for the keys in RECORDED_AS_WRITTEN, only what the config writes
(`as_recorded`); the job fills the rest from the schema, to the same values.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"

# Keys whose schema default is left out of jobs' settings unless the config writes them ("*":
# any key at that level). Results made before these defaults were stated in the schema were told
# only what their config wrote, and stay current.
RECORDED_AS_WRITTEN = (
    ("finetune", "*"),
    ("demo_zoo", "finetune", "*"),
    ("resources",),
    ("resources", "*"),
    ("resources", "*", "*"),
    ("architectures", "*", "source", "parameter_tolerance"),
    ("baseline_min_seeds",),
)


@functools.cache
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))


def defaults(section: str) -> dict:
    """{key: default} of a schema definition ("hyperparameters", in $defs) or of a top-level
    section ("probe")."""
    node = schema()["$defs"].get(section) or schema()["properties"][section]
    return {key: spec["default"] for key, spec in node["properties"].items() if "default" in spec}


def default(key: str):
    """The default of a top-level key ("device")."""
    return schema()["properties"][key]["default"]


def with_defaults(section: dict, definition: str) -> dict:
    """A section as a job was told it, completed from the schema."""
    return {**defaults(definition), **section}


def fill_defaults(config: dict) -> dict:
    """A copy of `config` with the schema's defaults where it leaves them out, as Snakemake's
    validate() fills them (nothing is validated here)."""
    filled = copy.deepcopy(config)
    _fill(filled, schema())
    return filled


def _resolved(node: dict) -> dict:
    """A schema node with its $ref merged in (the node's own keywords win, property by
    property)."""
    if "$ref" not in node:
        return node
    target = schema()["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    properties = dict(target.get("properties", {}))
    for key, spec in node.get("properties", {}).items():
        properties[key] = {**properties.get(key, {}), **spec}
    return {**target, **node, "properties": properties}


def _fill(instance, node: dict) -> None:
    node = _resolved(node)
    if "oneOf" in node:  # the branch of the instance's JSON type, as validation picks it
        kinds = {dict: "object", list: "array"}
        for branch in map(_resolved, node["oneOf"]):
            if branch.get("type") == kinds.get(type(instance)):
                _fill(instance, branch)
    if not isinstance(instance, dict):
        return
    properties = node.get("properties", {})
    for key, spec in properties.items():
        spec = _resolved(spec)
        if "default" in spec:
            instance.setdefault(key, copy.deepcopy(spec["default"]))
        if key in instance:
            _fill(instance[key], spec)
    others = node.get("additionalProperties")
    if isinstance(others, dict):
        for key in instance.keys() - properties.keys():
            _fill(instance[key], others)


def as_recorded(validated: dict, written: dict, patterns=RECORDED_AS_WRITTEN) -> dict:
    """A copy of the validated config without where its results go (a run moved to another
    folder computes the same) and without the defaults of `patterns` that `written` (the config
    before validation) leaves out."""
    recorded = copy.deepcopy(validated)
    recorded.pop("results_dir", None)
    for pattern in patterns:
        _prune(recorded, written, pattern)
    return recorded


def _prune(recorded, written, pattern: tuple) -> None:
    """Remove the keys the pattern's last part names that `written` lacks; the parts before it
    only lead there (a section the config leaves out counts as written empty)."""
    if not isinstance(recorded, dict):
        return
    head, rest = pattern[0], pattern[1:]
    keys = list(recorded) if head == "*" else [head] if head in recorded else []
    written = written if isinstance(written, dict) else {}
    for key in keys:
        if rest:
            _prune(recorded[key], written.get(key), rest)
        elif key not in written:
            del recorded[key]
