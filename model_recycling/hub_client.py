"""Talking to the Hugging Face Hub: which errors mean "the Hub cannot be reached" (not a model's
fault: a later run tries again), retries of a busy Hub, and offline mode. Listing and downloads
both go through it. The HF token is huggingface_hub's business (HF_TOKEN or the login cache): it
is never read here.
"""

from __future__ import annotations

import importlib
import os
import time

from huggingface_hub import constants
from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
)

# Per-model requests are not retried by huggingface_hub: a busy Hub (429, 5xx) gets two more tries.
RETRY_WAITS = (2.0, 10.0)
BUSY_STATUS = {429, 500, 502, 503, 504}


class Unreachable(Exception):
    """Raised for offline mode; its message is the reason."""


def _transport_errors() -> tuple:
    """The HTTP client's no-connection errors (httpx2 in huggingface_hub 2, httpx in 1)."""
    errors = [OfflineModeIsEnabled, Unreachable]
    for module in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(module).TransportError)
        except ImportError:
            pass
    return tuple(errors)


TRANSPORT_ERRORS = _transport_errors()
# What a request may raise when the Hub cannot be reached (unreachable_reason tells which).
NETWORK_ERRORS = (*TRANSPORT_ERRORS, HfHubHTTPError, LocalEntryNotFoundError)


def offline_mode() -> bool:
    # huggingface_hub reads HF_HUB_OFFLINE once, at import; read the environment too, so that a
    # variable set afterwards (a parent process, a test) still means offline.
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return constants.is_offline_mode() or value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def unreachable_reason(err: BaseException | None) -> str | None:
    """Why the Hub counts as unreachable, or None when err is about something else. The cause
    chain is searched: huggingface_hub wraps a failed connection in LocalEntryNotFoundError."""
    while err is not None:
        if isinstance(err, Unreachable):
            return str(err)
        if isinstance(err, TRANSPORT_ERRORS):
            return f"{type(err).__name__}: {err}"
        if isinstance(err, HfHubHTTPError) and http_status(err) in BUSY_STATUS:
            return f"HTTP {http_status(err)} from the Hub"
        err = err.__cause__
    return None


def http_status(err: HfHubHTTPError) -> int | None:
    return getattr(getattr(err, "response", None), "status_code", None)


def call(function, *args, **kwargs):
    """function(*args, **kwargs), tried again after a 429 or 5xx answer."""
    for wait in (*RETRY_WAITS, None):
        try:
            return function(*args, **kwargs)
        except HfHubHTTPError as err:
            if wait is None or http_status(err) not in BUSY_STATUS:
                raise
            time.sleep(wait)


def access_problem(err: Exception) -> str:
    """A repository the Hub refuses to show, in words."""
    if isinstance(err, GatedRepoError):
        return "gated repository"
    if isinstance(err, DisabledRepoError):
        return "disabled repository"
    if isinstance(err, RepositoryNotFoundError):
        return "repository not found on the Hub (deleted, renamed or private)"
    return "revision not found on the Hub"
