"""Downloading a Hub model at its pinned revision: config.json, tokenizer files and one weight
format (safetensors first), nothing else; and the marker a download that failed for good leaves
in its folder, which the probe then records as the candidate's failure."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from huggingface_hub import HfApi, try_to_load_from_cache
from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from model_recycling.fetching.budget import reserving
from model_recycling.hub_client import NETWORK_ERRORS, access_problem, call, unreachable_reason
from model_recycling.io import atomic_write_json, read_json
from model_recycling.models.files import PICKLE_ONLY, TOKENIZER, weight_files
from model_recycling.provenance import file_sha256
from model_recycling.records import TEMPORARY_FAILURE

# Written into a model's download folder when its download failed for good.
FAILED_DOWNLOAD = "FAILED.json"


class HubDownloadError(RuntimeError):
    """A model cannot be downloaded; the message names it and says why."""


class HubUnreachableError(HubDownloadError):
    """The download failed because the Hub could not be reached: not the model's fault."""


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
        info = call(api.model_info, model_id, revision=revision, files_metadata=True)
        files = _wanted_files(info, model_id, allow_pickle)
        siblings = {s.rfilename: s for s in info.siblings or []}
        if before_download:
            before_download(sum(siblings[name].size or 0 for name in files))
        cached = [
            name for name in files if _from_cache(model_id, revision, siblings[name], dest_dir)
        ]
        rest = [name for name in files if name not in cached]
        if rest:  # exact names (escaped: allow_patterns are fnmatch patterns); an empty cache:
            # huggingface_hub would copy a cached file unchecked, _from_cache checks it first
            with tempfile.TemporaryDirectory() as empty_cache:
                api.snapshot_download(
                    model_id, revision=revision, local_dir=dest_dir, cache_dir=empty_cache,
                    allow_patterns=[glob.escape(name) for name in rest],
                )  # fmt: skip
    except GatedRepoError as err:
        raise HubDownloadError(
            f"cannot download '{model_id}': gated repository; accept its conditions on the Hub "
            "with the account of your HF token, or exclude it"
        ) from err
    except (RepositoryNotFoundError, DisabledRepoError, RevisionNotFoundError) as err:
        problem = access_problem(err)
        raise HubDownloadError(f"cannot download '{model_id}'@{revision}: {problem}") from err
    except NETWORK_ERRORS as err:
        reason = unreachable_reason(err)
        if reason is None:
            raise
        raise HubUnreachableError(
            f"cannot download '{model_id}': the Hub at {api.endpoint} is unreachable ({reason})"
        ) from err
    return dest_dir


def _wanted_files(info, model_id: str, allow_pickle: bool) -> list:
    """The files to download (download_files); HubDownloadError when the repository cannot give
    a usable candidate."""
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
    return files


def _from_cache(model_id: str, revision: str, sibling, dest_dir: Path) -> bool:
    """Take a file from the user's Hugging Face cache (HF_HOME) when it holds it at this
    revision with the content the Hub names (LFS sha256, or git blob id for small files): hard
    linked where the filesystem allows, else copied. False when it does not."""
    cached = try_to_load_from_cache(model_id, sibling.rfilename, revision=revision)
    if not isinstance(cached, str):
        return False
    if sibling.lfs:
        matches = file_sha256(cached) == sibling.lfs.sha256
    else:
        data = Path(cached).read_bytes()
        matches = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == sibling.blob_id
    if not matches:
        return False
    target = dest_dir / sibling.rfilename
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(os.path.realpath(cached), target)  # the blob, not the cache's symlink to it
    except OSError:
        shutil.copyfile(cached, target)
    return True


def download_files(siblings) -> list:
    """The repo's root files a candidate needs (siblings: RepoSibling list from model_info):
    config.json, tokenizer files and one weight format; never TF/Flax/ONNX/adapter files."""
    names = {s.rfilename for s in siblings if "/" not in s.rfilename}
    _, weights = weight_files(names)
    wanted = {name for name in names if name == "config.json" or TOKENIZER.fullmatch(name)}
    return sorted(wanted | set(weights))


def write_download_failure(out_dir, reason: str, options: dict) -> Path:
    """A download that failed for good: its folder holds only this marker, which the probe
    reports as the candidate's failure."""
    shutil.rmtree(out_dir, ignore_errors=True)  # no half-downloaded weights next to it
    path = Path(out_dir) / FAILED_DOWNLOAD
    marker = {"model_id": options["model_id"], "revision": options["revision"], "reason": reason}
    atomic_write_json(path, {**marker, "status": "failed"})
    return path


def check_download(model_dir) -> None:
    """Raise the recorded reason when the model's download failed for good."""
    marker = Path(model_dir) / FAILED_DOWNLOAD
    if marker.exists():
        raise RuntimeError(f"download failed: {read_json(marker)['reason']}")


def download_job(model_id, revision, out, endpoint="", allow_pickle=False, budget=None) -> Path:
    """A host download job: the model into `out`, its bytes reserved under `budget` (a DiskBudget,
    or None). An unreachable Hub exits with TEMPORARY_FAILURE: never recorded as the model's
    failure, a later run tries again."""
    try:
        path = download_candidate(
            model_id, revision, out, endpoint=endpoint or None, allow_pickle=allow_pickle,
            before_download=reserving(budget, out),
        )  # fmt: skip
    except HubUnreachableError as err:
        print(err, file=sys.stderr)
        sys.exit(TEMPORARY_FAILURE)
    print(f"{model_id}@{revision} -> {path}")
    return path
