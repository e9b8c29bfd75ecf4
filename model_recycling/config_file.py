"""Reading a config file strictly, so that a mistake in it names the file and the line.

PyYAML accepts a key written twice in one mapping and silently keeps the last value; a config
edited by hand then runs with a setting its author did not mean. Its errors name neither the
file nor, in the first line, the place. Here:

- a duplicate key is an error: ``config.yaml:12: duplicate key 'seeds' (first at line 4)``
  (merge keys, ``<<: *defaults``, may still be overridden: that is what they are for);
- malformed YAML reads ``config.yaml:7:3: <what YAML found>`` (line and column count from 1);
- the top level must be a mapping of settings.

Each problem is a ConfigFileError (a ValueError) whose message is that one line. A valid config
loads to what ``yaml.safe_load`` gives.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from model_recycling import settings

MERGE_TAG = "tag:yaml.org,2002:merge"


class ConfigFileError(ValueError):
    """A config file that cannot be used; the message is one line starting with the file."""


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key written twice in one mapping."""

    path = "<config>"

    def construct_mapping(self, node, deep=False):
        # Before the base class flattens merge keys, whose overridden keys are no duplicates.
        self._refuse_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)

    def _refuse_duplicate_keys(self, node) -> None:
        first_line = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                seen = first_line.get(key)
            except TypeError:  # an unhashable key: the base class says so with its place
                continue
            line = key_node.start_mark.line + 1
            if seen is not None:
                raise ConfigFileError(
                    f"{self.path}:{line}: duplicate key {key!r} (first at line {seen})"
                )
            first_line[key] = line


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _yaml_problem(path, error: yaml.YAMLError, text: str = "") -> str:
    """'<file>:<line>:<column>: <problem>' for a YAML error (its context added when it has one:
    an unclosed bracket is found at the end of the file, the bracket's line is in the context)."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        problem = _one_line(error.problem or error.context or "malformed YAML")
        if error.context and error.problem and error.context_mark:
            problem += f" ({_one_line(error.context)} at line {error.context_mark.line + 1})"
        if mark is None:
            return f"{path}: {problem}"
        return f"{path}:{mark.line + 1}:{mark.column + 1}: {problem}"
    if isinstance(error, yaml.reader.ReaderError):
        line = text[: error.position].count("\n") + 1
        return f"{path}:{line}: {_one_line(error.reason)} (character #x{error.character:04x})"
    return f"{path}: {_one_line(error)}"


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigFileError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        raise ConfigFileError(f"{path}:{line}: not UTF-8 text (byte 0x{byte:02x})") from None


def load_config_file(path, what="a config is a mapping of settings (key: value)") -> dict:
    """The config at path as a dict; ConfigFileError naming the file and line otherwise. what:
    the sentence saying what the file's top level must be (a task registry reads the same way).
    """
    path = Path(path)
    text = _read_text(path)
    try:
        loader = _StrictLoader(text)  # checks every character first: a ReaderError
    except yaml.YAMLError as error:
        raise ConfigFileError(_yaml_problem(path, error, text)) from None
    loader.path = str(path)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigFileError(f"{path}: empty; {what}")
        if not isinstance(node, yaml.MappingNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            line = node.start_mark.line + 1
            raise ConfigFileError(f"{path}:{line}: the top level is {kind}; {what}")
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise ConfigFileError(_yaml_problem(path, error)) from None
    finally:
        loader.dispose()


def check_config_files(paths) -> None:
    """Load each config file; the first problem raises its ConfigFileError."""
    for path in paths:
        load_config_file(path)


def schema_problem(config: dict) -> str:
    """The config's departure from the schema (schemas/config.schema.yaml) that best explains it,
    in one line naming the key ('' when it conforms): checked before Snakemake's validate(),
    whose message for a config that fits no branch of a choice is a traceback or the whole
    schema."""
    validator = jsonschema.Draft202012Validator(settings.schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return ""
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message if len(error.message) <= 200 else error.message[:200] + " ..."
    return f"config{where}: {message} (schemas/config.schema.yaml)"


def key_lines(path) -> dict:
    """The line (from 1) of each key of a valid YAML file's top two levels: {(key,): line,
    (key, subkey): line}, for messages about a key the file holds."""
    lines = {}
    root = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    for key, value in root.value if isinstance(root, yaml.MappingNode) else []:
        lines[(key.value,)] = key.start_mark.line + 1
        for subkey, _ in value.value if isinstance(value, yaml.MappingNode) else []:
            lines[(key.value, subkey.value)] = subkey.start_mark.line + 1
    return lines
