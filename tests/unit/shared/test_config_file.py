"""A config file is read strictly: a duplicate key, malformed YAML or a top level that is not a
mapping names the file and the line; a valid config loads as yaml.safe_load reads it."""

import pytest
import yaml

from model_recycling.config_file import ConfigFileError, check_config_files, load_config_file
from tests.support.common import REPO


def write(tmp_path, text, name="config.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path) -> str:
    with pytest.raises(ConfigFileError) as caught:
        load_config_file(path)
    message = str(caught.value)
    assert "\n" not in message and isinstance(caught.value, ValueError)
    return message


def test_a_duplicate_top_level_key_names_both_lines(tmp_path):
    path = write(tmp_path, "targets: [a]\nseeds: [0]\ntargets: [b]\n")
    assert error_of(path) == f"{path}:3: duplicate key 'targets' (first at line 1)"


def test_a_duplicate_nested_key_names_both_lines(tmp_path):
    text = "probe:\n  task: demo\n  batch_size: 8\nfinetune:\n  epochs: 2\n  lr: 1\n  epochs: 3\n"
    path = write(tmp_path, text)
    assert error_of(path) == f"{path}:7: duplicate key 'epochs' (first at line 5)"


def test_a_duplicate_key_in_a_flow_mapping_is_found_too(tmp_path):
    path = write(tmp_path, "a: 1\nb: {x: 1, y: 2, x: 3}\n")
    assert error_of(path) == f"{path}:2: duplicate key 'x' (first at line 2)"


def test_the_same_key_in_different_mappings_and_merge_overrides_are_allowed(tmp_path):
    text = "base: &b {epochs: 1, lr: 2}\na: {epochs: 1}\nb:\n  <<: *b\n  epochs: 3\n"
    path = write(tmp_path, text)
    assert load_config_file(path) == {
        "base": {"epochs": 1, "lr": 2},
        "a": {"epochs": 1},
        "b": {"epochs": 3, "lr": 2},
    }


@pytest.mark.parametrize(
    "text, where, problem",
    [
        ("probe:\n  task: demo\n   batch_size: 8\n", "3:14", "mapping values are not allowed here"),
        ("targets: [a, b\nseeds: [0]\n", "2:6", "while parsing a flow sequence at line 1"),
        ("probe:\n\ttask: demo\n", "2:1", "found character '\\t' that cannot start any token"),
        ('name: "unclosed\n', "2:1", "found unexpected end of stream"),
    ],
    ids=["bad-indentation", "unclosed-bracket", "tab", "unclosed-quote"],
)
def test_malformed_yaml_names_file_line_and_column(tmp_path, text, where, problem):
    path = write(tmp_path, text)
    message = error_of(path)
    assert message.startswith(f"{path}:{where}: "), message
    assert problem in message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("- a\n- b\n", ":1: the top level is a list; a config is a mapping of settings"),
        ("\n\njust words\n", ":3: the top level is a single value; a config is a mapping"),
        ("", ": empty; a config is a mapping of settings (key: value)"),
        ("# only a comment\n", ": empty; a config is a mapping of settings (key: value)"),
    ],
)
def test_a_top_level_that_is_not_a_mapping_is_refused(tmp_path, text, expected):
    path = write(tmp_path, text)
    assert error_of(path).startswith(f"{path}{expected}")


def test_unreadable_files_are_named(tmp_path):
    assert error_of(tmp_path / "missing.yaml") == (
        f"{tmp_path / 'missing.yaml'}: cannot be read (No such file or directory)"
    )
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"a: 1\nb: \xff\n")
    assert error_of(binary) == f"{binary}:2: not UTF-8 text (byte 0xff)"


@pytest.mark.parametrize(
    "config", ["config.yaml", "configs/hub.yaml", "tests/support/configs/micro.yaml"]
)
def test_the_projects_configs_load_as_safe_load_reads_them(config):
    path = REPO / config
    if not path.is_file():
        pytest.skip(f"{config} is not in this checkout")
    assert load_config_file(path) == yaml.safe_load(path.read_text())


def test_a_valid_config_with_every_yaml_kind_loads_as_safe_load_reads_it(tmp_path):
    text = (
        "name: demo\nseeds: [0, 1]\nrate: 1.5e-3\nflag: yes\nnothing: ~\nwhen: 2024-01-02\n"
        "nested:\n  list:\n    - {a: 1}\n    - b\n  text: |\n    two\n    lines\n"
    )
    path = write(tmp_path, text)
    assert load_config_file(path) == yaml.safe_load(text)


def test_check_config_files_stops_at_the_first_problem(tmp_path):
    good = write(tmp_path, "a: 1\n", "good.yaml")
    bad = write(tmp_path, "a: 1\na: 2\n", "bad.yaml")
    worse = write(tmp_path, "a: [\n", "worse.yaml")
    check_config_files([good])
    with pytest.raises(ConfigFileError, match=r"bad\.yaml:2: duplicate key 'a'"):
        check_config_files([good, bad, worse])
