"""Candidates: the record every source lists (Candidate), `candidates.tsv` that holds every model
found, kept ("ok") or excluded with its reason, and the rules every source applies alike."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field, fields

from model_recycling.io import atomic_write_text
from model_recycling.models.architecture import architecture_mismatch

BASE_ITSELF = "the base model itself"


@dataclass
class Candidate:
    model_id: str
    revision: str  # commit sha on the Hub, content hash for a local folder
    source: str  # "local" or "hub"
    status: str = "ok"  # "ok" or "excluded"
    reason: str = ""
    path: str = ""  # local folder holding the weights ("" until downloaded)
    model_type: str = ""
    num_layers: int | None = None
    hidden_size: int | None = None
    vocab_size: int | None = None
    # architecture.ARCHITECTURE_KEYS of its model type ({"d_ff": 3072, ...}); JSON in the TSV
    architecture: dict = field(default_factory=dict)
    num_parameters: int | None = None
    backbone_parameters: int | None = None
    weight_format: str = ""
    last_modified: str = ""
    downloads: int | None = None
    likes: int | None = None
    license: str = ""
    tags: str = ""  # comma separated


COLUMNS = [f.name for f in fields(Candidate)]
_INT_COLUMNS = {
    f.name for f in fields(Candidate) if "int" in str(f.type) and "str" not in str(f.type)
}
_JSON_COLUMNS = {"architecture"}


def write_candidates(path, candidates) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    for candidate in candidates:
        row = asdict(candidate)
        for key in _JSON_COLUMNS:
            row[key] = json.dumps(row[key], sort_keys=True)
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    atomic_write_text(path, buffer.getvalue())


def read_candidates(path) -> list:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    candidates = []
    for row in rows:
        for key in _INT_COLUMNS:
            row[key] = int(row[key]) if row.get(key) not in ("", None) else None
        for key in _JSON_COLUMNS:
            row[key] = json.loads(row.get(key) or "{}")
        candidates.append(Candidate(**{k: row.get(k, "") for k in COLUMNS}))
    return candidates


def base_moved(listing_path, base_id: str, revision: str) -> str:
    """Why a baseline cell planned at `revision` must wait ("" when it need not): the listing,
    redone since the cell was planned, pins the base at another commit."""
    rows = [c for c in read_candidates(listing_path) if c.model_id == base_id]
    if rows and rows[0].revision == revision:
        return ""
    pinned = rows[0].revision if rows else "nothing (no row for the base)"
    return (
        f"{listing_path} now pins base {base_id} at {pinned}, not {revision} as planned: the "
        "listing was redone during this run; run again to plan the baseline at the new revision"
    )


def usable_candidates(candidates: list, filters: dict, arch: str, path) -> dict:
    """{model_id: candidate} kept at listing ("ok"), after the config's candidates.only /
    exclude filters of architecture `arch` (path: the listing, for the error)."""
    kept = {c.model_id: c for c in candidates if c.status == "ok"}
    only, exclude = filters.get("only"), set(filters.get("exclude", []))
    if only:
        missing = [m for m in only if m not in kept]
        if missing:
            raise ValueError(
                f"architectures.{arch}.candidates.only: {missing} not among the usable "
                f"candidates listed in {path} (see its status and reason columns)"
            )
        kept = {m: kept[m] for m in only}
    return {m: c for m, c in kept.items() if m not in exclude}


def matches_base(candidate: Candidate, base: dict, tolerance: float = 0.0) -> str:
    """'' when the candidate has the base's architecture and size, else the reason it does not."""
    for key in ("model_type", "num_layers", "hidden_size", "vocab_size"):
        if base.get(key) is not None and getattr(candidate, key) != base[key]:
            return f"{key} {getattr(candidate, key)} != base {base[key]}"
    mismatch = architecture_mismatch(candidate.architecture, base.get("architecture") or {})
    if mismatch:
        return mismatch
    want, got = base.get("backbone_parameters"), candidate.backbone_parameters
    if want and got is not None and abs(got - want) > tolerance * want:
        return f"backbone parameters {got} != base {want}"
    return ""
