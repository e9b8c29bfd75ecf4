"""Hub source: the finetuned models on the Hugging Face Hub that share the base model's
architecture and size, each kept or excluded with its reason (the decisions: hub_rules.py).

Discovery is two tag searches of /api/models, merged by model id:
  * `base_model:finetune:<base id>`: the Hub derives this tag from a card's `base_model` (and the
    repo content); unlike the bare `base_model:<id>` tag it leaves out adapters, quantizations and
    merges, which are not full checkpoints of the base's size;
  * `<model_type>` (e.g. `roberta`): the Hub tags every transformers repo with its config's
    model_type, which also finds finetunes whose card does not name their base.
Models named in `include` are added by id.

A model that passes the listing's cheap checks is confirmed with its files, in order of downloads:
config.json and the safetensors headers (exact parameter count without pooler or heads, the rule
of models.files.count_parameters), 3-5 requests per model.

What was fetched is cached (JSON); when the Hub cannot be reached the cache stands in for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from huggingface_hub import HfApi
from huggingface_hub.errors import (
    DisabledRepoError,
    NotASafetensorsRepoError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    SafetensorsParsingError,
)

from model_recycling.hub_client import (
    NETWORK_ERRORS,
    Unreachable,
    access_problem,
    call,
    offline_mode,
    unreachable_reason,
)
from model_recycling.io import atomic_write_json, read_json
from model_recycling.listing.candidates import Candidate
from model_recycling.listing.hub_rules import decide
from model_recycling.models.architecture import config_facts, parse_config
from model_recycling.models.files import (
    is_head,
    is_parameter_dtype,
    size_reason,
    weight_files,
    weight_limit,
)
from model_recycling.records import one_line
from model_recycling.settings import with_defaults

# 2: details hold the architecture keys and weight sizes; older caches cannot stand in.
CACHE_FORMAT = 2
# Fields asked for each listed model: `expand` returns only these, which keeps pages small.
LISTING_FIELDS = [
    "sha",
    "lastModified",
    "downloads",
    "likes",
    "tags",
    "gated",
    "private",
    "disabled",
    "config",
    "safetensors",
]


# The Hub's bot that opens a pull request converting pickle weights to safetensors.
CONVERSION_BOT = "SFconvertbot"


class HubUnavailableError(RuntimeError):
    """The Hub cannot be reached and no cached listing can stand in for it."""


# --- listing ---------------------------------------------------------------------------------


def list_hub_candidates(
    base_model_id: str,
    base_revision: str | None,
    source_cfg: dict,
    cache_path,
    api: HfApi | None = None,
    log=print,
) -> list[Candidate]:
    """Every model found for the base, kept (status "ok") or excluded with its reason."""
    source_cfg = with_defaults(source_cfg, "source")
    api = api or HfApi(endpoint=source_cfg.get("endpoint"))
    try:
        if offline_mode():
            raise Unreachable("offline mode: HF_HUB_OFFLINE is set")
        listing = _fetch_listing(api, base_model_id, base_revision, source_cfg, log)
        base = listing["base"]
        candidates = decide(
            listing, source_cfg, lambda model_id: _model_details(api, model_id, base, source_cfg)
        )
    except NETWORK_ERRORS as err:
        reason = unreachable_reason(err)
        if reason is None:
            raise
        listing = _cached_listing(cache_path, base_model_id, base_revision, api.endpoint, reason)
        log(
            f"Hub unreachable ({reason}); reusing cached listing from {cache_path} "
            f"written {listing['written_at']}"
        )
        return decide(listing, source_cfg, fetch=None)
    atomic_write_json(cache_path, listing)
    kept = sum(c.status == "ok" for c in candidates)
    log(f"{len(candidates)} models found, {kept} kept; cache written to {cache_path}")
    return candidates


def _fetch_listing(api, base_model_id, base_revision, source_cfg, log) -> dict:
    base = _resolve_base(api, base_model_id, base_revision, source_cfg)
    log(
        f"base {base['id']}@{base['sha']}: {base['model_type']}, {base['num_layers']} layers, "
        f"hidden {base['hidden_size']}, vocab {base['vocab_size']}, "
        f"{base.get('backbone_parameters')} backbone parameters"
    )
    models = {}
    for tag in _search_tags(base):
        found = 0
        for info in api.list_models(filter=tag, expand=LISTING_FIELDS, sort="downloads"):
            models.setdefault(info.id, _summary(info))["found_by"].append(tag)
            found += 1
        log(f"search filter={tag}: {found} models")
    for model_id in source_cfg.get("include", []):
        if model_id not in models:
            models[model_id] = _included(api, model_id)
    return {
        "format": CACHE_FORMAT,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "endpoint": api.endpoint,
        "base": base,
        "models": models,
        "details": {},  # filled while deciding, in order of downloads
    }


def _resolve_base(api, base_model_id, base_revision, source_cfg) -> dict:
    """The base's facts at the commit its configured revision (a branch, tag or sha) points to.
    The configured base is trusted with pickle weights (they load with weights_only=True)."""
    try:
        info = call(api.model_info, base_model_id, revision=base_revision, files_metadata=True)
        details = _details_from_info(api, info, {**source_cfg, "allow_pickle": True}, limit=None)
    except (RepositoryNotFoundError, RevisionNotFoundError, DisabledRepoError) as err:
        raise ValueError(
            f"base model '{base_model_id}' (revision {base_revision or 'main'}) cannot be read "
            f"from {api.endpoint}: {type(err).__name__}"
        ) from err
    except Exception as err:  # noqa: BLE001 - anything else is reported naming the base
        if unreachable_reason(err) is not None:
            raise
        problem = one_line(err)
        raise ValueError(f"base model '{base_model_id}' cannot be described: {problem}") from err
    details["error"] = details.get("error") or details.get("excluded")
    problem = details.get("error") or ("" if details["weight_format"] else "no usable weights")
    if problem:
        raise ValueError(f"base model '{base_model_id}': {problem}")
    if details.get("num_parameters") is None:
        details["num_parameters"] = details.get("hub_total")
    return {
        "id": info.id,
        "configured_id": base_model_id,
        "requested_revision": base_revision,
        **details,
    }


def _search_tags(base: dict) -> list:
    # The configured id may be a legacy alias (roberta-base for FacebookAI/roberta-base); cards
    # name either, so both are searched.
    ids = dict.fromkeys([base["id"], base["configured_id"]])
    tags = [f"base_model:finetune:{model_id}" for model_id in ids]
    return tags + ([base["model_type"]] if base.get("model_type") else [])


def _summary(info) -> dict:
    """What the listing says about a model: enough for the cheap checks. Its fields are
    whatever the repository's owner wrote: anything of the wrong type counts as absent."""
    config = info.config if isinstance(info.config, dict) else {}
    model_type = config.get("model_type")
    total = getattr(info.safetensors, "total", None)
    return {
        "id": info.id,
        "sha": info.sha or "",
        "last_modified": info.last_modified.isoformat() if info.last_modified else "",
        "downloads": info.downloads,
        "likes": info.likes,
        "tags": list(info.tags or []),
        "license": _license(info),
        "gated": info.gated or False,
        "private": bool(info.private),
        "disabled": bool(info.disabled),
        "model_type": model_type if isinstance(model_type, str) else None,
        "auto_map": "auto_map" in config,
        "hub_total": total if isinstance(total, int) else None,
        "found_by": [],
    }


def _included(api, model_id) -> dict:
    try:
        summary = _summary(call(api.model_info, model_id))
    except (RepositoryNotFoundError, DisabledRepoError) as err:
        summary = {"id": model_id, "error": access_problem(err)}
    summary["found_by"] = ["include"]
    return summary


def _license(info) -> str:
    for tag in info.tags or []:
        if tag.startswith("license:"):
            return tag.removeprefix("license:")
    license_ = getattr(info.card_data, "license", None) if info.card_data else None
    return license_ if isinstance(license_, str) else ""


# --- per-model details -----------------------------------------------------------------------


def _model_details(api, model_id, base: dict, source_cfg: dict) -> dict:
    """The model's facts, or {"error": reason}: any failure but the network's excludes this
    model only (a hostile repository: nested config, malformed safetensors header, ...)."""
    limit = weight_limit(base, source_cfg["parameter_tolerance"])
    try:
        info = call(api.model_info, model_id, files_metadata=True)
        converted, ref = _safetensors_conversion(api, info)
        details = _details_from_info(api, converted or info, source_cfg, limit)
        if converted:
            details["weight_format"] = f"safetensors (conversion {ref})"
        return details
    except (RepositoryNotFoundError, DisabledRepoError, RevisionNotFoundError) as err:
        return {"error": access_problem(err)}
    except Exception as err:  # noqa: BLE001 - see the docstring
        if unreachable_reason(err) is not None:
            raise
        return {"error": one_line(err)}


def _safetensors_conversion(api, info) -> tuple:
    """(the model's info at a safetensors conversion of its pickle weights, the ref) for a
    model with only pytorch_model*.bin on its main branch; (None, "") otherwise. A conversion is
    the Hub's conversion bot's pull request whose commit adds model*.safetensors and keeps
    main's pickle files unchanged (same LFS sha256): the same weights, readable without
    unpickling. Its commit is what the listing pins."""
    siblings = {s.rfilename: s for s in info.siblings or []}
    weight_format, pickles = weight_files(siblings)
    if weight_format != "pytorch":
        return None, ""
    main_ids = {name: _file_id(siblings[name]) for name in pickles}
    requests = call(
        lambda: list(
            api.get_repo_discussions(info.id, author=CONVERSION_BOT, discussion_type="pull_request")
        )
    )
    for request in requests:
        ref = f"refs/pr/{request.num}"
        try:
            converted = call(api.model_info, info.id, revision=ref, files_metadata=True)
        except RevisionNotFoundError:
            continue
        files = {s.rfilename: s for s in converted.siblings or []}
        same = all(name in files and _file_id(files[name]) == id_ for name, id_ in main_ids.items())
        if same and weight_files(files)[0] == "safetensors":
            return converted, ref
    return None, ""


def _file_id(sibling) -> str:
    """A file's content id: its LFS sha256, or its git blob id for a file not in LFS."""
    return sibling.lfs.sha256 if sibling.lfs else f"git:{sibling.blob_id}"


def _details_from_info(api, info, source_cfg: dict, limit: int | None) -> dict:
    """Facts read from the model's files at the listed commit (info from files_metadata=True).
    Names and sizes are checked first: nothing is fetched from a repository they exclude."""
    siblings = {s.rfilename: s for s in info.siblings or []}
    weight_format, weights = weight_files(siblings)
    sizes = {name: s.size for name, s in siblings.items() if "/" not in name}
    facts = {
        "sha": info.sha,
        "license": _license(info),
        "weight_format": weight_format,
        # Identical weights have identical LFS sha256 (git blob id for non-LFS files).
        "weight_ids": sorted(
            _file_id(siblings[name]) for name in weights if not name.endswith(".json")
        ),
        "hub_total": info.safetensors.total if info.safetensors else None,
        "weight_bytes": sum(sizes[name] or 0 for name in weights),
    }
    if not weight_format:
        return facts
    excluded = size_reason(sizes, limit, source_cfg)
    if excluded:
        return {**facts, "excluded": excluded}
    try:
        facts.update(_read_config(api, info.id, info.sha))
    except RemoteEntryNotFoundError:
        return {**facts, "error": "no config.json"}
    if weight_format == "safetensors" and not facts.get("auto_map"):
        facts.update(_count_parameters(api, info.id, info.sha))
    return facts


def _read_config(api, model_id, sha) -> dict:
    """The facts modeling.describe_model reads, so hub and local candidates compare alike."""
    path = call(api.hf_hub_download, model_id, "config.json", revision=sha)
    try:
        facts = config_facts(parse_config(Path(path).read_bytes()))
    except ValueError as err:
        return {"error": str(err)}
    return facts


def _count_parameters(api, model_id, sha) -> dict:
    """Exact counts from the safetensors headers (range requests; no weights downloaded), by the
    rule of models.files.count_parameters: only floating-point tensors are parameters, so an
    integer buffer (position ids an older transformers saved) counts for nothing."""
    try:
        metadata = call(api.get_safetensors_metadata, model_id, revision=sha)
    except NotASafetensorsRepoError:
        return {}  # the Hub's total stands in
    except SafetensorsParsingError as err:
        return {"error": f"unreadable safetensors header ({one_line(err)})"}
    total = backbone = 0
    for file_metadata in metadata.files_metadata.values():
        for name, tensor in file_metadata.tensors.items():
            if is_parameter_dtype(tensor.dtype):
                total += tensor.parameter_count
                backbone += 0 if is_head(name) else tensor.parameter_count
    return {"num_parameters": total, "backbone_parameters": backbone}


# --- cache -----------------------------------------------------------------------------------


def _cached_listing(cache_path, base_model_id, base_revision, endpoint, reason) -> dict:
    cache_path = Path(cache_path)
    problem = ""
    try:
        listing = read_json(cache_path)
    except FileNotFoundError:
        listing, problem = None, f"there is no cached listing at {cache_path}"
    except ValueError:
        listing, problem = None, f"the cached listing at {cache_path} is unreadable"
    if listing is not None and (
        listing.get("format") != CACHE_FORMAT
        or listing["base"]["configured_id"] != base_model_id
        or listing["base"].get("requested_revision") != base_revision
    ):
        problem = f"the cached listing at {cache_path} is for another base model or revision"
    if problem:
        raise HubUnavailableError(
            f"cannot list the Hub candidates of base model '{base_model_id}': the Hub at "
            f"{endpoint} is unreachable ({reason}) and {problem}"
        )
    return listing
