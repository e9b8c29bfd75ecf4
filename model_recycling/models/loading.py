"""Loading models safely: tokenizers, frozen encoders for probing, classifiers with a new head
and text-to-text models for finetuning.

Never trust_remote_code; safetensors preferred (a pickle checkpoint loads only when safetensors is
absent, through transformers' weights_only loader).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from model_recycling.models.files import (
    ModelLoadError,
    folder_sizes,
    is_parameter_dtype,
    tensor_headers,
    weight_files,
    weight_format,
)

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

SAFE_LOAD = {"trust_remote_code": False}
MASTER_DTYPE = torch.float32


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


def check_tokenizer_fits(tokenizer, model, model_dir) -> None:
    """A tokenizer with more tokens than the embedding matrix has rows gives ids past its end:
    an index error at best, on a GPU a device-side assert that kills the job."""
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise ModelLoadError(
            f"{model_dir}: the tokenizer has {len(tokenizer)} tokens but the embedding matrix "
            f"only {rows} rows"
        )


def _weights_kwargs(model_dir) -> dict:
    return {
        "use_safetensors": weight_format(model_dir) == "safetensors",
        # Master weights are float32 whatever the checkpoint's config says (many Hub checkpoints
        # say float16); autocast chooses the compute precision (devices.py).
        "dtype": MASTER_DTYPE,
        # Shapes are checked by _loading_problems, which names the keys; transformers would
        # either re-initialise every mismatched tensor or raise without naming them.
        "ignore_mismatched_sizes": True,
        "output_loading_info": True,
        **SAFE_LOAD,
    }


def _raise_if_problems(model_dir, problems: list) -> None:
    """Name a few of the offending keys, then count the rest."""
    if problems:
        shown = "; ".join(problems[:3])
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise ModelLoadError(
            f"{model_dir}: checkpoint does not fit its architecture: {shown}{more}"
        )


def checkpoint_buffers(model_dir) -> set:
    """Names of the checkpoint's integer and boolean tensors: buffers, not parameters
    (files.is_parameter_dtype), such as the position ids transformers 4.x saved. Read from the
    safetensors headers, or from a pickle checkpoint loaded onto the meta device (shapes and
    dtypes only, no data; weights_only, so no code runs)."""
    if weight_format(model_dir) == "safetensors":
        headers = tensor_headers(model_dir)
        return {key for key, (dtype, _) in headers.items() if not is_parameter_dtype(dtype)}
    buffers = set()
    for name in weight_files(folder_sizes(model_dir))[1]:
        if name.endswith(".bin"):
            state = torch.load(Path(model_dir) / name, map_location="meta", weights_only=True)
            buffers |= {
                key
                for key, tensor in state.items()
                if isinstance(tensor, torch.Tensor) and not tensor.is_floating_point()
            }
    return buffers


def _loading_problems(model, info: dict, may_be_new, buffers=frozenset()) -> list:
    """Missing or reshaped tensors that `may_be_new` does not allow, and unexpected tensors inside
    the backbone. Unexpected tensors elsewhere belong to the checkpoint's own head, and
    `buffers` (checkpoint_buffers: integer tensors an older transformers saved, which today's
    model computes instead) hold no weights: both fine."""
    backbone_parts = {name for name, _ in model.base_model.named_children()}
    prefix = f"{model.base_model_prefix}."
    buffers = {key.removeprefix(prefix) for key in buffers}

    def in_backbone(key: str) -> bool:
        return key.removeprefix(prefix).split(".")[0] in backbone_parts

    def weight_in_backbone(key: str) -> bool:
        return in_backbone(key) and key.removeprefix(prefix) not in buffers

    problems = [f"missing {key}" for key in sorted(info["missing_keys"]) if not may_be_new(key)]
    problems += [
        f"{key} has shape {tuple(saved)}, expected {tuple(expected)}"
        for key, saved, expected in sorted(info["mismatched_keys"])
        if not may_be_new(key)
    ]
    unexpected = sorted(info["unexpected_keys"])
    problems += [f"unexpected {key}" for key in unexpected if weight_in_backbone(key)]
    return problems


def _load_strictly(auto_class, model_dir, may_be_new=lambda key: False):
    """(model, keys it got new): every other tensor comes from the checkpoint, shape included."""
    try:
        model, info = auto_class.from_pretrained(model_dir, **_weights_kwargs(model_dir))
        # Read only when some tensor was unexpected (a finetune's head, an old buffer): headers.
        buffers = checkpoint_buffers(model_dir) if info["unexpected_keys"] else set()
    except Exception as err:  # noqa: BLE001 - any failure makes the candidate unusable
        raise ModelLoadError(f"{model_dir}: weights failed to load: {err}") from err
    _raise_if_problems(model_dir, _loading_problems(model, info, may_be_new, buffers))
    return model, info["missing_keys"] | {key for key, _, _ in info["mismatched_keys"]}


def _is_pooler(key: str) -> bool:
    return key.startswith("pooler.")


def _load_backbone(model_dir):
    """The checkpoint's base model, strictly. Only a pooler may be new: the base model adds a
    fresh one to checkpoints saved without it (masked-LM checkpoints such as the demo's base)."""
    from transformers import AutoModel

    return _load_strictly(AutoModel, model_dir, may_be_new=_is_pooler)


def load_encoder(model_dir, device: torch.device):
    """The frozen encoder used for probing (the encoder half of an encoder-decoder)."""
    model, _ = _load_backbone(model_dir)
    if getattr(model.config, "is_encoder_decoder", False):
        model = model.get_encoder()
    return model.to(device).eval()


def _task_config(model_dir, num_labels: int, regression: bool):
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model_dir, **SAFE_LOAD)
    except Exception as err:  # noqa: BLE001
        raise ModelLoadError(f"{model_dir}: config failed to load: {err}") from err
    # The candidate's own label set and problem type must not leak into the new task.
    config.problem_type = None
    config.num_labels = num_labels
    config.problem_type = "regression" if regression else "single_label_classification"
    return config


def load_classifier(model_dir, num_labels: int, regression: bool, device: torch.device):
    """A classifier built new from the configuration under the current torch seed, then given
    the checkpoint's backbone (pooler included where the checkpoint has one). The head is never
    read from the checkpoint: a candidate's own head must not give it a head start."""
    from transformers import AutoModelForSequenceClassification

    config = _task_config(model_dir, num_labels, regression)
    try:
        model = AutoModelForSequenceClassification.from_config(
            config, dtype=MASTER_DTYPE, **SAFE_LOAD
        )
    except Exception as err:  # noqa: BLE001
        raise ModelLoadError(f"{model_dir}: no classifier for this architecture: {err}") from err
    backbone, new_keys = _load_backbone(model_dir)
    saved = {k: v for k, v in backbone.state_dict().items() if k not in new_keys}
    result = model.base_model.load_state_dict(saved, strict=False)
    # A pooler the classifier lacks (RoBERTa's) is dropped; one the checkpoint lacks stays new.
    problems = [f"missing {k}" for k in result.missing_keys if not _is_pooler(k)]
    problems += [f"unexpected {k}" for k in result.unexpected_keys if not _is_pooler(k)]
    _raise_if_problems(model_dir, problems)
    return model.to(device)


def load_seq2seq(model_dir, device: torch.device):
    """An encoder-decoder trained text-to-text: its language-model head is part of the model,
    so every tensor comes from the checkpoint."""
    from transformers import AutoModelForSeq2SeqLM

    model, _ = _load_strictly(AutoModelForSeq2SeqLM, model_dir)
    return model.to(device)


def load_for_task(model_dir, task, device: torch.device):
    """The model to finetune on `task`: text-to-text for encoder-decoders, else a fresh head."""
    config = json.loads((Path(model_dir) / "config.json").read_text())
    if config.get("is_encoder_decoder"):
        return load_seq2seq(model_dir, device)
    return load_classifier(model_dir, task.num_labels, task.is_regression, device)
