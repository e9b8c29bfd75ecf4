"""The sources of candidates: a local folder of model folders (local.py) or the Hub (hub.py)."""

from __future__ import annotations

from model_recycling.listing.candidates import write_candidates
from model_recycling.listing.hub import list_hub_candidates
from model_recycling.listing.local import list_local_candidates


def list_candidates(arch_cfg: dict, cache_path) -> list:
    """Dispatch on source.type. Local: sub-folders of source.path; hub: hub.py."""
    source = arch_cfg["source"]
    if source["type"] == "local":
        base_path = arch_cfg["base_model"].get("path")
        if not base_path:
            raise ValueError("a local source needs base_model.path (the base model's folder)")
        return list_local_candidates(source, base_path, arch_cfg["base_model"]["id"])
    if source["type"] == "hub":
        base = arch_cfg["base_model"]
        return list_hub_candidates(base["id"], base.get("revision"), source, cache_path)
    raise ValueError(f"unknown source type '{source['type']}'")


def list_job(arch_cfg: dict, cache_path, out) -> list:
    """The list_candidates rule: every model the source holds into candidates.tsv (kept and
    excluded, with the reasons printed). arch_cfg: base_model and source."""
    candidates = list_candidates(arch_cfg, cache_path)
    write_candidates(out, candidates)
    kept = sum(c.status == "ok" for c in candidates)
    print(f"{len(candidates)} models listed, {kept} kept, {len(candidates) - kept} excluded")
    for c in candidates:
        if c.status != "ok":
            print(f"excluded {c.model_id}: {c.reason}")
    return candidates
