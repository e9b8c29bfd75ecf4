"""The Hub source through the real HfApi client, against the local stand-in in hub_server.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict

import pytest
from huggingface_hub import HfApi

from model_recycling.fetching.download import HubDownloadError, download_candidate
from model_recycling.listing.candidates import Candidate, write_candidates
from model_recycling.listing.hub import HubUnavailableError, list_hub_candidates
from model_recycling.models.files import count_parameters, weight_format
from tests.support.common import REPO
from tests.support.hub import TOKEN
from tests.support.hub_server import FIXTURES, POSITIONS, weight_bytes

BASE = "FacebookAI/roberta-base"
HUB = {"type": "hub"}
KEPT = [
    "cardiffnlp/twitter-roberta-base-sentiment-latest",
    "deepset/roberta-base-squad2",
    "SamLowe/roberta-base-go_emotions",
    "someorg/roberta-base-old",
]
PICKLE_ONLY = "textattack/roberta-base-SST-2"  # kept only with allow_pickle
pytestmark = pytest.mark.usefixtures("isolated_hub_settings")


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
        "distilbert/distilroberta-base": "pickle weights only",  # num_layers: see below
        "someorg/bert-labeled-as-roberta-finetune": "architecture: model_type bert != base roberta",
        "someorg/roberta-base-extended-vocab": "architecture: vocab_size 72 != base 64",
        "someorg/roberta-base-wide-ffn": "architecture: backbone parameters 6104 != base 5840",
        "someorg/roberta-custom-code": "needs custom code (auto_map",
        "meta-gated/roberta-base-gated": "gated repository",
        "someorg/roberta-base-private": "private repository",
        "someorg/roberta-base-disabled": "disabled repository",
        "someorg/roberta-base-no-weights": "no usable weights",
        "someuser/roberta-base-squad2-copy": "duplicate of deepset/roberta-base-squad2",
        PICKLE_ONLY: "pickle weights only (pytorch_model*.bin)",
    }
    assert set(reasons) == set(expected)
    for model_id, reason in expected.items():
        assert reason in reasons[model_id], model_id
    # Found only through include: never listed without it.
    assert "someorg/roberta-base-include-me" not in by_id(candidates)


def test_kept_candidates_carry_hub_facts(hub, tmp_path):
    candidates = by_id(listing(hub, tmp_path, allow_pickle=True))
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
    sst2 = candidates[PICKLE_ONLY]
    assert sst2.status == "ok" and sst2.weight_format == "pytorch"
    assert sst2.backbone_parameters is None
    distil = candidates["distilbert/distilroberta-base"]
    assert distil.reason == "architecture: num_layers 1 != base 2"
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
    api = HfApi(endpoint=hub.endpoint)
    with pytest.raises(HubDownloadError, match="pickle weights only"):
        download_candidate(model_id, "main", tmp_path / "refused", api=api)
    assert not any(p.endswith(".bin") for p in resolved(hub))
    dest = download_candidate(model_id, "main", tmp_path / "m", api=api, allow_pickle=True)
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


# --- hostile repositories, size caps, architecture keys -------------

ROBERTA_TAGS = ["transformers", "roberta", f"base_model:finetune:{BASE}"]


def safetensors_bytes(header) -> bytes:
    """A safetensors file whose JSON header is `header` (hostile ones included), no data."""
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw


def roberta_files(hub, config=None, weights=None) -> dict:
    """A roberta finetune's files: the base's config and weights unless given."""
    base = hub.repos[BASE]["files"]
    return {
        "config.json": base["config.json"] if config is None else config,
        "model.safetensors": weights if weights is not None else seeded_weights(7),
        "vocab.json": b"{}",
    }


def seeded_weights(seed: int) -> bytes:
    spec = {"head": "classifier", "hidden": 16, "intermediate": 32, "layers": 2}
    return weight_bytes(
        "model.safetensors", {**spec, "prefix": "roberta", "seed": seed, "vocab": 64}
    )


def fetched(hub, model_id) -> list:
    """Every file request made for the model (resolve, or the safetensors header's range)."""
    return [p for p in hub.paths() if p.startswith(f"/{model_id}/resolve/")]


def test_hostile_repositories_are_excluded_one_by_one(hub, tmp_path):
    base_config = json.loads(hub.repos[BASE]["files"]["config.json"])
    hostile = {
        "evil/nested-config": (b"[" * 100_000 + b"]" * 100_000, None, "not valid JSON"),
        "evil/list-config": (b"[1, 2]", None, "holds a JSON list, not an object"),
        "evil/string-layers": (
            json.dumps({**base_config, "num_hidden_layers": "2"}).encode(),
            None,
            "num_hidden_layers is '2', not a positive integer",
        ),
        "evil/header-not-tensors": (None, safetensors_bytes({"x": 5}), "not usable: "),
        "evil/header-a-list": (None, safetensors_bytes([1, 2]), "not usable: "),
        "evil/base-copy": (None, hub.repos[BASE]["files"]["model.safetensors"], "base model"),
    }
    for model_id, (config, weights, _) in hostile.items():
        info = {"config": {"model_type": "roberta"}}
        hub.add_repo(model_id, roberta_files(hub, config, weights), ROBERTA_TAGS, **info)
    hub.add_repo("good/finetune", roberta_files(hub), ROBERTA_TAGS, downloads=1)
    candidates = by_id(listing(hub, tmp_path))
    for model_id, (_, _, reason) in hostile.items():
        assert candidates[model_id].status == "excluded", model_id
        assert reason in candidates[model_id].reason, (model_id, candidates[model_id].reason)
        assert "\n" not in candidates[model_id].reason
    assert candidates["evil/base-copy"].reason == (
        "the base model itself (identical weight files, sha256)"
    )
    # Every other model is decided as before.
    assert kept(candidates.values()) == [*KEPT, "good/finetune"]


def test_size_caps_exclude_before_any_file_is_fetched(hub, tmp_path):
    big_config = {**json.loads(hub.repos[BASE]["files"]["config.json"]), "pad": "x" * 4000}
    hub.add_repo("big/config", roberta_files(hub, json.dumps(big_config).encode()), ROBERTA_TAGS)
    files = {**roberta_files(hub), "tokenizer.json": b" " * 4000}
    hub.add_repo("big/tokenizer", files, ROBERTA_TAGS)
    # The base's weights in float32 are ~25 KB: 3 MB is beyond any head or precision. Zeros:
    # no header the Hub could count parameters from, so only the file size tells.
    hub.add_repo("big/weights", roberta_files(hub, weights=bytes(3 << 20)), ROBERTA_TAGS)
    candidates = by_id(listing(hub, tmp_path, max_file_mb=0.002))  # 2 KB
    assert candidates["big/config"].reason == "config.json is 0.00423 MB, above max_file_mb 0.002"
    assert (
        candidates["big/tokenizer"].reason
        == "tokenizer.json is 0.00381 MB, above max_file_mb 0.002"
    )
    assert candidates["big/weights"].reason.startswith("weights are 3 MB, above the 1.03 MB")
    for model_id in ("big/config", "big/tokenizer", "big/weights"):
        assert fetched(hub, model_id) == [], model_id
    # Pickle-only: excluded from the file names alone, nothing fetched.
    assert fetched(hub, PICKLE_ONLY) == []
    assert kept(candidates.values()) == KEPT


def test_an_integer_buffer_is_not_a_parameter(hub, tmp_path):
    """transformers 4.x saved BERT-like models with an int64 `embeddings.position_ids` buffer;
    the Hub's header metadata counts it, the listing does not (only floating-point tensors are
    parameters): a finetune saved with it matches a base saved without, and the other way round."""
    spec = json.loads((FIXTURES / "weights.json").read_text())[BASE]["model.safetensors"]
    old = {**spec, "head": "classifier", "seed": 8, "position_ids": True}
    old_weights = weight_bytes("model.safetensors", old)
    hub.add_repo("old/finetune", roberta_files(hub, weights=old_weights), ROBERTA_TAGS, downloads=1)
    assert hub.repos["old/finetune"]["info"]["safetensors"]["parameters"]["I64"] == POSITIONS
    rows = by_id(listing(hub, tmp_path / "buffer-in-candidate"))
    assert rows["old/finetune"].status == "ok", rows["old/finetune"].reason
    assert rows["old/finetune"].backbone_parameters == rows[BASE].backbone_parameters == 5840
    hub.set_file(
        BASE, "model.safetensors", weight_bytes("model.safetensors", {**spec, "position_ids": True})
    )
    rows = by_id(listing(hub, tmp_path / "buffer-in-base"))
    assert rows[BASE].backbone_parameters == 5840
    assert kept(rows.values()) == [*KEPT, "old/finetune"]


def t5_config(**keys) -> bytes:
    config = {"model_type": "t5", "d_model": 16, "num_layers": 2, "vocab_size": 64, "d_ff": 32}
    return json.dumps({**config, **keys}).encode()


def test_t5_v1_1_and_t5_pools_are_not_mixed(hub, tmp_path):
    """Same backbone parameter count (same weight shapes), different feed-forward and output
    layer: only the architecture keys tell them apart."""
    v1_1 = {"feed_forward_proj": "gated-gelu", "tie_word_embeddings": False}
    t5_tags = ["transformers", "t5"]
    for model_id, config, seed in (
        ("google-t5/t5-base", t5_config(), 1),
        ("google/t5-v1_1-base", t5_config(**v1_1), 2),
        ("someorg/t5-base-finetune", t5_config(feed_forward_proj="relu"), 3),
        ("google/flan-t5-base", t5_config(**v1_1), 4),
        ("someorg/t5-wider-ffn-key", t5_config(d_ff=64), 5),
    ):
        files = {"config.json": config, "model.safetensors": seeded_weights(seed)}
        hub.add_repo(model_id, files, t5_tags, config={"model_type": "t5"})
    api = HfApi(endpoint=hub.endpoint)
    t5 = by_id(list_hub_candidates("google-t5/t5-base", None, HUB, tmp_path / "a", api=api))
    assert t5["someorg/t5-base-finetune"].status == "ok"  # "relu" written out = the default
    assert t5["google/flan-t5-base"].reason == (
        "architecture: feed_forward_proj gated-gelu != base relu"
    )
    assert t5["someorg/t5-wider-ffn-key"].reason == "architecture: d_ff 64 != base 32"
    assert t5["someorg/t5-base-finetune"].architecture["tie_word_embeddings"] is True
    v1 = by_id(list_hub_candidates("google/t5-v1_1-base", None, HUB, tmp_path / "b", api=api))
    assert v1["google/flan-t5-base"].status == "ok"
    assert v1["someorg/t5-base-finetune"].reason == (
        "architecture: feed_forward_proj relu != base gated-gelu"
    )


def test_a_base_that_cannot_be_described_stops_the_listing_naming_it(hub, tmp_path):
    hub.set_file(BASE, "config.json", b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ValueError, match=f"base model '{BASE}'.*not valid JSON"):
        listing(hub, tmp_path)


def test_base_revision_given_as_a_branch_is_pinned_to_its_commit(hub, tmp_path):
    api = HfApi(endpoint=hub.endpoint)
    rows = by_id(list_hub_candidates(BASE, "main", HUB, tmp_path / "c.json", api=api))
    assert rows[BASE].revision == hub.repos[BASE]["info"]["sha"]


def test_download_script_uses_the_configured_endpoint(hub, tmp_path):
    model_id = "deepset/roberta-base-squad2"
    sha = hub.repos[model_id]["info"]["sha"]
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(REPO),
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_TOKEN_PATH": str(tmp_path / "no-token"),
    }
    command = [sys.executable, str(REPO / "scripts/download_model.py"), "--model-id", model_id]
    command += ["--revision", sha, "--out", str(tmp_path / "m"), "--endpoint", hub.endpoint]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "model.safetensors" in downloaded(tmp_path / "m")
    assert any(path.startswith(f"/{model_id}/resolve/{sha}/") for path in hub.paths())


def test_a_revision_that_is_not_a_commit_sha_is_excluded(hub, tmp_path):
    """The revision names folders (results/fetching/<model>/<revision>): a model whose revision
    is not a commit sha is excluded, never used, whatever a mirror answers for it."""
    for model_id, sha in {"evil/dotdot": "../..", "evil/branch": "main"}.items():
        hub.add_repo(model_id, roberta_files(hub), ROBERTA_TAGS, sha=sha)
    candidates = by_id(listing(hub, tmp_path))
    assert all(candidates[m].status == "excluded" for m in ("evil/dotdot", "evil/branch"))
    assert kept(candidates.values()) == KEPT
    # A mirror that does answer for such a revision: the files' check refuses it by itself.
    from model_recycling.listing.hub_rules import files_reason

    for sha in ("../..", "main", ""):
        row = Candidate("evil/mirror", sha, "hub")
        assert files_reason(row, {"sha": sha}, {}, 0.0).startswith("not usable: the Hub gave no")


def test_a_pickle_only_candidate_is_listed_through_its_safetensors_conversion(hub, tmp_path):
    """The Hub's conversion bot opened a pull request adding model.safetensors: the listing pins
    that commit (main's pickle unchanged there), and the download takes the safetensors."""
    main_sha = hub.repos[PICKLE_ONLY]["info"]["sha"]
    hub.add_conversion(PICKLE_ONLY, author="someone-else")  # not the bot: never trusted
    ref = hub.add_conversion(PICKLE_ONLY)
    converted = hub.repos[PICKLE_ONLY]["revisions"][ref]["info"]["sha"]
    candidate = by_id(listing(hub, tmp_path))[PICKLE_ONLY]
    assert candidate.status == "ok", candidate.reason
    assert candidate.revision == converted != main_sha
    assert candidate.weight_format == "safetensors (conversion refs/pr/2)"
    assert candidate.backbone_parameters == 5840  # read from the conversion's header
    api = HfApi(endpoint=hub.endpoint)
    dest = download_candidate(PICKLE_ONLY, candidate.revision, tmp_path / "m", api=api)
    assert weight_format(dest) == "safetensors" and "pytorch_model.bin" not in downloaded(dest)
    assert count_parameters(dest)[1] == 5840


def test_a_conversion_whose_pickle_differs_from_main_is_not_used(hub, tmp_path):
    ref = hub.add_conversion(PICKLE_ONLY)
    state = hub.repos[PICKLE_ONLY]["revisions"][ref]
    state["files"]["pytorch_model.bin"] += b"changed since"  # main moved on after the conversion
    from tests.support.hub_server import _with_content_fields

    state["info"] = _with_content_fields(state["info"], state["files"])
    candidate = by_id(listing(hub, tmp_path))[PICKLE_ONLY]
    assert candidate.status == "excluded" and "pickle weights only" in candidate.reason
