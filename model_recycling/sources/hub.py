"""Hub source: the finetuned models on the Hugging Face Hub that share the base model's
architecture and size, each kept or excluded with its reason.

Discovery is two tag searches of /api/models, merged by model id:
  * `base_model:finetune:<base id>`: the Hub derives this tag from a card's `base_model` (and the
    repo content); unlike the bare `base_model:<id>` tag it leaves out adapters, quantizations and
    merges, which are not full checkpoints of the base's size;
  * `<model_type>` (e.g. `roberta`): the Hub tags every transformers repo with its config's
    model_type, which also finds finetunes whose card does not name their base.
Models named in `include` are added by id.

Cheap checks come first, from the listing's own fields (access, downloads, date, model_type,
custom code, the Hub's parameter count). The remaining models are confirmed in order of downloads
with their files: config.json (model_type, layers, hidden size, vocab) and the safetensors headers
(exact parameter count without pooler or heads, the rule of modeling.count_parameters), 3-5
requests per model, stopping once `max_candidates` are kept.

What was fetched is cached (JSON); when the Hub cannot be reached the cache stands in for it.
The HF token is huggingface_hub's business (HF_TOKEN or the login cache): it is never read here.
"""

from __future__ import annotations

import glob
import importlib
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from huggingface_hub import HfApi, constants
from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    NotASafetensorsRepoError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    SafetensorsParsingError,
)

from model_recycling.architecture import config_facts, parse_config
from model_recycling.io import atomic_write_json, read_json
from model_recycling.model_files import (
    PICKLE_ONLY,
    TOKENIZER,
    size_reason,
    weight_files,
    weight_limit,
)
from model_recycling.modeling import _is_head
from model_recycling.sources import BASE_ITSELF, Candidate, matches_base, one_line

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
# A pooler or a task head is a small part of a model, so a listed model whose Hub parameter count
# is further than this from the base's is another size: excluded without fetching its files.
SIZE_SLACK = 0.2
# Where only total counts are known (no readable safetensors header), heads still move totals a
# little: they are compared with at least this tolerance.
TOTALS_SLACK = 0.01
# Per-model requests are not retried by huggingface_hub: a busy Hub (429, 5xx) gets two more tries.
RETRY_WAITS = (2.0, 10.0)
COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
BUSY_STATUS = {429, 500, 502, 503, 504}


class HubUnavailableError(RuntimeError):
    """The Hub cannot be reached and no cached listing can stand in for it."""


class HubDownloadError(RuntimeError):
    """A model cannot be downloaded; the message names it and says why."""


class HubUnreachableError(HubDownloadError):
    """The download failed because the Hub could not be reached: not the model's fault."""


class _Unreachable(Exception):
    """Raised here for offline mode; its message is the reason."""


def _transport_errors() -> tuple:
    """The HTTP client's no-connection errors (httpx2 in huggingface_hub 2, httpx in 1)."""
    errors = [OfflineModeIsEnabled, _Unreachable]
    for module in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(module).TransportError)
        except ImportError:
            pass
    return tuple(errors)


_TRANSPORT_ERRORS = _transport_errors()
_NETWORK_ERRORS = (*_TRANSPORT_ERRORS, HfHubHTTPError, LocalEntryNotFoundError)


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
    api = api or HfApi(endpoint=source_cfg.get("endpoint"))
    try:
        if _offline_mode():
            raise _Unreachable("offline mode: HF_HUB_OFFLINE is set")
        listing = _fetch_listing(api, base_model_id, base_revision, source_cfg, log)
        base = listing["base"]
        candidates = _decide(
            listing, source_cfg, lambda model_id: _model_details(api, model_id, base, source_cfg)
        )
    except _NETWORK_ERRORS as err:
        reason = _unreachable_reason(err)
        if reason is None:
            raise
        listing = _cached_listing(cache_path, base_model_id, base_revision, api.endpoint, reason)
        log(
            f"Hub unreachable ({reason}); reusing cached listing from {cache_path} "
            f"written {listing['written_at']}"
        )
        return _decide(listing, source_cfg, fetch=None)
    atomic_write_json(cache_path, listing)
    kept = sum(c.status == "ok" for c in candidates)
    log(f"{len(candidates)} models found, {kept} kept; cache written to {cache_path}")
    return candidates


def _offline_mode() -> bool:
    # huggingface_hub reads HF_HUB_OFFLINE once, at import; read the environment too, so that a
    # variable set afterwards (a parent process, a test) still means offline.
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return constants.is_offline_mode() or value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def _unreachable_reason(err: BaseException | None) -> str | None:
    """Why the Hub counts as unreachable, or None when err is about something else. The cause
    chain is searched: huggingface_hub wraps a failed connection in LocalEntryNotFoundError."""
    while err is not None:
        if isinstance(err, _Unreachable):
            return str(err)
        if isinstance(err, _TRANSPORT_ERRORS):
            return f"{type(err).__name__}: {err}"
        if isinstance(err, HfHubHTTPError) and _status(err) in BUSY_STATUS:
            return f"HTTP {_status(err)} from the Hub"
        err = err.__cause__
    return None


def _status(err: HfHubHTTPError) -> int | None:
    return getattr(getattr(err, "response", None), "status_code", None)


def _call(function, *args, **kwargs):
    """function(*args, **kwargs), tried again after a 429 or 5xx answer."""
    for wait in (*RETRY_WAITS, None):
        try:
            return function(*args, **kwargs)
        except HfHubHTTPError as err:
            if wait is None or _status(err) not in BUSY_STATUS:
                raise
            time.sleep(wait)


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
        info = _call(api.model_info, base_model_id, revision=base_revision, files_metadata=True)
        details = _details_from_info(api, info, {**source_cfg, "allow_pickle": True}, limit=None)
    except (RepositoryNotFoundError, RevisionNotFoundError, DisabledRepoError) as err:
        raise ValueError(
            f"base model '{base_model_id}' (revision {base_revision or 'main'}) cannot be read "
            f"from {api.endpoint}: {type(err).__name__}"
        ) from err
    except Exception as err:  # noqa: BLE001 - anything else is reported naming the base
        if _unreachable_reason(err) is not None:
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
        summary = _summary(_call(api.model_info, model_id))
    except (RepositoryNotFoundError, DisabledRepoError) as err:
        summary = {"id": model_id, "error": _access_problem(err)}
    summary["found_by"] = ["include"]
    return summary


def _license(info) -> str:
    for tag in info.tags or []:
        if tag.startswith("license:"):
            return tag.removeprefix("license:")
    license_ = getattr(info.card_data, "license", None) if info.card_data else None
    return license_ if isinstance(license_, str) else ""


def _access_problem(err: Exception) -> str:
    if isinstance(err, GatedRepoError):
        return "gated repository"
    if isinstance(err, DisabledRepoError):
        return "disabled repository"
    if isinstance(err, RepositoryNotFoundError):
        return "repository not found on the Hub (deleted, renamed or private)"
    return "revision not found on the Hub"


# --- per-model details -----------------------------------------------------------------------


def _model_details(api, model_id, base: dict, source_cfg: dict) -> dict:
    """The model's facts, or {"error": reason}: any failure but the network's excludes this
    model only (a hostile repository: nested config, malformed safetensors header, ...)."""
    limit = weight_limit(base, source_cfg.get("parameter_tolerance", 0.0))
    try:
        info = _call(api.model_info, model_id, files_metadata=True)
        return _details_from_info(api, info, source_cfg, limit)
    except (RepositoryNotFoundError, DisabledRepoError, RevisionNotFoundError) as err:
        return {"error": _access_problem(err)}
    except Exception as err:  # noqa: BLE001 - see the docstring
        if _unreachable_reason(err) is not None:
            raise
        return {"error": one_line(err)}


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
            siblings[name].lfs.sha256 if siblings[name].lfs else f"git:{siblings[name].blob_id}"
            for name in weights
            if not name.endswith(".json")
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
    path = _call(api.hf_hub_download, model_id, "config.json", revision=sha)
    try:
        facts = config_facts(parse_config(Path(path).read_bytes()))
    except ValueError as err:
        return {"error": str(err)}
    return facts


def _count_parameters(api, model_id, sha) -> dict:
    """Exact counts from the safetensors headers (range requests; no weights downloaded)."""
    try:
        metadata = _call(api.get_safetensors_metadata, model_id, revision=sha)
    except NotASafetensorsRepoError:
        return {}  # the Hub's total stands in
    except SafetensorsParsingError as err:
        return {"error": f"unreadable safetensors header ({one_line(err)})"}
    total = backbone = 0
    for file_metadata in metadata.files_metadata.values():
        for name, tensor in file_metadata.tensors.items():
            total += tensor.parameter_count
            backbone += 0 if _is_head(name) else tensor.parameter_count
    return {"num_parameters": total, "backbone_parameters": backbone}


# --- decisions (no network: also run on a cached listing) ------------------------------------


def _decide(listing: dict, source_cfg: dict, fetch) -> list[Candidate]:
    """Candidates in order of downloads. fetch(model_id) reads a model's details from the Hub
    (stored into listing["details"]); None when working from the cache."""
    base = listing["base"]
    cap = source_cfg.get("max_candidates")
    tolerance = source_cfg.get("parameter_tolerance", 0.0)
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
            reason = _files_reason(candidate, details, base, tolerance)
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
    slack = max(SIZE_SLACK, source_cfg.get("parameter_tolerance", 0.0))
    if total and reference and abs(total - reference) > slack * reference:
        return f"size: the Hub counts {total} parameters, base {reference}"
    return ""


def _files_reason(candidate: Candidate, details: dict, base: dict, tolerance: float) -> str:
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


# --- download --------------------------------------------------------------------------------


def download_candidate(
    model_id: str,
    revision: str,
    dest_dir,
    api: HfApi | None = None,
    endpoint: str | None = None,
    allow_pickle: bool = False,
    before_download=None,
) -> Path:
    """Download what probing and finetuning need into dest_dir from the source's endpoint:
    config.json, tokenizer files and the weights (safetensors if the repo has them, else
    pytorch_model*.bin, only with allow_pickle); nothing else. before_download(bytes), when
    given, is called with the files' total size (the Hub's metadata) before any is fetched."""
    api = api or HfApi(endpoint=endpoint or None)
    dest_dir = Path(dest_dir)
    try:
        info = _call(
            api.model_info, model_id, revision=revision, files_metadata=bool(before_download)
        )
        if info.disabled:
            raise HubDownloadError(f"cannot download '{model_id}': disabled repository")
        files = download_files(info.siblings or [])
        weight_format = weight_files(files)[0]
        missing = [
            what
            for what, absent in (
                ("config.json", "config.json" not in files),
                ("usable weights (model*.safetensors or pytorch_model*.bin)", not weight_format),
            )
            if absent
        ]
        if missing:
            raise HubDownloadError(f"cannot download '{model_id}': no {' and no '.join(missing)}")
        if weight_format == "pytorch" and not allow_pickle:
            raise HubDownloadError(f"cannot download '{model_id}': {PICKLE_ONLY}")
        # Exact names (escaped: allow_patterns are fnmatch patterns).
        patterns = [glob.escape(name) for name in files]
        if before_download:
            sizes = {s.rfilename: s.size or 0 for s in info.siblings or []}
            before_download(sum(sizes.get(name, 0) for name in files))
        api.snapshot_download(
            model_id, revision=revision, local_dir=dest_dir, allow_patterns=patterns
        )
    except GatedRepoError as err:
        raise HubDownloadError(
            f"cannot download '{model_id}': gated repository; accept its conditions on the Hub "
            "with the account of your HF token, or exclude it"
        ) from err
    except (RepositoryNotFoundError, DisabledRepoError, RevisionNotFoundError) as err:
        problem = _access_problem(err)
        raise HubDownloadError(f"cannot download '{model_id}'@{revision}: {problem}") from err
    except _NETWORK_ERRORS as err:
        reason = _unreachable_reason(err)
        if reason is None:
            raise
        raise HubUnreachableError(
            f"cannot download '{model_id}': the Hub at {api.endpoint} is unreachable ({reason})"
        ) from err
    return dest_dir


def download_files(siblings) -> list:
    """The repo's root files a candidate needs (siblings: RepoSibling list from model_info):
    config.json, tokenizer files and one weight format; never TF/Flax/ONNX/adapter files."""
    names = {s.rfilename for s in siblings if "/" not in s.rfilename}
    _, weights = weight_files(names)
    wanted = {name for name in names if name == "config.json" or TOKENIZER.fullmatch(name)}
    return sorted(wanted | set(weights))
