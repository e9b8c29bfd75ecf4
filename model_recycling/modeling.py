"""Loading models safely and describing them.

Never trust_remote_code; safetensors preferred (a pickle checkpoint loads only when safetensors is
absent, through transformers' weights_only loader).
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

HEAD_PREFIXES = ("classifier", "pooler", "cls.", "lm_head", "qa_outputs", "score", "pre_classifier")
SAFE_LOAD = {"trust_remote_code": False}


class ModelLoadError(RuntimeError):
    """A candidate model cannot be used; the message says why."""


def weight_format(model_dir) -> str | None:
    files = {p.name for p in Path(model_dir).iterdir()}
    if any(name.endswith(".safetensors") for name in files):
        return "safetensors"
    if "pytorch_model.bin" in files or any(n.startswith("pytorch_model-") for n in files):
        return "pytorch"
    return None


def _is_head(name: str) -> bool:
    parts = name.split(".")
    return any(".".join(parts[i:]).startswith(HEAD_PREFIXES) for i in range(len(parts)))


def count_parameters(model_dir) -> tuple[int, int]:
    """(all parameters, backbone parameters without pooler / heads), read from safetensors
    headers without loading the weights."""
    from safetensors import safe_open

    total = backbone = 0
    for path in sorted(Path(model_dir).glob("*.safetensors")):
        with safe_open(path, framework="pt") as handle:
            for name in handle.keys():
                numel = 1
                for dim in handle.get_slice(name).get_shape():
                    numel *= dim
                total += numel
                backbone += 0 if _is_head(name) else numel
    return total, backbone


def describe_model(model_dir) -> dict:
    """Architecture facts used to match candidates against their base."""
    model_dir = Path(model_dir)
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise ModelLoadError(f"{model_dir}: no config.json")
    config = json.loads(config_path.read_text())
    if "auto_map" in config:
        raise ModelLoadError(f"{model_dir}: needs custom code (auto_map); refused")
    fmt = weight_format(model_dir)
    if fmt is None:
        raise ModelLoadError(f"{model_dir}: no weight files")
    total, backbone = count_parameters(model_dir) if fmt == "safetensors" else (None, None)
    return {
        "model_type": config.get("model_type"),
        "num_layers": config.get("num_hidden_layers", config.get("num_layers")),
        "hidden_size": config.get("hidden_size", config.get("d_model")),
        "vocab_size": config.get("vocab_size"),
        "is_encoder_decoder": bool(config.get("is_encoder_decoder", False)),
        "num_parameters": total,
        "backbone_parameters": backbone,
        "weight_format": fmt,
    }


TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
)


def load_tokenizer(model_dir):
    from transformers import AutoTokenizer

    # transformers would otherwise build a tokenizer with an empty vocabulary and carry on.
    if not any((Path(model_dir) / name).is_file() for name in TOKENIZER_FILES):
        raise ModelLoadError(
            f"{model_dir}: no tokenizer files (one of {', '.join(TOKENIZER_FILES)})"
        )
    try:
        return AutoTokenizer.from_pretrained(model_dir, **SAFE_LOAD)
    except Exception as err:  # noqa: BLE001 - any failure makes the candidate unusable
        raise ModelLoadError(f"{model_dir}: tokenizer failed to load: {err}") from err


def _weights_kwargs(model_dir) -> dict:
    return {"use_safetensors": weight_format(model_dir) == "safetensors", **SAFE_LOAD}


def load_encoder(model_dir, device: torch.device):
    """The frozen encoder used for probing (the encoder half of an encoder-decoder)."""
    from transformers import AutoModel

    try:
        model = AutoModel.from_pretrained(model_dir, **_weights_kwargs(model_dir))
    except Exception as err:  # noqa: BLE001
        raise ModelLoadError(f"{model_dir}: weights failed to load: {err}") from err
    if getattr(model.config, "is_encoder_decoder", False):
        model = model.get_encoder()
    return model.to(device).eval()


def load_classifier(model_dir, num_labels: int, regression: bool, device: torch.device):
    """Encoder from the checkpoint, classification head always freshly initialised (from the
    current torch seed): a candidate's own head must not give it a head start."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    try:
        # The candidate's own label set and problem type must not leak into the new task.
        config = AutoConfig.from_pretrained(model_dir, **SAFE_LOAD)
        config.problem_type = None
        config.num_labels = num_labels
        config.problem_type = "regression" if regression else "single_label_classification"
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, config=config, ignore_mismatched_sizes=True, **_weights_kwargs(model_dir)
        )
    except Exception as err:  # noqa: BLE001
        raise ModelLoadError(f"{model_dir}: weights failed to load: {err}") from err
    for name, module in model.named_children():
        if name != model.base_model_prefix:
            module.apply(model._init_weights)
    return model.to(device)


def load_seq2seq(model_dir, device: torch.device):
    """An encoder-decoder trained text-to-text: its language-model head is part of the model."""
    from transformers import AutoModelForSeq2SeqLM

    try:
        model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, **_weights_kwargs(model_dir))
    except Exception as err:  # noqa: BLE001
        raise ModelLoadError(f"{model_dir}: weights failed to load: {err}") from err
    return model.to(device)


def load_for_task(model_dir, task, device: torch.device):
    """The model to finetune on `task`: text-to-text for encoder-decoders, else a fresh head."""
    config = json.loads((Path(model_dir) / "config.json").read_text())
    if config.get("is_encoder_decoder"):
        return load_seq2seq(model_dir, device)
    return load_classifier(model_dir, task.num_labels, task.is_regression, device)


def encode(tokenizer, examples: list, max_length: int) -> list:
    """Tokenize once, unpadded. The first field is segment A; further fields are joined with the
    tokenizer's separator into segment B."""
    firsts = [ex["texts"][0] for ex in examples]
    if len(examples[0]["texts"]) == 1:
        encoded = tokenizer(firsts, truncation=True, max_length=max_length)
    else:
        sep = f" {tokenizer.sep_token} " if tokenizer.sep_token else " | "
        seconds = [sep.join(ex["texts"][1:]) for ex in examples]
        encoded = tokenizer(firsts, seconds, truncation="longest_first", max_length=max_length)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
    return [{k: encoded[k][i] for k in keys} for i in range(len(examples))]


def length_sorted_batches(features: list, batch_size: int) -> list:
    """Index batches of similar length (less padding) covering every example once."""
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def model_inputs(model) -> set:
    """The inputs a model's forward accepts (a T5 encoder takes no token_type_ids)."""
    return set(inspect.signature(model.forward).parameters)


def collate(features: list, pad_id: int) -> dict:
    width = max(len(f["input_ids"]) for f in features)
    batch = {}
    for key in features[0]:
        fill = pad_id if key == "input_ids" else 0
        batch[key] = torch.tensor([f[key] + [fill] * (width - len(f[key])) for f in features])
    return batch
