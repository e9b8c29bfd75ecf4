"""Propose each model-card section (model_cards.py) to the model's owner as a Hub pull request
that adds it to the card (README.md), through huggingface_hub's `create_commit(create_pr=True)`.

Opt-in and careful:
* a dry run by default: it reads the cards and open pull requests anonymously and says what it
  would do; nothing is written and no token is used;
* it skips a model whose card already has the section (its MARKER heading), one with an open
  pull request of ours (same title), and local models (not on the Hub), each with its reason;
* the token goes only to the configured endpoint: it is handed to one HfApi bound to that
  endpoint (https, or http on this machine only), never to a default client, and never printed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import RemoteEntryNotFoundError

from model_recycling.io import read_json
from model_recycling.pages.model_cards import MARKER

DEFAULT_ENDPOINT = "https://huggingface.co"
TITLE = "Add the Model Recycling section (evaluation as a base model)"
DESCRIPTION = (
    "This pull request adds a **Model Recycling** section to the model card: how well this model "
    "does as a base model for finetuning, measured by the model-recycling workflow "
    "(Choshen et al., arXiv 2211.00107) against the pretrained model it came from. Merge it if "
    "you find it useful; close it otherwise, and it will not be proposed again while it is open."
)
_HAS_SECTION = re.compile(rf"^{re.escape(MARKER)}\s*$", re.MULTILINE | re.IGNORECASE)
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def checked_endpoint(endpoint: str) -> str:
    """The endpoint a token may be sent to: https, or plain http to this machine (tests)."""
    parts = urlsplit(endpoint)
    local = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not parts.hostname or not (parts.scheme == "https" or local):
        raise ValueError(
            f"card_pr.endpoint: {endpoint!r} is not an https URL (or http on localhost); "
            "a token is never sent there"
        )
    return endpoint.rstrip("/")


def hub_client(endpoint: str, token: str | None) -> HfApi:
    """The one client of a run. token None: anonymous (False keeps huggingface_hub from
    picking up HF_TOKEN or a saved login)."""
    api = HfApi(endpoint=checked_endpoint(endpoint), token=token or False)
    if api.endpoint != checked_endpoint(endpoint):  # the token must not go anywhere else
        raise RuntimeError(f"HfApi is bound to {api.endpoint}, not {endpoint}")
    return api


def current_card(api: HfApi, model_id: str) -> str:
    """The card (README.md) on the default branch; "" when the repo has none."""
    try:
        path = api.hf_hub_download(model_id, "README.md")
    except RemoteEntryNotFoundError:  # not LocalEntryNotFoundError: offline is an error
        return ""
    return Path(path).read_text(encoding="utf-8")


def has_open_pr(api: HfApi, model_id: str) -> bool:
    discussions = api.get_repo_discussions(
        model_id, discussion_type="pull_request", discussion_status="open"
    )
    return any(d.title == TITLE for d in discussions)


def with_section(card: str, section: str) -> str:
    return (card.rstrip("\n") + "\n\n" if card.strip() else "") + section


def decide(api: HfApi, entry: dict) -> tuple[str, str]:
    """("propose", "") or ("skip", why)."""
    if entry["source_type"] != "hub":
        return "skip", "local model: not on the Hub"
    if _HAS_SECTION.search(current_card(api, entry["model_id"])):
        return "skip", f"its card already has a '{MARKER}' section"
    if has_open_pr(api, entry["model_id"]):
        return "skip", "an open pull request of ours is waiting"
    return "propose", ""


def propose_cards(cards_dir, endpoint=DEFAULT_ENDPOINT, token=None, dry_run=True, log=print):
    """One line per model (what was done or would be done); returns [(model_id, action, why)].
    token is used only when dry_run is False."""
    cards_dir = Path(cards_dir)
    api = hub_client(endpoint, None if dry_run else token)
    if not dry_run and not token:
        raise ValueError("card_pr.dry_run is false but no token is set (HF_TOKEN)")
    outcomes = []
    for entry in read_json(cards_dir / "index.json"):
        model_id = entry["model_id"]
        action, why = decide(api, entry)
        if action == "propose":
            section = (cards_dir / entry["file"]).read_text(encoding="utf-8")
            if dry_run:
                action, why = "would propose", f"dry run: a pull request adding {entry['file']}"
            else:
                new_card = with_section(current_card(api, model_id), section)
                info = api.create_commit(
                    model_id,
                    [CommitOperationAdd("README.md", new_card.encode("utf-8"))],
                    commit_message=TITLE,
                    commit_description=DESCRIPTION,
                    create_pr=True,
                )
                action, why = "proposed", info.pr_url
        log(f"{model_id}: {action}" + (f" ({why})" if why else ""))
        outcomes.append((model_id, action, why))
    return outcomes


def propose_job(cards_dir, settings: dict, site_url: str) -> list:
    """The propose_model_cards rule. settings: the config's card_pr section (dry_run, endpoint).
    The token is read from HF_TOKEN only when it will be used."""
    dry_run = settings["dry_run"]
    if not dry_run and not site_url:
        sys.exit("site_url is not set: a card would link to no published page")
    token = None if dry_run else os.environ.get("HF_TOKEN")
    print(f"{'dry run' if dry_run else 'proposing'} against {settings['endpoint']}", flush=True)
    return propose_cards(cards_dir, settings["endpoint"], token, dry_run)
