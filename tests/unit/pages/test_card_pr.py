"""Model-card pull requests (pages/card_pr.py) through the real HfApi client, against the local
stand-in for the Hub (tests/support/hub_server.py): a dry run changes nothing; a real run opens
exactly one pull request, for the model whose card lacks the section and has no open one; the
token reaches only the configured endpoint and is never printed."""

from __future__ import annotations

import json

import pytest

from model_recycling.pages.card_pr import TITLE, checked_endpoint, propose_cards
from model_recycling.pages.model_cards import MARKER
from tests.support.hub import TOKEN
from tests.support.hub_server import FakeHub

pytestmark = pytest.mark.usefixtures("isolated_hub_settings")

NEW, HAS_SECTION, HAS_PR, LOCAL = "org/new-model", "org/carded", "org/pending", "tiny-local"
SECTION = f"{MARKER}\n\nEvaluation on 3 datasets ...\n"


@pytest.fixture
def hub():
    with FakeHub(page_size=4) as server:
        for repo_id, card in (
            (NEW, "---\nlicense: mit\n---\n# New model\n"),
            (HAS_SECTION, f"# Carded\n\n{MARKER}\n\nold numbers\n"),
            (HAS_PR, "# Pending\n"),
        ):
            server.add_repo(repo_id, {"config.json": b"{}", "README.md": card.encode()})
        server.pull_requests[HAS_PR] = [
            {"num": 1, "title": TITLE, "status": "open", "isPullRequest": True,
             "createdAt": "2026-01-01T00:00:00.000Z", "author": {"name": "earlier-run"},
             "repo": {"name": HAS_PR, "type": "model"}, "files": {}},
        ]  # fmt: skip
        yield server


@pytest.fixture
def cards(tmp_path):
    """A results/model_cards folder as model_cards.write_model_cards writes it."""
    index = []
    for model_id, source in ((NEW, "hub"), (HAS_SECTION, "hub"), (HAS_PR, "hub"), (LOCAL, "local")):
        file = f"arch/{model_id.replace('/', '~2f')}.md"
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_text(SECTION)
        index.append({"arch": "arch", "model_id": model_id, "revision": "0" * 40,
                      "source_type": source, "file": file})  # fmt: skip
    (tmp_path / "index.json").write_text(json.dumps(index))
    return tmp_path


def outcomes(result) -> dict:
    return {model_id: action for model_id, action, _ in result}


def test_dry_run_says_what_it_would_do_and_changes_nothing(hub, cards, capsys):
    result = propose_cards(cards, hub.endpoint, TOKEN, dry_run=True)
    assert outcomes(result) == {
        NEW: "would propose",
        HAS_SECTION: "skip",
        HAS_PR: "skip",
        LOCAL: "skip",
    }
    printed = capsys.readouterr().out
    assert f"{NEW}: would propose" in printed and "already has" in printed
    assert "open pull request" in printed and "local model" in printed
    assert [r for r in hub.requests if r["method"] == "POST"] == []
    assert len(hub.pull_requests[HAS_PR]) == 1 and NEW not in hub.pull_requests
    assert all(r["authorization"] is None for r in hub.requests)  # a dry run sends no token


def test_real_run_opens_one_pull_request_and_the_token_stays_at_the_endpoint(hub, cards, capsys):
    result = propose_cards(cards, hub.endpoint, TOKEN, dry_run=False)
    assert outcomes(result) == {NEW: "proposed", HAS_SECTION: "skip", HAS_PR: "skip", LOCAL: "skip"}
    (opened,) = hub.pull_requests[NEW]
    assert opened["title"] == TITLE and opened["status"] == "open"
    card = opened["files"]["README.md"].decode()
    assert card.startswith("---\nlicense: mit\n---\n# New model\n\n") and card.endswith(SECTION)
    assert len(hub.pull_requests[HAS_PR]) == 1 and HAS_SECTION not in hub.pull_requests
    printed = capsys.readouterr().out
    assert f"{NEW}: proposed ({hub.endpoint}/{NEW}/discussions/1)" in printed
    assert TOKEN not in printed
    # every request went to the configured endpoint; the CDN never saw the token
    assert {r["role"] for r in hub.requests if r["authorization"]} == {"hub"}
    commits = [r for r in hub.requests if "/commit/" in r["path"]]
    assert len(commits) == 1 and commits[0]["authorization"] == f"Bearer {TOKEN}"

    again = propose_cards(cards, hub.endpoint, TOKEN, dry_run=False)  # the open PR is seen
    assert outcomes(again)[NEW] == "skip" and len(hub.pull_requests[NEW]) == 1


def test_a_token_goes_only_to_an_https_or_local_endpoint(cards):
    assert checked_endpoint("https://huggingface.co/") == "https://huggingface.co"
    for bad in ("http://hub.example.org", "ftp://127.0.0.1", "huggingface.co"):
        with pytest.raises(ValueError, match="card_pr.endpoint"):
            propose_cards(cards, bad, TOKEN, dry_run=False)
    with pytest.raises(ValueError, match="no token"):
        propose_cards(cards, "http://127.0.0.1:9", None, dry_run=False)
