"""The Hub listing's decisions, on plain dicts and with no network: which listed model is kept as a
candidate and why each other one is excluded. They run on a fresh listing (listing/hub.py fetches
a model's details as they are needed) and on a cached one alike.

Cheap checks come first, from the listing's own fields (access, downloads, date, model_type,
custom code, the Hub's parameter count). The remaining models are confirmed in order of downloads
with their files' facts: config.json (model_type, layers, hidden size, vocab) and the safetensors
headers (exact parameter count without pooler or heads), stopping once `max_candidates` are kept.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from model_recycling.listing.candidates import BASE_ITSELF, Candidate, matches_base

# A pooler or a task head is a small part of a model, so a listed model whose Hub parameter count
# is further than this from the base's is another size: excluded without fetching its files.
SIZE_SLACK = 0.2
# Where only total counts are known (no readable safetensors header), heads still move totals a
# little: they are compared with at least this tolerance.
TOTALS_SLACK = 0.01
COMMIT_SHA = re.compile(r"[0-9a-f]{40}")


def decide(listing: dict, source_cfg: dict, fetch) -> list[Candidate]:
    """Candidates in order of downloads. fetch(model_id) reads a model's details from the Hub
    (stored into listing["details"]); None when working from the cache."""
    base = listing["base"]
    cap = source_cfg.get("max_candidates")
    tolerance = source_cfg["parameter_tolerance"]
    kept_weights = {tuple(base["weight_ids"]): base["id"]} if base.get("weight_ids") else {}
    summaries = sorted(
        listing["models"].values(), key=lambda s: (-(s.get("downloads") or 0), s["id"])
    )
    candidates, kept = [], 0
    for summary in summaries:
        candidate = _candidate(summary)
        reason = _listing_reason(summary, base, source_cfg)
        if summary["id"] == base["id"]:
            _fill(candidate, base)  # its facts are known: the row shows what was compared against
        if not reason and cap is not None and kept >= cap:
            reason = f"beyond max_candidates={cap} (ranked by downloads)"
        if not reason:
            details = _details(listing, summary["id"], fetch)
            _fill(candidate, details)
            weights = tuple(details.get("weight_ids") or ())
            reason = files_reason(candidate, details, base, tolerance)
            if not reason and weights and weights == tuple(base.get("weight_ids") or ()):
                reason = f"{BASE_ITSELF} (identical weight files, sha256)"
            if not reason and weights in kept_weights:
                reason = f"duplicate of {kept_weights[weights]} (identical weight files, sha256)"
            if not reason and weights:
                kept_weights[weights] = candidate.model_id
        if reason:
            candidate.status, candidate.reason = "excluded", reason
        else:
            kept += 1
        candidates.append(candidate)
    if not any(c.model_id == base["id"] for c in candidates):
        # The base row pins the base's revision for the baseline runs, found or not.
        row = Candidate(base["id"], "", "hub", status="excluded", reason=BASE_ITSELF)
        _fill(row, base)
        candidates.append(row)
    return candidates


def _details(listing, model_id, fetch) -> dict:
    details = listing["details"]
    if model_id not in details:
        if fetch is None:
            return {"error": "not in the cached listing, and the Hub is unreachable"}
        details[model_id] = fetch(model_id)
    return details[model_id]


def _candidate(summary: dict) -> Candidate:
    return Candidate(
        model_id=summary["id"],
        revision=summary.get("sha", ""),
        source="hub",
        model_type=summary.get("model_type") or "",
        num_parameters=summary.get("hub_total"),
        last_modified=summary.get("last_modified", ""),
        downloads=summary.get("downloads"),
        likes=summary.get("likes"),
        license=summary.get("license", ""),
        tags=",".join(summary.get("tags", [])),
    )


def _fill(candidate: Candidate, details: dict) -> None:
    candidate.revision = details.get("sha") or candidate.revision
    candidate.license = candidate.license or details.get("license", "")
    candidate.weight_format = details.get("weight_format", "")
    if "model_type" in details:
        candidate.model_type = details["model_type"] or ""
    for key in ("num_layers", "hidden_size", "vocab_size", "backbone_parameters"):
        setattr(candidate, key, details.get(key))
    candidate.architecture = details.get("architecture") or {}
    candidate.num_parameters = details.get("num_parameters", details.get("hub_total"))


def _listing_reason(summary: dict, base: dict, source_cfg: dict) -> str:
    """Why the listing alone rules a model out ('' if it does not)."""
    model_id = summary["id"]
    if model_id in (base["id"], base["configured_id"]):
        return BASE_ITSELF
    if model_id in source_cfg.get("exclude", []):
        return "excluded by config"
    if summary.get("error"):
        return summary["error"]
    if summary.get("private"):
        return "private repository"
    if summary.get("disabled"):
        return "disabled repository"
    if summary.get("gated"):
        return f"gated repository (gated={summary['gated']})"
    min_downloads = source_cfg.get("min_downloads")
    if min_downloads and (summary.get("downloads") or 0) < min_downloads:
        return f"downloads {summary.get('downloads') or 0} < min_downloads {min_downloads}"
    since = source_cfg.get("modified_since")
    if since and summary.get("last_modified") and _utc(summary["last_modified"]) < _utc(str(since)):
        return f"last modified {summary['last_modified'][:10]} before modified_since {since}"
    if summary.get("auto_map"):
        return "needs custom code (auto_map in config)"
    if summary.get("model_type") and summary["model_type"] != base.get("model_type"):
        return f"architecture: model_type {summary['model_type']} != base {base['model_type']}"
    return _hub_size_reason(summary.get("hub_total"), base, source_cfg)


def _hub_size_reason(total, base, source_cfg) -> str:
    reference = base.get("hub_total") or base.get("num_parameters")
    slack = max(SIZE_SLACK, source_cfg["parameter_tolerance"])
    if total and reference and abs(total - reference) > slack * reference:
        return f"size: the Hub counts {total} parameters, base {reference}"
    return ""


def files_reason(candidate: Candidate, details: dict, base: dict, tolerance: float) -> str:
    """Why the model's own files rule it out ('' if they do not)."""
    if details.get("error"):
        return f"not usable: {details['error']}"
    sha = details.get("sha") or candidate.revision
    if not COMMIT_SHA.fullmatch(sha or ""):  # it names folders: never '../..' from a mirror
        return f"not usable: the Hub gave no commit sha ({sha!r})"
    if not details.get("weight_format"):
        return "no usable weights (neither model*.safetensors nor pytorch_model*.bin)"
    if details.get("excluded"):
        return details["excluded"]
    if details.get("auto_map"):
        return "needs custom code (auto_map in config)"
    mismatch = matches_base(candidate, base, tolerance)
    if mismatch:
        return f"architecture: {mismatch}"
    if candidate.backbone_parameters is None or base.get("backbone_parameters") is None:
        got, want = candidate.num_parameters, base.get("num_parameters")
        slack = max(tolerance, TOTALS_SLACK)
        if got and want and abs(got - want) > slack * want:
            return f"architecture: parameters {got} != base {want} (totals, tolerance {slack})"
    return ""


def _utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
