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

from model_recycling.architecture import config_facts, parse_config
from model_recycling.model_files import folder_sizes, weight_files

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

HEAD_PREFIXES = ("classifier", "pooler", "cls.", "lm_head", "qa_outputs", "score", "pre_classifier")
SAFE_LOAD = {"trust_remote_code": False}
MASTER_DTYPE = torch.float32


class ModelLoadError(RuntimeError):
    """A candidate model cannot be used; the message says why."""


def weight_format(model_dir) -> str | None:
    """The weight format: "safetensors", "pytorch" (pickle) or None, from the regular files.
    A pickle checkpoint loads only through transformers 5's torch.load(weights_only=True) (its
    from_pretrained default, which the load_* functions keep): tensors, no code. Checked with
    torch 2.13 in tests/test_sources_local.py::test_pickle_payload_never_runs."""
    return weight_files(folder_sizes(model_dir))[0] or None


def _is_head(name: str) -> bool:
    parts = name.split(".")
    return any(".".join(parts[i:]).startswith(HEAD_PREFIXES) for i in range(len(parts)))


def count_parameters(model_dir) -> tuple[int, int]:
    """(all parameters, backbone parameters without pooler / heads), read from safetensors
    headers without loading the weights."""
    from safetensors import safe_open

    total = backbone = 0
    names = weight_files(folder_sizes(model_dir))[1]
    for name in (n for n in names if n.endswith(".safetensors")):
        try:
            with safe_open(Path(model_dir) / name, framework="pt") as handle:
                for key in handle.keys():
                    numel = 1
                    for dim in handle.get_slice(key).get_shape():
                        numel *= dim
                    total += numel
                    backbone += 0 if _is_head(key) else numel
        except Exception as err:  # noqa: BLE001 - safetensors raises many types on bad files
            raise ModelLoadError(f"{name} is not a readable safetensors file: {err}") from err
    return total, backbone


def describe_model(model_dir) -> dict:
    """Architecture facts used to match candidates against their base (architecture.py)."""
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


def _loading_problems(model, info: dict, may_be_new) -> list:
    """Missing or reshaped tensors that `may_be_new` does not allow, and unexpected tensors inside
    the backbone. Unexpected tensors elsewhere belong to the checkpoint's own head: fine."""
    backbone_parts = {name for name, _ in model.base_model.named_children()}
    prefix = f"{model.base_model_prefix}."

    def in_backbone(key: str) -> bool:
        return key.removeprefix(prefix).split(".")[0] in backbone_parts

    problems = [f"missing {key}" for key in sorted(info["missing_keys"]) if not may_be_new(key)]
    problems += [
        f"{key} has shape {tuple(saved)}, expected {tuple(expected)}"
        for key, saved, expected in sorted(info["mismatched_keys"])
        if not may_be_new(key)
    ]
    problems += [f"unexpected {key}" for key in sorted(info["unexpected_keys"]) if in_backbone(key)]
    return problems


def _load_strictly(auto_class, model_dir, may_be_new=lambda key: False):
    """(model, keys it got new): every other tensor comes from the checkpoint, shape included."""
    try:
        model, info = auto_class.from_pretrained(model_dir, **_weights_kwargs(model_dir))
    except Exception as err:  # noqa: BLE001 - any failure makes the candidate unusable
        raise ModelLoadError(f"{model_dir}: weights failed to load: {err}") from err
    _raise_if_problems(model_dir, _loading_problems(model, info, may_be_new))
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


# Padded tokens per inference batch: 256 rows of 32 tokens, 32 rows of 256. Smaller caps pad
# less; on this 2-core CPU a 4096 cap ran 10% faster than 16384. A GPU may want more.
DEFAULT_BATCH_TOKENS = 8192


def length_sorted_batches(features: list, batch_size: int, max_tokens: int | None = None) -> list:
    """Index batches of similar length covering every example once, each at most `batch_size`
    rows and, when `max_tokens` is given, at most `max_tokens` padded tokens (rows x longest
    row; a longer single example is a batch of its own). Capping by tokens keeps the long tail's
    batches small, where a fixed number of rows would span a wide range of lengths: padding."""
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    batches, current = [], []
    for i in order:
        longest = len(features[i]["input_ids"])  # ascending: the newest row is the longest
        too_many = len(current) >= batch_size
        if current and (too_many or (max_tokens and (len(current) + 1) * longest > max_tokens)):
            batches.append(current)
            current = []
        current.append(i)
    return batches + ([current] if current else [])


def length_grouped_batches(
    lengths: list, batch_size: int, generator: torch.Generator, group: int = 50
) -> list:
    """Training batches of `batch_size` random examples with little padding: shuffle, sort
    within mega-batches of `group` batches by length, cut into batches, shuffle the batch order.
    Which examples meet in a batch follows length; the order of batches across the epoch stays
    random (HF's group_by_length does the same). Seeded by `generator`: deterministic."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    batches = []
    for start in range(0, len(order), batch_size * group):
        mega = sorted(order[start : start + batch_size * group], key=lambda i: lengths[i])
        batches += [mega[k : k + batch_size] for k in range(0, len(mega), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[k] for k in shuffled]


def padding_fraction(batches: list, lengths: list) -> float:
    """Pad tokens over all tokens processed when `batches` (index lists) are padded to their
    longest row."""
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1 - sum(lengths[i] for b in batches for i in b) / padded if padded else 0.0


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
