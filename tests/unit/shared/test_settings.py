"""The defaults, stated once in the schema (model_recycling/settings.py)."""

import copy
import dataclasses
import json

import pytest
import yaml
from snakemake.utils import validate

from model_recycling.finetuning.train import Hyperparameters
from model_recycling.settings import (
    SCHEMA,
    as_recorded,
    default,
    defaults,
    fill_defaults,
    with_defaults,
)
from tests.support.common import REPO

CONFIGS = ["config.yaml", "configs/hub.yaml", "tests/support/configs/micro.yaml"]


@pytest.mark.parametrize("name", CONFIGS)
def test_defaults_are_filled_as_snakemake_fills_them(name):
    config = yaml.safe_load((REPO / name).read_text())
    validated = copy.deepcopy(config)
    validate(validated, str(SCHEMA))
    assert fill_defaults(config) == validated
    assert fill_defaults(config) != config  # something was filled in


def test_every_hyperparameter_has_its_default_in_the_schema():
    fields = {f.name for f in dataclasses.fields(Hyperparameters)}
    assert set(defaults("hyperparameters")) == fields
    hp = Hyperparameters.from_config({"epochs": 3, "device": "cpu"})  # other keys are ignored
    assert hp.epochs == 3 and hp.learning_rate == defaults("hyperparameters")["learning_rate"]


def test_sections_and_top_level_keys_complete_from_the_schema():
    assert default("device") == "auto"
    probe = with_defaults({"task": "p", "max_length": 32}, "probe")
    assert probe["max_length"] == 32 and probe["batch_tokens"] == 8192
    assert with_defaults({"type": "hub"}, "source")["parameter_tolerance"] == 0


def test_jobs_are_told_only_what_the_config_writes_of_newly_stated_defaults():
    written = {
        "finetune": {"epochs": 2, "weight_decay": 0.01},  # a default, but written
        "probe": {"task": "p"},
        "architectures": {"a": {"source": {"type": "local", "parameter_tolerance": 0.1}}},
        "demo_zoo": {"finetune": {"epochs": 4}},
    }
    validated = fill_defaults(written)
    recorded = as_recorded(validated, written)
    assert recorded["finetune"] == {"epochs": 2, "weight_decay": 0.01}
    assert recorded["demo_zoo"]["finetune"] == {"epochs": 4}
    assert "resources" in validated and "resources" not in recorded
    assert recorded["architectures"]["a"]["source"]["parameter_tolerance"] == 0.1
    # defaults stated before results were recorded stay in what jobs are told
    assert recorded["probe"]["batch_tokens"] == 8192 and recorded["downloads"]["fetch"] == "probe"
    unwritten = as_recorded(
        fill_defaults({"architectures": {"a": {"source": {"type": "hub"}}}}), {}
    )
    assert "parameter_tolerance" not in unwritten["architectures"]["a"]["source"]
    assert unwritten["finetune"] == {}


def test_baseline_seeds_as_a_rule_gets_the_rules_defaults_as_validate_fills_them(tmp_path):
    for written in ({"min": 4}, [0, 1, 2]):
        arch = {"base_model": {"id": "b"}, "source": {"type": "hub"}}
        config = {"architectures": {"a": arch}, "targets": ["t"], "baseline_seeds": written,
                  "racing": {}}  # fmt: skip
        validated = json.loads(json.dumps(config))
        validate(validated, str(SCHEMA))
        assert fill_defaults(config) == validated
    assert validated["racing"] == {"first_round": 8, "round": 4, "confidence": 0.95,
                                   "epsilon": 0.2, "seed": 0, "finite": True}  # fmt: skip
    ruled = fill_defaults({"baseline_seeds": {"min": 4}})["baseline_seeds"]
    assert ruled == {"min": 4, "max": 20, "step": 3, "target_se": 1.0}
