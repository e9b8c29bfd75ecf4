"""Local source: a folder whose sub-folders are Hugging Face model folders. The model id is the
sub-folder name; the revision is a hash of the folder's content."""

from __future__ import annotations

import hashlib
from pathlib import Path

from model_recycling.modeling import ModelLoadError, describe_model
from model_recycling.sources import Candidate, matches_base


def content_revision(model_dir) -> str:
    """Hash of every file name and content: a local folder's equivalent of a commit sha."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(model_dir).rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in path.relative_to(model_dir).parts):
            continue  # bookkeeping (.snakemake_timestamp, .cache/huggingface) is not content
        digest.update(path.relative_to(model_dir).as_posix().encode() + b"\0")
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return "content-" + digest.hexdigest()[:24]


def describe_local(model_id: str, model_dir) -> Candidate:
    candidate = Candidate(model_id=model_id, revision="", source="local", path=str(model_dir))
    try:
        candidate.revision = content_revision(model_dir)
        for key, value in describe_model(model_dir).items():
            if hasattr(candidate, key):
                setattr(candidate, key, value)
    except (ModelLoadError, OSError, ValueError) as err:
        candidate.status, candidate.reason = "excluded", str(err)
    return candidate


def list_local_candidates(source_cfg: dict, base_model_dir, tolerance: float = 0.0) -> list:
    """Every sub-folder of source_cfg["path"] except the base, each kept or excluded with reason."""
    root = Path(source_cfg["path"])
    if not root.is_dir():
        raise FileNotFoundError(f"local source folder '{root}' does not exist")
    base_dir = Path(base_model_dir).resolve()
    base = describe_model(base_dir)
    candidates = []
    for model_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if model_dir.name.startswith("."):
            continue
        candidate = describe_local(model_dir.name, model_dir)
        if model_dir.resolve() == base_dir:
            candidate.status, candidate.reason = "excluded", "the base model itself"
        elif candidate.status == "ok":
            mismatch = matches_base(candidate, base, tolerance)
            if mismatch:
                candidate.status, candidate.reason = "excluded", f"architecture: {mismatch}"
        candidates.append(candidate)
    return candidates
