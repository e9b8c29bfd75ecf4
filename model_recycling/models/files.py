"""The files of a model (a local folder or a Hub repository) that matter, what their names and
sizes alone rule out before anything is read or downloaded, and the parameter counts their
safetensors headers give without loading a weight.

Parameters are the floating-point tensors; integer and boolean tensors are buffers
(is_parameter_dtype), so that a checkpoint an older transformers saved with its position ids
has the parameter count of the same model saved today without them.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

# Root files transformers loads. Weights: safetensors first, else the pickle checkpoint.
SAFETENSORS = re.compile(r"model(-\d+-of-\d+)?\.safetensors|model\.safetensors\.index\.json")
PYTORCH = re.compile(r"pytorch_model(-\d+-of-\d+)?\.bin|pytorch_model\.bin\.index\.json")
TOKENIZER = re.compile(
    r"tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|added_tokens\.json"
    r"|merges\.txt|vocab.*|.*\.model|.*\.spm"  # vocab.json/.txt; sentencepiece models
)
MB = 1 << 20
# Weights may exceed the base's float32 size by the heads a finetune adds (or keeps): like the
# Hub's parameter counts, by this share at least (more when parameter_tolerance is larger).
WEIGHT_SLACK = 0.2
HEAD_PREFIXES = ("classifier", "pooler", "cls.", "lm_head", "qa_outputs", "score", "pre_classifier")
PICKLE_ONLY = "pickle weights only (pytorch_model*.bin); set the source's allow_pickle to use them"


def weight_files(names) -> tuple:
    """(format, root weight files): ("safetensors", [...]), ("pytorch", [...]) or ("", [])."""
    for weight_format, pattern in (("safetensors", SAFETENSORS), ("pytorch", PYTORCH)):
        files = sorted(name for name in names if pattern.fullmatch(name))
        if files:
            return weight_format, files
    return "", []


def folder_sizes(model_dir) -> dict:
    """{name: bytes} of the folder's regular files (a FIFO or a directory named like a weight
    file is no file: opening it could block or fail)."""
    return {p.name: p.stat().st_size for p in Path(model_dir).iterdir() if p.is_file()}


def weight_limit(base: dict, tolerance: float) -> int | None:
    """The most bytes a candidate's weights may take: the base's parameters in float32 (the
    base may be stored in half precision, its finetunes in full), within the tolerance."""
    if base.get("num_parameters"):
        reference = 4 * base["num_parameters"]
    elif base.get("weight_bytes"):
        reference = 2 * base["weight_bytes"]  # unknown precision: allow float32 of a float16 base
    else:
        return None
    return int(reference * (1 + max(WEIGHT_SLACK, tolerance))) + MB  # + headers and index files


def size_reason(sizes: dict, limit: int | None, source_cfg: dict) -> str:
    """Why a model's file names and sizes exclude it ('' if they do not). sizes: {name: bytes
    or None}, the root files of the folder or repository."""
    weight_format, weights = weight_files(sizes)
    if weight_format == "pytorch" and not source_cfg["allow_pickle"]:
        return PICKLE_ONLY
    max_mb = source_cfg["max_file_mb"]
    small_files = (
        name for name in sorted(sizes) if name == "config.json" or TOKENIZER.fullmatch(name)
    )
    for name in small_files:
        if (sizes[name] or 0) > max_mb * MB:
            return f"{name} is {sizes[name] / MB:.3g} MB, above max_file_mb {max_mb}"
    total = sum(sizes[name] or 0 for name in weights)
    if limit is not None and total > limit:
        return (
            f"weights are {total / MB:.3g} MB, above the {limit / MB:.3g} MB the base's size allows"
        )
    return ""


def weights_digest(model_dir, names) -> str:
    """sha256 of the weight files' names and contents: equal for a copy of the same weights."""
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode() + b"\0")
        with open(Path(model_dir) / name, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


class ModelLoadError(RuntimeError):
    """A candidate model cannot be used; the message says why."""


def weight_format(model_dir) -> str | None:
    """The weight format: "safetensors", "pytorch" (pickle) or None, from the regular files.
    A pickle checkpoint loads only through transformers 5's torch.load(weights_only=True) (its
    from_pretrained default, which the load_* functions keep): tensors, no code."""
    return weight_files(folder_sizes(model_dir))[0] or None


def is_head(name: str) -> bool:
    """Whether a tensor belongs to a pooler or a task head (not to the backbone)."""
    parts = name.split(".")
    return any(".".join(parts[i:]).startswith(HEAD_PREFIXES) for i in range(len(parts)))


def is_parameter_dtype(dtype: str) -> bool:
    """Whether tensors of this safetensors dtype ("F32", "BF16", "I64", "BOOL", ...) are
    parameters: the floating-point ones (F64, F32, F16, BF16, the F8 kinds) are. Integer and
    boolean tensors are buffers the model computes rather than learns: the position ids and
    token type ids transformers 4.x saved with BERT-like weights (all-MiniLM-L6-v2 holds
    `embeddings.position_ids` [1, 512] as int64), absent from the same model saved today.
    A quantized checkpoint, whose weights are integers, therefore counts only its float parts
    and is excluded as another size: it cannot be finetuned as its base is."""
    return dtype.startswith(("F", "BF"))


def tensor_headers(model_dir) -> dict:
    """{tensor name: (safetensors dtype, shape)} of the folder's safetensors weight files, read
    from their headers without loading a weight; {} for a pickle checkpoint."""
    from safetensors import safe_open

    headers = {}
    names = weight_files(folder_sizes(model_dir))[1]
    for name in (n for n in names if n.endswith(".safetensors")):
        try:
            with safe_open(Path(model_dir) / name, framework="pt") as handle:
                for key in handle.keys():
                    tensor = handle.get_slice(key)
                    headers[key] = (tensor.get_dtype(), tuple(tensor.get_shape()))
        except Exception as err:  # noqa: BLE001 - safetensors raises many types on bad files
            raise ModelLoadError(f"{name} is not a readable safetensors file: {err}") from err
    return headers


def count_parameters(model_dir) -> tuple[int, int]:
    """(all parameters, backbone parameters without pooler / heads), read from safetensors
    headers without loading the weights. Only floating-point tensors count
    (is_parameter_dtype): an integer buffer saved with the weights is not a parameter."""
    total = backbone = 0
    for key, (dtype, shape) in tensor_headers(model_dir).items():
        if is_parameter_dtype(dtype):
            numel = math.prod(shape)
            total += numel
            backbone += 0 if is_head(key) else numel
    return total, backbone
