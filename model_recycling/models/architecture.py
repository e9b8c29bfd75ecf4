"""What a candidate must share with its base, read from config.json with every field type-checked.

Model type, depth, width and vocabulary are compared for every model. ARCHITECTURE_KEYS adds, per
model_type, the keys that change what the network computes without always changing its parameter
count: t5-v1_1-base has exactly t5-base's backbone count, but a gated-gelu feed-forward block and
an untied output layer, so its finetunes must not be ranked against t5-base.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from model_recycling.models.files import ModelLoadError, count_parameters, weight_format

ARCHITECTURE_KEYS = {
    "t5": ["feed_forward_proj", "d_ff", "d_kv", "num_heads", "tie_word_embeddings"],
    "mt5": ["feed_forward_proj", "d_ff", "d_kv", "num_heads", "tie_word_embeddings"],
    "bert": ["num_attention_heads"],
    "roberta": ["num_attention_heads"],
    "deberta-v2": ["num_attention_heads", "relative_attention"],
}
# Values a key may hold: a config with anything else is refused, naming the key.
SCALARS = (str, int, float, bool, type(None))


def parse_config(text: bytes | str) -> dict:
    """config.json's content as a dict; ValueError saying what is wrong with it."""
    try:
        config = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"config.json is not valid JSON ({type(err).__name__})") from err
    if not isinstance(config, dict):
        raise ValueError(f"config.json holds a JSON {type(config).__name__}, not an object")
    return config


def config_facts(config: dict) -> dict:
    """The facts listing compares; ValueError naming the key when one has the wrong type."""
    model_type = _typed(config, "model_type", str)
    return {
        "model_type": model_type,
        "num_layers": _count(config, "num_hidden_layers", "num_layers"),
        "hidden_size": _count(config, "hidden_size", "d_model"),
        "vocab_size": _count(config, "vocab_size"),
        "is_encoder_decoder": bool(_typed(config, "is_encoder_decoder", bool)),
        "auto_map": "auto_map" in config,
        "architecture": architecture_keys(config, model_type),
    }


def architecture_keys(config: dict, model_type: str | None) -> dict:
    """ARCHITECTURE_KEYS of the model type, a key left out of config.json taking the value
    transformers gives it (so that "relu" written out equals "relu" by default)."""
    keys = ARCHITECTURE_KEYS.get(model_type or "", [])
    defaults = _defaults(model_type) if keys else {}
    values = {key: config.get(key, defaults.get(key)) for key in keys}
    for key, value in values.items():
        if not isinstance(value, SCALARS):
            raise ValueError(f"config.json: {key} is a {type(value).__name__}, not a value")
    return values


def architecture_mismatch(got: dict, want: dict) -> str:
    """'' when the architecture keys agree, else the first key that differs."""
    for key, value in want.items():
        if got.get(key) != value:
            return f"{key} {got.get(key)} != base {value}"
    return ""


@functools.cache
def _defaults(model_type: str) -> dict:
    from transformers import CONFIG_MAPPING

    try:
        return CONFIG_MAPPING[model_type]().to_dict()
    except (KeyError, ValueError):
        return {}


def _typed(config: dict, key: str, kind: type):
    value = config.get(key)
    if value is not None and (not isinstance(value, kind) or (kind is int and value is True)):
        raise ValueError(f"config.json: {key} is {value!r:.40}, not a {kind.__name__}")
    return value


def _count(config: dict, *keys: str) -> int | None:
    """The first of keys that is present (the names differ between model types): a count >= 1."""
    for key in keys:
        if key in config:
            value = config[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"config.json: {key} is {value!r:.40}, not a positive integer")
            return value
    return None


def describe_model(model_dir) -> dict:
    """Architecture facts used to match candidates against their base."""
    model_dir = Path(model_dir)
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise ModelLoadError(f"{model_dir}: no config.json")
    try:
        facts = config_facts(parse_config(config_path.read_bytes()))
    except ValueError as err:
        raise ModelLoadError(f"{model_dir}: {err}") from err
    if facts.pop("auto_map"):
        raise ModelLoadError(f"{model_dir}: needs custom code (auto_map); refused")
    fmt = weight_format(model_dir)
    if fmt is None:
        raise ModelLoadError(f"{model_dir}: no weight files")
    total, backbone = count_parameters(model_dir) if fmt == "safetensors" else (None, None)
    return {
        **facts,
        "num_parameters": total,
        "backbone_parameters": backbone,
        "weight_format": fmt,
    }
