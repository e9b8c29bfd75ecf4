"""The training loop and the probe on a real tiny BERT (CPU)."""

import re

import pytest
import torch

from model_recycling.finetuning.cell import finetune_cell
from model_recycling.finetuning.train import Hyperparameters, finetune
from model_recycling.metrics import NonFiniteError
from model_recycling.models.devices import (
    autocast_dtype,
    choose_device,
    grad_scaler,
    loader_settings,
    seed_everything,
)
from model_recycling.models.loading import load_classifier, load_for_task, load_tokenizer
from model_recycling.probing.job import probe_candidate
from model_recycling.settings import with_defaults
from model_recycling.tasks.prepare import load_prepared

HP = Hyperparameters.from_config(
    dict(
        epochs=8, learning_rate=1e-2, batch_size=16, eval_every_steps=12, patience=50, max_length=48
    )
)


def train_once(zoo, task="demo_topic", seed=0, hp=HP):
    seed_everything(seed)
    tokenizer = load_tokenizer(zoo / "base")
    data = load_prepared(zoo / "prepared" / task)
    model = load_classifier(zoo / "base", data.num_labels, data.is_regression, torch.device("cpu"))
    return finetune(model, tokenizer, data, hp, seed, torch.device("cpu"))


def test_same_seed_same_numbers(tiny_zoo):
    a, b = train_once(tiny_zoo), train_once(tiny_zoo)
    assert a["score"] == b["score"] and a["dev_score"] == b["dev_score"]
    assert a["history"] == b["history"]


def test_learns_beyond_chance_and_counts_are_consistent(tiny_zoo):
    result = train_once(tiny_zoo)
    assert result["n_eval"] == 80 and result["score"] == result["n_correct"] / 80
    assert result["score"] > 0.5  # 5 classes: chance is 0.2
    assert result["steps"] == 8 * 12  # 8 epochs of ceil(180 / 16) batches


def test_early_stopping_stops(tiny_zoo):
    hp = Hyperparameters.from_config(
        dict(
            epochs=50,
            learning_rate=2e-3,
            batch_size=16,
            eval_every_steps=2,
            patience=2,
            min_delta=0.5,
            max_length=48,
        )
    )
    result = train_once(tiny_zoo, hp=hp)
    assert result["stopped_early"] and result["steps"] < 50 * 12


def test_regression_scored_by_spearman(tiny_zoo):
    result = train_once(tiny_zoo, task="demo_similarity")
    assert result["metric"] == "spearman" and result["n_correct"] is None
    assert -1 <= result["score"] <= 1


def test_cell_and_probe_records_say_what_made_them(tiny_zoo, tmp_path):
    settings = {**HP.as_dict(), "device": "cpu"}
    cell = finetune_cell(
        "arch",
        "base",
        "baseline",
        tiny_zoo / "base",
        "auto",
        tiny_zoo / "prepared/demo_topic",
        settings,
        3,
        tmp_path / "c.json",
    )
    assert cell["model_revision"].startswith("content-")
    assert cell["seed"] == 3 and cell["hyperparameters"]["learning_rate"] == 1e-2
    assert cell["task_fingerprint"] and cell["packages"]["torch"] and cell["code_version"]
    assert cell["device"] == "cpu" and cell["dtype"] == "float32"
    probe_settings = {
        "max_length": 48,
        "batch_size": 64,
        "pooling": "mean",
        "l2": 1e-3,
        "max_iter": 50,
    }
    record = probe_candidate(
        "base",
        tiny_zoo / "base",
        "r1",
        tiny_zoo / "prepared/demo_nli",
        probe_settings,
        tmp_path / "p.json",
    )
    assert record["status"] == "ok" and record["n_eval"] == 80
    assert record["score"] == record["n_correct"] / 80


def test_broken_candidate_is_recorded_not_raised(tiny_zoo, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    settings = {"max_length": 48, "batch_size": 64, "pooling": "mean", "l2": 1e-3, "max_iter": 50}
    record = probe_candidate(
        "broken", broken, "r", tiny_zoo / "prepared/demo_nli", settings, tmp_path / "p.json"
    )
    assert record["status"] == "failed" and record["reason"]
    cell = finetune_cell(
        "a",
        "broken",
        "candidate",
        broken,
        "r",
        tiny_zoo / "prepared/demo_topic",
        {**HP.as_dict()},
        0,
        tmp_path / "c.json",
    )
    assert cell["status"] == "failed" and "broken" in cell["reason"]


def test_cpu_device_path():
    device = choose_device("auto")
    if not torch.cuda.is_available():
        assert device.type == "cpu"
        assert autocast_dtype(device) is None
        assert not grad_scaler(device).is_enabled()
        assert loader_settings(device, 4) == {"pin_memory": False, "num_workers": 0}


def test_gradient_accumulation_matches_the_full_batch(tiny_zoo, tmp_path):
    """Same updates whether a batch runs at once or in pieces (dropout off, so both runs draw
    no random numbers inside the model; a modest learning rate, so that rounding differences of
    the summed pieces do not grow chaotically over 96 steps, as they do at 1e-2)."""
    import json
    import shutil

    shutil.copytree(tiny_zoo / "base", tmp_path / "base")
    config = json.loads((tmp_path / "base/config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (tmp_path / "base/config.json").write_text(json.dumps(config))
    (tmp_path / "prepared").symlink_to(tiny_zoo / "prepared")
    hp = Hyperparameters.from_config({**HP.as_dict(), "learning_rate": 2e-3})
    full = train_once(tmp_path, hp=hp)
    pieces = train_once(
        tmp_path, hp=Hyperparameters.from_config({**hp.as_dict(), "micro_batch_size": 5})
    )
    assert pieces["steps"] == full["steps"]
    for a, b in zip(full["history"], pieces["history"], strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-3)
    assert pieces["score"] == pytest.approx(full["score"], abs=0.02)


def test_text_to_text_restricted_choice(tiny_zoo, tmp_path):
    """A tiny T5 learns the label strings; every prediction is one of the allowed labels."""
    from model_recycling.demo import zoo as demo_zoo
    from model_recycling.finetuning.outputs import TextToTextOutput
    from model_recycling.finetuning.train import evaluate
    from model_recycling.models.loading import load_encoder
    from model_recycling.probing.probe import run_probe
    from tests.support.common import TINY_T5

    demo_zoo.build_base(tmp_path / "t5", tiny_zoo / "tasks/lexicon.json", TINY_T5, 30, seed=0)
    tokenizer = load_tokenizer(tmp_path / "t5")
    data = load_prepared(tiny_zoo / "prepared/demo_topic")
    seed_everything(0)
    model = load_for_task(tmp_path / "t5", data, torch.device("cpu"))
    assert model.config.is_encoder_decoder
    result = finetune(model, tokenizer, data, HP, 0, torch.device("cpu"))
    assert result["score"] > 0.5 and result["n_eval"] == 80
    output = TextToTextOutput(data, tokenizer)
    assert output.strings == ["0", "1", "2", "3", "4"]
    from model_recycling.tasks.tokenized import encode

    features = encode(tokenizer, data.eval, 48)
    labels = [ex["label"] for ex in data.eval]
    again = evaluate(
        model, output, features, labels, "accuracy", tokenizer.pad_token_id, 32,
        torch.device("cpu"), HP.eval_batch_tokens,
    )  # fmt: skip
    assert again["score"] == result["score"]
    # regression as text: values on a 0.2 grid, scored by Spearman
    similarity = load_prepared(tiny_zoo / "prepared/demo_similarity")
    grid = TextToTextOutput(similarity, tokenizer)
    assert all(abs(c * 5 - round(c * 5)) < 1e-6 for c in grid.choices)
    # the probe reads the encoder of an encoder-decoder and gives a real score
    probe = run_probe(
        load_encoder(tmp_path / "t5", torch.device("cpu")),
        tokenizer,
        load_prepared(tiny_zoo / "prepared/demo_nli"),
        with_defaults({"max_length": 48, "batch_size": 64, "max_iter": 50}, "probe"),
        torch.device("cpu"),
    )
    assert 0 < probe["score"] <= 1 and probe["n_eval"] == 80


# ---------------------------------------------------------------- nothing non-finite is a score
def nan_backbone(weights):
    weights["bert.encoder.layer.0.output.dense.weight"][0, 0] = float("nan")


def test_nan_weights_fail_the_cell_and_the_probe_naming_why(tiny_zoo, tmp_path):
    from tests.support.records import copy_model

    broken = copy_model(tiny_zoo / "base", tmp_path / "nan", edit_weights=nan_backbone)
    cell = finetune_cell(
        "a", "nan", "candidate", broken, "r", tiny_zoo / "prepared/demo_topic",
        {**HP.as_dict(), "device": "cpu"}, 0, tmp_path / "c.json",
    )  # fmt: skip
    assert cell["status"] == "failed" and cell["score"] is None
    assert cell["reason"] == "NonFiniteError: non-finite training loss at step 1"
    settings = {"max_length": 48, "batch_size": 64, "pooling": "mean", "l2": 1e-3, "max_iter": 50}
    probe = probe_candidate(
        "nan", broken, "r", tiny_zoo / "prepared/demo_nli", settings, tmp_path / "p.json"
    )
    assert probe["status"] == "failed" and probe["score"] is None
    assert re.fullmatch(  # every feature of every example
        r"NonFiniteError: non-finite probe features of the training split: (\d+) of \1 values",
        probe["reason"],
    )


def test_diverging_training_fails_at_the_step_it_diverges(tiny_zoo):
    hp = Hyperparameters.from_config({**HP.as_dict(), "learning_rate": 1e30})
    with pytest.raises(NonFiniteError, match=r"^non-finite training loss at step 2$"):
        train_once(tiny_zoo, hp=hp)


def test_losses_are_read_in_one_go_and_the_first_non_finite_step_is_named():
    from model_recycling.finetuning.train import Losses

    losses = Losses()
    for value in (0.5, 0.25):
        losses.add(torch.tensor(value))
    assert losses.latest() == 0.25 and losses.pending == []
    assert losses.latest() == 0.25  # nothing new: the last value again
    for value in (0.125, float("inf"), float("nan")):
        losses.add(torch.tensor(value))
    with pytest.raises(NonFiniteError, match=r"^non-finite training loss at step 4$"):
        losses.latest()


def test_a_divergence_between_reads_is_named_at_its_step(tiny_zoo, monkeypatch):
    """Losses are read at dev evaluations and progress lines only: a loss that turns non-finite
    between two reads still fails the run naming the step where it did."""
    from model_recycling import progress
    from model_recycling.finetuning import train

    monkeypatch.setattr(progress.Progress, "step", lambda self, examples, extra="": None)
    real_step = train.Optimization.train_step

    def nan_at_step_5(self, *args):
        self.calls = getattr(self, "calls", 0) + 1
        loss = real_step(self, *args)
        return loss * float("nan") if self.calls == 5 else loss

    monkeypatch.setattr(train.Optimization, "train_step", nan_at_step_5)
    with pytest.raises(NonFiniteError, match=r"^non-finite training loss at step 5$"):
        train_once(tiny_zoo)  # the first read: the dev evaluation at step 12


def test_non_finite_regression_outputs_are_no_score(tiny_zoo, tmp_path):
    from model_recycling.finetuning.outputs import ClassifierOutput
    from model_recycling.finetuning.train import evaluate
    from model_recycling.tasks.tokenized import encode
    from tests.support.records import copy_model

    broken = copy_model(tiny_zoo / "base", tmp_path / "nan", edit_weights=nan_backbone)
    data = load_prepared(tiny_zoo / "prepared/demo_similarity")
    model = load_classifier(broken, 1, True, torch.device("cpu"))
    tokenizer = load_tokenizer(broken)
    features, labels = encode(tokenizer, data.eval, 48), [ex["label"] for ex in data.eval]
    with pytest.raises(NonFiniteError, match="^non-finite model outputs: 32 of 32 values$"):
        evaluate(
            model, ClassifierOutput(data, tokenizer), features, labels, "spearman",
            tokenizer.pad_token_id, 32, torch.device("cpu"), HP.eval_batch_tokens,
        )  # fmt: skip
