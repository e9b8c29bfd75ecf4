"""A probed candidate's weights from download to deletion, in one place.

Three ways a probe meets its candidate's weights (plan.py decides which, from the config):
- fetched by the probe itself (downloads.fetch: probe) into a scratch folder below
  results/fetching/, which is removed once the probe is done, whatever happened;
- downloaded before, by a host download job, and deleted once probed (keep_unselected: false),
  leaving the folder's config, tokenizer and WEIGHTS_DELETED.json;
- kept (the base, a local folder, keep_unselected: true).
A probe that must run again after its candidate's weights were deleted fetches them again first.
A download reserves its bytes under the disk budget (budget.py); the reservation is released once
the weights are gone.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass

from model_recycling.fetching import budget as disk_budget
from model_recycling.fetching.disk import (
    delete_weights,
    remove_scratch,
    restore_weights,
    scratch_folder,
    weights_deleted,
)
from model_recycling.fetching.download import (
    HubDownloadError,
    HubUnreachableError,
    download_candidate,
    write_download_failure,
)
from model_recycling.records import TEMPORARY_FAILURE


@dataclass(frozen=True)
class WeightsPlan:
    """How a probe gets and leaves its candidate's weights (the probe script's options)."""

    fetch: bool = False  # download into a scratch folder first, remove the folder at the end
    delete: bool = False  # delete the downloaded weights once probed
    endpoint: str = ""  # the Hub to fetch from ("": the default)
    allow_pickle: bool = False
    budget: disk_budget.DiskBudget | None = None


@contextmanager
def candidate_weights(model_id: str, revision: str, folder: str, plan: WeightsPlan):
    """The candidate's weights in `folder` for the duration of the block. A scratch folder is
    checked before any download (only ever one below results/fetching/) and removed at the end
    whatever happened; a download that fails for the model's own reason leaves the marker the
    probe records as its failure; an unreachable Hub exits with TEMPORARY_FAILURE (never
    recorded). Once the block succeeds, downloaded weights are deleted and their reservation
    released."""
    if plan.fetch:  # a folder an earlier attempt left is resumed, not deleted
        scratch_folder(folder)
    try:
        if plan.fetch:
            _fetch_or_record(model_id, revision, folder, plan)
        elif weights_deleted(folder):  # probed before: its weights are fetched again
            restore_weights(folder, lambda target: _fetch(model_id, revision, target, plan))
        yield folder
    finally:
        if plan.fetch:
            remove_scratch(folder)
    if plan.delete:
        print(f"deleted {delete_weights(folder)['bytes']} bytes of weights")
    if plan.budget and (plan.fetch or plan.delete):
        plan.budget.release(folder)


def _fetch_or_record(model_id, revision, folder, plan: WeightsPlan) -> None:
    try:
        _fetch(model_id, revision, folder, plan)
    except HubUnreachableError as err:
        print(err, file=sys.stderr)
        sys.exit(TEMPORARY_FAILURE)  # the guard never records this as the model's failure
    except HubDownloadError as err:
        write_download_failure(folder, str(err), {"model_id": model_id, "revision": revision})


def _fetch(model_id, revision, folder, plan: WeightsPlan) -> None:
    download_candidate(
        model_id, revision, folder, endpoint=plan.endpoint or None,
        allow_pickle=plan.allow_pickle,
        before_download=disk_budget.reserving(plan.budget, folder),
    )  # fmt: skip
