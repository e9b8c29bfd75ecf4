"""Rank probed candidates by one proxy, pick the top-k for full finetuning, and a seeded random
calibration sample of the others (so the proxy's quality can be measured on models it did not
pick)."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from model_recycling.io import atomic_write_text, read_json
from model_recycling.listing.candidates import read_candidates, usable_candidates
from model_recycling.naming import model_id_from_safe_name, safe_name
from model_recycling.probing.proxies import PROXIES, proxy_value
from model_recycling.records import read_record
from model_recycling.validation import validate_probe

# A probe record the checks refused (validation.py): kept with its reason, never ranked.
INVALID = "invalid"

COLUMNS = [
    "rank",
    "model_id",
    "safe_name",
    "revision",
    "probe_score",
    *PROXIES[1:],
    "status",
    "reason",
    "selected",
    "calibration",
]


def select_top_k(
    probes: list,
    k: int,
    rank_by: str,
    calibration_k: int = 0,
    calibration_seed: int = 0,
) -> list:
    """probes: probe result records, ranked by their `rank_by` proxy (ties broken by model id,
    so the choice is deterministic). Failed probes, and ok probes without a `rank_by` value, are
    kept unranked with their reason. `calibration_k` of the ranked models outside the top-k are
    drawn for finetuning too (see calibration_sample)."""
    if rank_by not in PROXIES:
        raise ValueError(f"probe.rank_by: '{rank_by}' is not one of {list(PROXIES)}")
    ranked = sorted(
        (p for p in probes if proxy_value(p, rank_by) is not None),
        key=lambda p: (-proxy_value(p, rank_by), p["model_id"]),
    )
    unranked = sorted(
        (p for p in probes if proxy_value(p, rank_by) is None), key=lambda p: p["model_id"]
    )
    top = {p["model_id"] for p in ranked[:k]}
    rest = [p["model_id"] for p in ranked[k:]]
    calibration = set(calibration_sample(rest, calibration_k, calibration_seed))
    rows = [
        _row(probe, rank, probe["model_id"] in top, probe["model_id"] in calibration)
        for rank, probe in enumerate(ranked, start=1)
    ]
    for probe in unranked:
        row = _row(probe, "", selected=False, calibration=False)
        if probe["status"] == "ok":
            row["reason"] = _no_value_reason(probe, rank_by)
        rows.append(row)
    return rows


def calibration_sample(model_ids: list, k: int, seed: int) -> list:
    """A seeded uniform random sample of min(k, len(model_ids)) ids: the k smallest by a hash of
    (seed, id). Deterministic, independent of the order given, and stable as candidates come and
    go: a new candidate displaces a sampled one only if it draws a smaller hash itself."""

    def draw(model_id: str) -> str:
        return hashlib.sha256(f"{seed}\0{model_id}".encode()).hexdigest()

    return sorted(model_ids, key=draw)[: max(0, k)]


def _no_value_reason(probe: dict, rank_by: str) -> str:
    note = probe.get("proxy_notes", {}).get(rank_by)
    if note:
        return f"no {rank_by} value to rank by: {note}"
    return f"no {rank_by} value to rank by (probed before it was recorded; delete the probe file)"


def _row(probe: dict, rank, selected: bool, calibration: bool) -> dict:
    proxies = {name: proxy_value(probe, name) for name in PROXIES[1:]}
    refused = probe["status"] == INVALID  # its score is no measurement
    return {
        "rank": rank,
        "model_id": probe["model_id"],
        "safe_name": safe_name(probe["model_id"]),
        "revision": probe.get("model_revision", ""),
        "probe_score": "" if probe.get("score") is None or refused else probe["score"],
        **{name: "" if value is None else value for name, value in proxies.items()},
        "status": probe["status"],
        "reason": probe.get("reason", ""),
        "selected": "yes" if selected else "no",
        "calibration": "yes" if calibration else "no",
    }


def write_selection(path, rows: list) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def read_selection(path) -> list:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def finetuned(row: dict) -> bool:
    """Whether a selected.tsv row's model gets its cells: a top-k pick or a calibration draw (a
    file written before calibration existed has no such column)."""
    return row["selected"] == "yes" or row.get("calibration") == "yes"


def checked_probe(path) -> dict:
    """A probe file's record; one that cannot be read is an invalid record of its model."""
    record, reason = read_record(path)
    if reason:
        model_id = model_id_from_safe_name(Path(path).stem)
        return {"model_id": model_id, "model_revision": "", "status": INVALID, "reason": reason}
    return record


def _validated(record: dict, probe_meta: dict, revisions: dict) -> dict:
    if record.get("status") == INVALID:
        return record
    reason = validate_probe(record, probe_meta, revisions)
    return {**record, "status": INVALID, "reason": reason} if reason else record


def usable_probe_paths(probe_dir, candidates_tsv, filters: dict, arch: str) -> list:
    """The probe files of the architecture's usable candidates (the listing after the config's
    candidates.only / exclude filters)."""
    listing = read_candidates(candidates_tsv)
    usable = usable_candidates(listing, filters, arch, candidates_tsv)
    return [Path(probe_dir) / f"{safe_name(model_id)}.json" for model_id in usable]


def select_job(
    out, top_k: int, rank_by: str, calibration_k: int, seed: int, probes=(), probe_dir=None,
    candidates_tsv=None, filters=None, arch="", probe_meta=None,
) -> list:  # fmt: skip
    """The select rule: rank the probes (the files `probes`, or with `probe_dir` those of the
    listing's usable candidates), pick the top-k and the calibration sample, write selected.tsv
    and print it. With probe_meta (the probe task's meta.json) every record is first checked as
    the tables check it (validation.py): one that fails is kept unranked as "invalid", with its
    reason, and is never selected."""
    if probe_dir:
        probes = usable_probe_paths(probe_dir, candidates_tsv, filters or {}, arch)
    records = [checked_probe(path) for path in probes]
    if probe_meta:
        revisions = {c.model_id: c.revision for c in read_candidates(candidates_tsv)}
        meta = read_json(probe_meta)
        records = [_validated(record, meta, revisions) for record in records]
    rows = select_top_k(records, top_k, rank_by, calibration_k, seed)
    write_selection(out, rows)
    print(f"ranked by {rank_by}; columns: {' '.join(COLUMNS)}")
    for row in rows:
        print(*(row[column] for column in COLUMNS))
    return rows
