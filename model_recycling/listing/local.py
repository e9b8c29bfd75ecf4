"""Local source: a folder whose sub-folders are Hugging Face model folders. The model id is the
sub-folder name; the revision is a hash of the folder's content."""

from __future__ import annotations

import hashlib
from pathlib import Path

from model_recycling.listing.candidates import BASE_ITSELF, Candidate, matches_base
from model_recycling.models.architecture import describe_model
from model_recycling.models.files import (
    ModelLoadError,
    folder_sizes,
    size_reason,
    weight_files,
    weight_limit,
    weights_digest,
)
from model_recycling.records import one_line
from model_recycling.settings import with_defaults

# The files that define what a model computes: config, weights and tokenizer (what loading
# reads). Anything else (recycling_card.json with training timings, README, logs, checkpoints in
# sub-folders, generation_config.json, which restricted-choice scoring never uses) would give an
# identical model a new revision on every rebuild.
DEFINING_FILES = (
    "config.json",
    "*.safetensors", "*.safetensors.index.json",
    "pytorch_model*.bin", "pytorch_model*.bin.index.json",
    "tokenizer.json", "tokenizer_config.json", "vocab.*", "merges.txt", "special_tokens_map.json",
    "spiece.model", "sentencepiece.bpe.model", "added_tokens.json",
)  # fmt: skip


def content_revision(model_dir) -> str:
    """Hash of the defining files' names, sizes and content: a local folder's commit sha."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model folder {model_dir} does not exist")
    names = {p.name for pattern in DEFINING_FILES for p in model_dir.glob(pattern) if p.is_file()}
    digest = hashlib.sha256()
    for name in sorted(names):
        path = model_dir / name
        digest.update(f"{name}\0{path.stat().st_size}\0".encode())
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return "content-" + digest.hexdigest()[:24]


def describe_local(model_id: str, model_dir, base: dict, source_cfg: dict) -> Candidate:
    """The folder as a candidate, kept or excluded with its reason: whatever is wrong with one
    folder (hostile config, corrupt weights, unreadable files) excludes that folder only."""
    candidate = Candidate(model_id=model_id, revision="", source="local", path=str(model_dir))
    try:
        candidate.reason = _exclusion(candidate, Path(model_dir), base, source_cfg)
    except ModelLoadError as err:
        candidate.reason = " ".join(str(err).split())
    except Exception as err:  # noqa: BLE001 - one broken folder must not stop the listing
        candidate.reason = f"not usable: {one_line(err)}"
    candidate.status = "excluded" if candidate.reason else "ok"
    return candidate


def _exclusion(candidate: Candidate, model_dir: Path, base: dict, source_cfg: dict) -> str:
    """Why the folder is excluded ('' if it is kept); file sizes are checked before reading."""
    tolerance = source_cfg["parameter_tolerance"]
    sizes = folder_sizes(model_dir)
    too_big = size_reason(sizes, weight_limit(base, tolerance), source_cfg)
    if too_big:
        return too_big
    candidate.revision = content_revision(model_dir)
    for key, value in describe_model(model_dir).items():
        if hasattr(candidate, key):
            setattr(candidate, key, value)
    # The same folder, or one named like the base: it would share the base's result files.
    if model_dir.resolve() == base["path"] or candidate.model_id == base["id"]:
        return BASE_ITSELF
    if _same_weights(model_dir, sizes, base):
        return f"{BASE_ITSELF} (identical weight files, sha256)"
    mismatch = matches_base(candidate, base, tolerance)
    return f"architecture: {mismatch}" if mismatch else ""


def _same_weights(model_dir: Path, sizes: dict, base: dict) -> bool:
    """Hashes only when names and sizes already agree (finetunes of one shape usually do)."""
    names = weight_files(sizes)[1]
    if {name: sizes[name] for name in names} != base["weight_sizes"]:
        return False
    return weights_digest(model_dir, names) == weights_digest(base["path"], names)


def describe_base(base_model_dir, base_id: str, source_cfg: dict) -> dict:
    """The base's facts; an error naming the base folder when it cannot be described (the
    whole listing is measured against it)."""
    base_dir = Path(base_model_dir).resolve()
    try:
        sizes = folder_sizes(base_dir)
        # The configured base is trusted with pickle weights; its size caps still apply.
        problem = size_reason(sizes, None, {**source_cfg, "allow_pickle": True})
        if problem:
            raise ModelLoadError(problem)
        base = describe_model(base_dir)
    except Exception as err:  # noqa: BLE001 - any failure is reported naming the base
        raise ValueError(f"base model '{base_id}' ({base_dir}) cannot be described: {err}") from err
    names = weight_files(sizes)[1]
    return {
        **base,
        "id": base_id,
        "path": base_dir,
        "weight_bytes": sum(sizes[name] for name in names),
        "weight_sizes": {name: sizes[name] for name in names},
    }


def list_local_candidates(source_cfg: dict, base_model_dir, base_id: str = "") -> list:
    """Every sub-folder of source_cfg["path"], each kept or excluded with its reason (the base,
    a folder named like it or a copy of its weights: "the base model itself")."""
    source_cfg = with_defaults(source_cfg, "source")
    root = Path(source_cfg["path"])
    if not root.is_dir():
        raise FileNotFoundError(f"local source folder '{root}' does not exist")
    base = describe_base(base_model_dir, base_id, source_cfg)
    return [
        describe_local(model_dir.name, model_dir, base, source_cfg)
        for model_dir in sorted(p for p in root.iterdir() if p.is_dir())
        if not model_dir.name.startswith(".")
    ]
