"""The extra proxies (LogME, H-score, kNN) on a real tiny BERT's probe features: recorded in the
probe record, computed with no extra forward pass, non-finite values recorded as null."""

import json
import math

import torch

from model_recycling.models.loading import load_encoder, load_tokenizer
from model_recycling.probing.job import probe_candidate
from model_recycling.probing.probe import extract_features, run_probe
from model_recycling.probing.proxies import PROXIES, feature_proxies
from model_recycling.settings import with_defaults
from model_recycling.tasks.prepare import load_prepared

SETTINGS = with_defaults(
    {"max_length": 48, "batch_size": 64, "pooling": "mean", "l2": 1e-3, "max_iter": 50}, "probe"
)
CPU = torch.device("cpu")


def count_forward_passes(model) -> list:
    """Counts calls of the model and of its input embeddings (every pass goes through them,
    also one that calls a submodule directly)."""
    calls = []
    model.register_forward_hook(lambda *args: calls.append("model"))
    model.get_input_embeddings().register_forward_hook(lambda *args: calls.append("embeddings"))
    return calls


def test_extra_proxies_add_no_forward_pass(tiny_zoo):
    tokenizer = load_tokenizer(tiny_zoo / "base")
    task = load_prepared(tiny_zoo / "prepared/demo_nli")
    kwargs = {k: SETTINGS[k] for k in ("max_length", "batch_size", "pooling", "batch_tokens")}

    # The linear probe alone needs the features of both splits: one pass over each.
    alone = load_encoder(tiny_zoo / "base", CPU)
    calls_alone = count_forward_passes(alone)
    extract_features(alone, tokenizer, task.train, device=CPU, **kwargs)
    extract_features(alone, tokenizer, task.eval, device=CPU, **kwargs)

    encoder = load_encoder(tiny_zoo / "base", CPU)
    calls = count_forward_passes(encoder)
    result = run_probe(encoder, tokenizer, task, SETTINGS, CPU)

    batches = math.ceil(len(task.train) / 64) + math.ceil(len(task.eval) / 64)
    assert calls_alone.count("model") == calls_alone.count("embeddings") == batches
    assert calls == calls_alone
    assert set(result["proxies"]) == set(PROXIES)
    assert result["proxies"]["linear_probe"] == result["score"]
    assert all(isinstance(result["proxies"][name], float) for name in PROXIES)
    assert result["proxy_notes"] == {}


def test_proxies_are_the_estimators_values_on_the_training_features(tiny_zoo, tmp_path):
    from transformer_ranker.estimators import HScore, LogME, NearestNeighbors

    record = probe_candidate(
        "base", tiny_zoo / "base", "r", tiny_zoo / "prepared/demo_nli",
        SETTINGS, tmp_path / "p.json",
    )  # fmt: skip
    assert record["status"] == "ok"
    assert json.loads((tmp_path / "p.json").read_text())["proxies"] == record["proxies"]
    tokenizer = load_tokenizer(tiny_zoo / "base")
    task = load_prepared(tiny_zoo / "prepared/demo_nli")
    features = extract_features(
        load_encoder(tiny_zoo / "base", CPU), tokenizer, task.train, 48, 64, CPU, "mean",
        SETTINGS["batch_tokens"],
    )  # fmt: skip
    labels = torch.tensor([ex["label"] for ex in task.train])
    expected = {
        "logme": LogME().fit(embeddings=features, labels=labels),
        "hscore": HScore().fit(embeddings=features, labels=labels),
        "knn": NearestNeighbors().fit(embeddings=features, labels=labels),
    }
    for name, value in expected.items():
        assert record["proxies"][name] == value, name
    assert 0 <= record["proxies"]["knn"] <= 1


def test_non_finite_proxies_are_null_with_a_note_and_fail_nothing(tiny_zoo, tmp_path):
    """A backbone whose last layer outputs zeros: constant features. The linear probe still
    scores (the majority class); LogME and H-score are not numbers there."""
    from tests.support.records import copy_model

    def zero_last_layer(weights):
        for part in ("weight", "bias"):
            weights[f"bert.encoder.layer.0.output.LayerNorm.{part}"].zero_()

    flat = copy_model(tiny_zoo / "base", tmp_path / "flat", edit_weights=zero_last_layer)
    record = probe_candidate(
        "flat", flat, "r", tiny_zoo / "prepared/demo_nli", SETTINGS, tmp_path / "p.json"
    )
    assert record["status"] == "ok" and 0 < record["score"] < 1
    assert record["proxies"]["logme"] is None and record["proxies"]["hscore"] is None
    assert "not a finite number" in record["proxy_notes"]["logme"]
    assert record["proxy_notes"]["hscore"]
    saved = json.loads((tmp_path / "p.json").read_text())  # written: no NaN in the JSON
    assert saved["proxies"]["logme"] is None and saved["proxies"]["linear_probe"] == saved["score"]


def test_feature_proxies_separate_informative_from_noise_features():
    """Features that carry the label score higher on every proxy than pure noise."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(300) % 3
    noise = torch.randn(300, 16, generator=generator)
    informative = noise.clone()
    informative[:, :3] += 3 * torch.nn.functional.one_hot(labels, 3)
    good, notes_good = feature_proxies(informative, labels)
    bad, notes_bad = feature_proxies(noise, labels)
    assert notes_good == notes_bad == {}
    for name in ("logme", "hscore", "knn"):
        assert good[name] > bad[name], name
    assert good["knn"] > 0.9 and bad["knn"] < 0.5
