"""The Hub source through the real HfApi client, against the local stand-in in hub_server.py."""

from __future__ import annotations

import socket
from dataclasses import asdict

import pytest
from huggingface_hub import HfApi, constants

from model_recycling.modeling import count_parameters, weight_format
from model_recycling.sources import write_candidates
from model_recycling.sources.hub import (
    HubDownloadError,
    HubUnavailableError,
    download_candidate,
    list_hub_candidates,
)
from tests.hub_server import FakeHub

BASE = "FacebookAI/roberta-base"
HUB = {"type": "hub"}
KEPT = [
    "cardiffnlp/twitter-roberta-base-sentiment-latest",
    "deepset/roberta-base-squad2",
    "SamLowe/roberta-base-go_emotions",
    "textattack/roberta-base-SST-2",
    "someorg/roberta-base-old",
]
TOKEN = "hf_testSecretToken0123456789abcdefABCDEF"
_real_connect = socket.socket.connect


def _local_only(sock, address):
    """Tests may reach 127.0.0.1 only: nothing leaves the machine."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] != "127.0.0.1":
        raise AssertionError(f"a test tried to connect to {address}")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True)
def isolated_hub_settings(tmp_path, monkeypatch):
    """No token, online, an empty HF cache; huggingface_hub reads these constants at import, so
    they are patched as well as the environment."""
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-saved-token"))
    monkeypatch.setattr(socket.socket, "connect", _local_only)


@pytest.fixture
def hub():
    with FakeHub(page_size=4) as server:
        yield server


def listing(hub, tmp_path, log=None, **source):
    api = HfApi(endpoint=hub.endpoint)
    cache = tmp_path / "listing_cache.json"
    logged = log if log is not None else []
    return list_hub_candidates(BASE, None, {**HUB, **source}, cache, api=api, log=logged.append)


def by_id(candidates) -> dict:
    return {c.model_id: c for c in candidates}


def kept(candidates) -> list:
    return [c.model_id for c in candidates if c.status == "ok"]


# --- listing ---------------------------------------------------------------------------------


def test_listing_keeps_matches_and_records_every_exclusion(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # the owner's view: the private repo is listed too
    candidates = listing(hub, tmp_path)
    assert kept(candidates) == KEPT  # ordered by downloads
    reasons = {c.model_id: c.reason for c in candidates if c.status == "excluded"}
    expected = {
        BASE: "the base model itself",
        "FacebookAI/roberta-large": "size: the Hub counts",
        "distilbert/distilroberta-base": "architecture: num_layers 1 != base 2",
        "someorg/bert-labeled-as-roberta-finetune": "architecture: model_type bert != base roberta",
        "someorg/roberta-base-extended-vocab": "architecture: vocab_size 72 != base 64",
        "someorg/roberta-base-wide-ffn": "architecture: backbone parameters 6104 != base 5840",
        "someorg/roberta-custom-code": "needs custom code (auto_map",
        "meta-gated/roberta-base-gated": "gated repository",
        "someorg/roberta-base-private": "private repository",
        "someorg/roberta-base-disabled": "disabled repository",
        "someorg/roberta-base-no-weights": "no usable weights",
        "someuser/roberta-base-squad2-copy": "duplicate of deepset/roberta-base-squad2",
    }
    assert set(reasons) == set(expected)
    for model_id, reason in expected.items():
        assert reason in reasons[model_id], model_id
    # Found only through include: never listed without it.
    assert "someorg/roberta-base-include-me" not in by_id(candidates)


def test_kept_candidates_carry_hub_facts(hub, tmp_path):
    candidates = by_id(listing(hub, tmp_path))
    squad = candidates["deepset/roberta-base-squad2"]
    assert squad.source == "hub" and squad.path == ""
    assert squad.revision == hub.repos[squad.model_id]["info"]["sha"]
    assert squad.last_modified.startswith("2024-09-24T15:48:47")
    assert (squad.downloads, squad.likes, squad.license) == (1_200_000, 820, "cc-by-4.0")
    assert "question-answering" in squad.tags.split(",")
    assert (squad.model_type, squad.num_layers, squad.hidden_size, squad.vocab_size) == (
        "roberta",
        2,
        16,
        64,
    )
    # Safetensors chosen over pytorch_model.bin; pooler and qa head are not backbone.
    assert squad.weight_format == "safetensors"
    assert squad.backbone_parameters == candidates[BASE].backbone_parameters == 5840
    assert squad.num_parameters == 5840 + 16 * 16 + 16 + 2 * 16 + 2
    sst2 = candidates["textattack/roberta-base-SST-2"]
    assert sst2.weight_format == "pytorch" and sst2.backbone_parameters is None
    # Without a token the private repo is invisible, as on the Hub.
    assert "someorg/roberta-base-private" not in candidates


def test_searches_page_through_link_headers(hub, tmp_path):
    candidates = listing(hub, tmp_path)
    searches = [r["query"] for r in hub.requests if r["path"] == "/api/models"]
    by_tag = {}
    for query in searches:
        by_tag.setdefault(query["filter"][0], []).append(query)
    assert set(by_tag) == {f"base_model:finetune:{BASE}", "roberta"}
    for pages in by_tag.values():
        assert len(pages) >= 2 and "cursor" in pages[1]
        assert "downloads" in pages[0]["expand"] and "safetensors" in pages[0]["expand"]
    # Each search contributes models the other does not find.
    ids = by_id(candidates)
    assert "SamLowe/roberta-base-go_emotions" in ids  # base-model tag only
    assert "textattack/roberta-base-SST-2" in ids  # model_type tag only


def test_max_candidates_keeps_the_most_downloaded(hub, tmp_path):
    candidates = by_id(listing(hub, tmp_path, max_candidates=2))
    assert kept(candidates.values()) == KEPT[:2]
    for model_id in KEPT[2:]:
        assert candidates[model_id].reason == "beyond max_candidates=2 (ranked by downloads)"
        # Beyond the cap no file of the model is looked at.
        assert not any(model_id in path for path in hub.paths() if path != "/api/models")
    # Exclusions that the listing shows are still reported as such.
    assert candidates["meta-gated/roberta-base-gated"].reason.startswith("gated repository")


def test_min_downloads_and_modified_since(hub, tmp_path):
    candidates = by_id(listing(hub, tmp_path, min_downloads=1000, modified_since="2022-01-01"))
    assert kept(candidates.values()) == KEPT[:3]
    assert candidates["someorg/roberta-base-old"].reason == "downloads 5 < min_downloads 1000"
    assert candidates["textattack/roberta-base-SST-2"].reason == (
        "last modified 2021-05-20 before modified_since 2022-01-01"
    )


def test_include_and_exclude(hub, tmp_path):
    include = ["someorg/roberta-base-include-me", "nobody/does-not-exist"]
    candidates = by_id(
        listing(hub, tmp_path, include=include, exclude=["deepset/roberta-base-squad2"])
    )
    assert candidates["someorg/roberta-base-include-me"].status == "ok"
    assert "repository not found" in candidates["nobody/does-not-exist"].reason
    assert candidates["deepset/roberta-base-squad2"].reason == "excluded by config"
    # With the original excluded, its copy is the first of those weights and is kept.
    assert candidates["someuser/roberta-base-squad2-copy"].status == "ok"


def test_parameter_tolerance(hub, tmp_path):
    candidates = by_id(listing(hub, tmp_path, parameter_tolerance=0.05))
    assert candidates["someorg/roberta-base-wide-ffn"].status == "ok"
    assert "vocab_size" in candidates["someorg/roberta-base-extended-vocab"].reason


def test_base_given_by_its_legacy_id(hub, tmp_path):
    api = HfApi(endpoint=hub.endpoint)
    cache = tmp_path / "cache.json"
    candidates = by_id(
        list_hub_candidates("roberta-base", None, HUB, cache, api=api, log=[].append)
    )
    assert candidates[BASE].reason == "the base model itself"
    searched = {r["query"]["filter"][0] for r in hub.requests if r["path"] == "/api/models"}
    assert {f"base_model:finetune:{BASE}", "base_model:finetune:roberta-base"} <= searched


def test_unknown_base_is_a_clear_error(hub, tmp_path):
    with pytest.raises(ValueError, match="nobody/no-such-base"):
        list_hub_candidates(
            "nobody/no-such-base", None, HUB, tmp_path / "c.json", api=HfApi(endpoint=hub.endpoint)
        )


# --- network failure and the cache -----------------------------------------------------------


def test_unreachable_hub_reuses_the_cached_listing(hub, tmp_path):
    online = listing(hub, tmp_path)
    hub.stop()  # connection refused from now on
    log = []
    offline = listing(hub, tmp_path, log=log)
    assert [asdict(c) for c in offline] == [asdict(c) for c in online]
    cache = tmp_path / "listing_cache.json"
    message = next(line for line in log if line.startswith("Hub unreachable ("))
    assert f"reusing cached listing from {cache} written 20" in message
    assert "ConnectError" in message


def test_offline_mode_reuses_the_cache_without_any_request(hub, tmp_path, monkeypatch):
    listing(hub, tmp_path)
    requests = len(hub.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # set after import: read from the environment too
    log = []
    offline = listing(hub, tmp_path, log=log, max_candidates=2)
    assert len(hub.requests) == requests
    assert any(line.startswith("Hub unreachable (offline mode") for line in log)
    # Config filters still apply to the cached listing.
    assert kept(offline) == KEPT[:2]


def test_unreachable_hub_without_cache_names_base_and_endpoint(hub, tmp_path):
    endpoint = hub.endpoint
    hub.stop()
    with pytest.raises(HubUnavailableError) as error:
        listing(hub, tmp_path)
    assert BASE in str(error.value) and endpoint in str(error.value)
    assert "no cached listing" in str(error.value)


# --- downloads -------------------------------------------------------------------------------


def downloaded(dest) -> set:
    return {p.name for p in dest.iterdir() if not p.name.startswith(".")}


def resolved(hub) -> set:
    return {p.rsplit("/", 1)[-1] for p in hub.paths(method="GET") if "/resolve/" in p}


def test_download_fetches_only_what_is_needed_safetensors_first(hub, tmp_path):
    model_id = "cardiffnlp/twitter-roberta-base-sentiment-latest"
    sha = hub.repos[model_id]["info"]["sha"]
    dest = download_candidate(model_id, sha, tmp_path / "model", api=HfApi(endpoint=hub.endpoint))
    wanted = {
        "config.json",
        "merges.txt",
        "model.safetensors",
        "special_tokens_map.json",
        "tokenizer_config.json",
        "vocab.json",
    }
    assert downloaded(dest) == wanted  # no pytorch_model.bin, tf_model.h5, README.md
    assert resolved(hub) <= wanted
    served = hub.repos[model_id]["files"]["model.safetensors"]
    assert (dest / "model.safetensors").read_bytes() == served
    assert weight_format(dest) == "safetensors" and count_parameters(dest)[1] == 5840


def test_download_pytorch_only_repo(hub, tmp_path):
    model_id = "textattack/roberta-base-SST-2"
    dest = download_candidate(model_id, "main", tmp_path / "m", api=HfApi(endpoint=hub.endpoint))
    assert downloaded(dest) == {
        "config.json",
        "merges.txt",
        "pytorch_model.bin",
        "special_tokens_map.json",
        "tokenizer_config.json",
        "vocab.json",
    }
    assert "training_args.bin" not in resolved(hub) and "flax_model.msgpack" not in resolved(hub)


@pytest.mark.parametrize(
    ("model_id", "token", "message"),
    [
        ("nobody/does-not-exist", None, "repository not found"),
        ("someorg/roberta-base-private", None, "repository not found"),
        ("meta-gated/roberta-base-gated", None, "gated repository"),
        ("meta-gated/roberta-base-gated", TOKEN, "gated repository"),
        ("someorg/roberta-base-no-weights", None, "no usable weights"),
    ],
)
def test_download_errors_name_the_model(hub, tmp_path, monkeypatch, model_id, token, message):
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    with pytest.raises(HubDownloadError, match=message) as error:
        download_candidate(model_id, "main", tmp_path / "m", api=HfApi(endpoint=hub.endpoint))
    assert f"'{model_id}'" in str(error.value)


def test_gated_download_works_once_access_is_granted(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.authorized_tokens.add(TOKEN)
    model_id = "meta-gated/roberta-base-gated"
    dest = download_candidate(model_id, "main", tmp_path / "m", api=HfApi(endpoint=hub.endpoint))
    assert "model.safetensors" in downloaded(dest)


# --- the token -------------------------------------------------------------------------------


def test_token_never_leaks(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    log = []
    candidates = listing(hub, tmp_path, log=log)
    write_candidates(tmp_path / "candidates.tsv", candidates)
    model_id = "deepset/roberta-base-squad2"
    dest = download_candidate(model_id, "main", tmp_path / "m", api=HfApi(endpoint=hub.endpoint))
    hub.stop()
    listing(hub, tmp_path, log=log)  # the offline path logs too
    assert TOKEN not in "\n".join(log)
    assert TOKEN not in (tmp_path / "listing_cache.json").read_text()
    assert TOKEN not in (tmp_path / "candidates.tsv").read_text()
    for path in dest.rglob("*"):
        assert not path.is_file() or TOKEN.encode() not in path.read_bytes(), path
    # It was used with the Hub, and dropped on the redirect to the CDN (another origin).
    assert {r["authorization"] for r in hub.requests if r["role"] == "hub"} == {f"Bearer {TOKEN}"}
    assert {r["authorization"] for r in hub.requests if r["role"] == "cdn"} == {None}
