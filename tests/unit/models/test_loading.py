"""Loading candidates: a fresh head whatever the checkpoint holds, float32 master weights whatever
its config says, and strict loading of everything else (real tiny models, CPU)."""

import re
import shutil

import pytest
import torch
from safetensors.torch import load_file

from model_recycling.finetuning.cell import finetune_cell
from model_recycling.finetuning.train import Hyperparameters
from model_recycling.models.files import ModelLoadError
from model_recycling.models.loading import (
    load_classifier,
    load_encoder,
    load_for_task,
    load_seq2seq,
)
from model_recycling.probing.job import probe_candidate
from model_recycling.tasks.prepare import load_prepared
from tests.support.records import copy_model

CPU = torch.device("cpu")
HP = Hyperparameters.from_config(
    dict(
        epochs=2, learning_rate=1e-2, batch_size=16, eval_every_steps=12, patience=50, max_length=48
    )
)
PROBE = {"max_length": 48, "batch_size": 64, "pooling": "mean", "l2": 1e-3, "max_iter": 50}


def saved_classifier(zoo, target, num_labels):
    """The base saved with its own classification head, as finetuned models are on the Hub."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(zoo / "base", num_labels=num_labels)
    torch.manual_seed(1234)
    model = AutoModelForSequenceClassification.from_config(config)
    model.save_pretrained(target)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(zoo / "base" / name, target / name)
    return target


def fresh_classifier(model_dir, num_labels, seed):
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(model_dir, num_labels=num_labels)
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(config)


def test_head_is_fresh_even_when_the_checkpoint_head_fits(tiny_zoo, tmp_path):
    task = load_prepared(tiny_zoo / "prepared/demo_topic")
    checkpoint = saved_classifier(tiny_zoo, tmp_path / "topic-classifier", task.num_labels)
    saved = load_file(checkpoint / "model.safetensors")
    assert saved["classifier.weight"].shape == (task.num_labels, 32)  # the head fits the task

    torch.manual_seed(7)
    model = load_classifier(checkpoint, task.num_labels, False, CPU)
    fresh = fresh_classifier(checkpoint, task.num_labels, seed=7)
    for name in ("classifier.weight", "classifier.bias"):
        assert torch.equal(model.state_dict()[name], fresh.state_dict()[name])
    assert not torch.equal(model.classifier.weight, saved["classifier.weight"])
    # the backbone, pooler included, is the checkpoint's
    for name, tensor in model.bert.state_dict().items():
        assert torch.equal(tensor, saved[f"bert.{name}"]), name
    # another seed, another head
    torch.manual_seed(8)
    other = load_classifier(checkpoint, task.num_labels, False, CPU)
    assert not torch.equal(other.classifier.weight, model.classifier.weight)


def test_masked_lm_base_gets_a_fresh_pooler_and_its_own_encoder(tiny_zoo):
    """The demo's base has no pooler (saved as a masked LM): the pooler is new, like the head."""
    saved = load_file(tiny_zoo / "base/model.safetensors")
    assert not any("pooler" in name for name in saved)
    torch.manual_seed(3)
    model = load_classifier(tiny_zoo / "base", 3, False, CPU)
    fresh = fresh_classifier(tiny_zoo / "base", 3, seed=3)
    assert torch.equal(model.bert.pooler.dense.weight, fresh.bert.pooler.dense.weight)
    for name, tensor in model.bert.state_dict().items():
        if not name.startswith("pooler."):
            assert torch.equal(tensor, saved[f"bert.{name}"]), name
    encoder = load_encoder(tiny_zoo / "base", CPU)
    words = encoder.embeddings.word_embeddings.weight
    assert torch.equal(words, model.bert.embeddings.word_embeddings.weight)


def half_precision_config(config):
    config.update(dtype="float16", torch_dtype="float16")


def test_float16_config_loads_float32_and_scores_the_same(tiny_zoo, tmp_path):
    """Only the config line differs: same probe and finetune scores, float32 parameters."""
    half = copy_model(tiny_zoo / "base", tmp_path / "half", edit_config=half_precision_config)
    task = load_prepared(tiny_zoo / "prepared/demo_topic")
    for model in (
        load_encoder(half, CPU),
        load_classifier(half, task.num_labels, False, CPU),
        load_for_task(half, task, CPU),
    ):
        assert {p.dtype for p in model.parameters()} == {torch.float32}

    scores = {}
    for name, model_dir in (("fp32", tiny_zoo / "base"), ("fp16 config", half)):
        probe = probe_candidate(
            name, model_dir, "r", tiny_zoo / "prepared/demo_nli", PROBE, tmp_path / f"{name}.p"
        )
        cell = finetune_cell(
            "a", name, "candidate", model_dir, "r", tiny_zoo / "prepared/demo_topic",
            {**HP.as_dict(), "device": "cpu"}, 0, tmp_path / f"{name}.c",
        )  # fmt: skip
        assert probe["status"] == "ok" and cell["status"] == "ok", (probe, cell)
        assert cell["dtype"] == "float32"
        scores[name] = (probe["score"], cell["score"], cell["dev_score"])
    assert scores["fp16 config"] == scores["fp32"]


def test_float16_config_of_a_text_to_text_model_loads_float32(tiny_zoo, tmp_path):
    from model_recycling.demo import zoo as demo_zoo
    from tests.support.common import TINY_T5

    demo_zoo.build_base(tmp_path / "t5", tiny_zoo / "tasks/lexicon.json", TINY_T5, 2, seed=0)
    half = copy_model(tmp_path / "t5", tmp_path / "t5-half", edit_config=half_precision_config)
    for model in (load_seq2seq(half, CPU), load_encoder(half, CPU)):
        assert {p.dtype for p in model.parameters()} == {torch.float32}


# ---------------------------------------------------------------- strict loading
def reshape_intermediate(weights):
    weights["bert.encoder.layer.0.intermediate.dense.weight"] = torch.zeros(60, 32)


def drop_attention(weights):
    for name in [n for n in weights if "layer.0.attention" in n]:
        del weights[name]  # 8 tensors: query, key, value, output dense (weight, bias), LayerNorm


def add_layer(weights):
    weights["bert.encoder.layer.1.output.dense.weight"] = torch.zeros(32, 64)


BROKEN_BACKBONES = {
    "reshaped": (reshape_intermediate, r"encoder\.layer\.0\.intermediate\.dense\.weight has shape"),
    "missing": (drop_attention, r"missing encoder\.layer\.0\.attention\.\S+; .*; and \d+ more"),
    "extra": (add_layer, r"unexpected bert\.encoder\.layer\.1\.output\.dense\.weight"),
}


@pytest.mark.parametrize("defect", sorted(BROKEN_BACKBONES))
def test_broken_backbone_fails_the_candidate_naming_the_keys(tiny_zoo, tmp_path, defect):
    edit, reason = BROKEN_BACKBONES[defect]
    broken = copy_model(tiny_zoo / "base", tmp_path / defect, edit_weights=edit)
    with pytest.raises(ModelLoadError, match=reason):
        load_encoder(broken, CPU)
    with pytest.raises(ModelLoadError, match=reason):
        load_classifier(broken, 3, False, CPU)
    probe = probe_candidate(
        defect, broken, "r", tiny_zoo / "prepared/demo_nli", PROBE, tmp_path / "p.json"
    )
    assert probe["status"] == "failed"
    assert probe["reason"].startswith("ModelLoadError") and re.search(reason, probe["reason"])


def test_a_broken_baseline_seed_is_recorded_naming_the_model_and_key(tiny_zoo, tmp_path, capsys):
    broken = copy_model(tiny_zoo / "base", tmp_path / "base", edit_weights=reshape_intermediate)
    args = (broken, "r", tiny_zoo / "prepared/demo_topic", {**HP.as_dict(), "device": "cpu"}, 0)
    cell = finetune_cell("a", "org/candidate", "candidate", *args, tmp_path / "c.json")
    assert cell["status"] == "failed" and "intermediate.dense.weight" in cell["reason"]
    baseline = finetune_cell("a", "org/base", "baseline", *args, tmp_path / "b.json")
    assert baseline["status"] == "failed" and "intermediate.dense.weight" in baseline["reason"]
    said = capsys.readouterr().err
    assert re.search(
        r"baseline org/base \(a\), task demo_topic, seed 0 failed: .*intermediate", said
    )


def test_broken_text_to_text_model_fails_naming_the_key(tiny_zoo, tmp_path):
    from model_recycling.demo import zoo as demo_zoo
    from tests.support.common import TINY_T5

    demo_zoo.build_base(tmp_path / "t5", tiny_zoo / "tasks/lexicon.json", TINY_T5, 2, seed=0)

    def drop_decoder_norm(weights):
        del weights["decoder.final_layer_norm.weight"]

    broken = copy_model(tmp_path / "t5", tmp_path / "broken", edit_weights=drop_decoder_norm)
    with pytest.raises(ModelLoadError, match=r"missing decoder\.final_layer_norm\.weight"):
        load_seq2seq(broken, CPU)


def test_tokenizer_larger_than_the_embeddings_fails_the_candidate(tiny_zoo, tmp_path):
    """Token ids past the embedding matrix would crash the job (a device-side assert on GPUs)."""
    from transformers import AutoTokenizer

    big = copy_model(tiny_zoo / "base", tmp_path / "big-tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(big)
    tokenizer.add_tokens([f"newword{i}" for i in range(200)])
    tokenizer.save_pretrained(big)
    reason = r"tokenizer has \d+ tokens but the embedding matrix only \d+ rows"
    probe = probe_candidate("big", big, "r", tiny_zoo / "prepared/demo_nli", PROBE, tmp_path / "p")
    assert probe["status"] == "failed" and re.search(reason, probe["reason"])
    args = (big, "r", tiny_zoo / "prepared/demo_topic", {**HP.as_dict(), "device": "cpu"}, 0)
    cell = finetune_cell("a", "big", "candidate", *args, tmp_path / "c.json")
    assert cell["status"] == "failed" and re.search(reason, cell["reason"])


# ---------------------------------------------------------------- buffers of older checkpoints
def add_old_buffers(weights):
    """What transformers 4.x saved besides BERT's weights: integer position and token type ids
    (all-MiniLM-L6-v2 holds embeddings.position_ids [1, 512] as int64)."""
    positions = weights["bert.embeddings.position_embeddings.weight"].shape[0]
    weights["bert.embeddings.position_ids"] = torch.arange(positions).unsqueeze(0)
    weights["bert.embeddings.token_type_ids"] = torch.zeros(1, positions, dtype=torch.long)


def test_integer_buffers_of_an_older_checkpoint_load_and_count_nothing(tiny_zoo, tmp_path):
    """An old checkpoint whose only extra tensors are integer buffers loads as the same model,
    in either weight format, and counts the parameters of the one saved without them; an extra
    float tensor in the backbone still fails it (test_broken_backbone_...: "extra")."""
    from model_recycling.models.files import count_parameters

    old = copy_model(tiny_zoo / "base", tmp_path / "old", edit_weights=add_old_buffers)
    assert load_file(old / "model.safetensors")["bert.embeddings.position_ids"].dtype == torch.int64
    assert count_parameters(old) == count_parameters(tiny_zoo / "base")
    pickled = copy_model(old, tmp_path / "old-pickle")
    torch.save(load_file(old / "model.safetensors"), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    saved = load_file(tiny_zoo / "base" / "model.safetensors")
    for folder in (old, pickled):
        encoder = load_encoder(folder, CPU)
        for name, tensor in encoder.state_dict().items():
            if not name.startswith("pooler."):
                assert torch.equal(tensor, saved[f"bert.{name}"]), (folder.name, name)
        model = load_classifier(folder, 3, False, CPU)
        words = model.bert.embeddings.word_embeddings.weight
        assert torch.equal(words, saved["bert.embeddings.word_embeddings.weight"]), folder.name

    # Named like a buffer but floating point: a weight the architecture has no place for.
    def float_token_types(weights):
        weights["bert.embeddings.token_type_ids"] = torch.zeros(1, 8)

    stray = copy_model(tiny_zoo / "base", tmp_path / "stray", edit_weights=float_token_types)
    with pytest.raises(ModelLoadError, match=r"unexpected bert\.embeddings\.token_type_ids"):
        load_encoder(stray, CPU)
