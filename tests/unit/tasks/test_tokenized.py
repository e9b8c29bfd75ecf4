"""The tokenized cache (tasks/tokenized.py): built once, shared by every job with the same
tokenizer, never trusted when damaged, and never changing a score."""

import json
import re
import shutil
import threading
import time

import pytest

from model_recycling.finetuning.cell import finetune_cell
from model_recycling.finetuning.train import Hyperparameters
from model_recycling.models.loading import load_tokenizer
from model_recycling.probing.job import probe_candidate
from model_recycling.tasks import tokenized
from model_recycling.tasks.prepare import load_prepared
from model_recycling.tasks.tokenized import encode, timed_encoded_splits, unknown_token_rate

HP = Hyperparameters.from_config(
    dict(
        epochs=2, learning_rate=1e-2, batch_size=16, eval_every_steps=12, patience=50, max_length=48
    )
)
PROBE = {"max_length": 48, "batch_size": 64, "pooling": "mean", "l2": 1e-3, "max_iter": 50}
TIMINGS = {
    "started_at", "finished_at", "wall_seconds", "tokenize_seconds", "feature_seconds",
    "fit_seconds", "proxy_seconds", "finetune_seconds", "training_seconds",
    "train_examples_per_second",
}  # fmt: skip
SPLITS = ("train", "dev", "eval")


def without_timings(path) -> str:
    record = json.loads(path.read_text())
    return json.dumps({k: v for k, v in record.items() if k not in TIMINGS}, sort_keys=True)


def entries(root, task) -> list:
    return sorted(p for p in (root / task).iterdir() if p.is_dir())


def test_scores_are_the_same_cold_warm_and_disabled(tiny_zoo, tmp_path, capsys):
    cache = tmp_path / "tokenized"
    records = {}
    for run, root in (("disabled", None), ("cold", cache), ("warm", cache)):
        out = tmp_path / run
        probe_candidate(
            "base", tiny_zoo / "base", "r", tiny_zoo / "prepared/demo_nli", PROBE,
            out / "probe.json", tokenized_cache=root,
        )  # fmt: skip
        finetune_cell(
            "a", "base", "candidate", tiny_zoo / "base", "r", tiny_zoo / "prepared/demo_topic",
            {**HP.as_dict(), "device": "cpu"}, 0, out / "cell.json", tokenized_cache=root,
        )  # fmt: skip
        records[run] = [without_timings(out / name) for name in ("probe.json", "cell.json")]
        logged = capsys.readouterr().out
        if run == "cold":  # the probe's two splits and the cell's three, each built once
            assert logged.count("tokenized cache: built") == 5, logged
        if run == "warm":
            assert "built" not in logged and logged.count("tokenized cache: read") == 5, logged
    assert records["cold"] == records["disabled"] == records["warm"]
    probe = json.loads(records["warm"][0])
    assert probe["status"] == "ok" and probe["n_correct"] > 0
    assert json.loads(records["warm"][1])["status"] == "ok"
    assert len(entries(cache, "demo_nli")) == len(entries(cache, "demo_topic")) == 1
    assert json.loads((tmp_path / "cold/cell.json").read_text())["tokenize_seconds"] > 0


def edited_tokenizer(tiny_zoo, folder, edit):
    shutil.copytree(tiny_zoo / "base", folder)
    tokenizer = load_tokenizer(folder)
    edit(tokenizer)
    tokenizer.save_pretrained(folder)
    return load_tokenizer(folder)


def test_a_candidate_with_another_tokenizer_gets_its_own_entry(tiny_zoo, tmp_path):
    from tokenizers import normalizers

    task = load_prepared(tiny_zoo / "prepared/demo_topic")
    base = load_tokenizer(tiny_zoo / "base")

    def note(tok):  # incidental: what a candidate's re-saved files differ in
        tok.init_kwargs["name_or_path"] = "someone/finetuned"

    def lowercase(tok):  # the same vocabulary, other ids for capitalised text
        tok.backend_tokenizer.normalizer = normalizers.Lowercase()

    same = edited_tokenizer(tiny_zoo, tmp_path / "same", note)
    more = edited_tokenizer(tiny_zoo, tmp_path / "more", lambda tok: tok.add_tokens(["qqq"]))
    lower = edited_tokenizer(tiny_zoo, tmp_path / "lower", lowercase)
    cache = tmp_path / "cache"
    for tokenizer in (base, same, more, lower):
        got = tokenized.encoded_splits(tokenizer, task, 48, ["train"], cache, log=lambda _: None)
        assert got["train"] == encode(tokenizer, task.train, 48)
    assert tokenized.tokenizer_fingerprint(same) == tokenized.tokenizer_fingerprint(base)
    assert len(entries(cache, "demo_topic")) == 3  # base and same share one


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "bad record", "wrong ids"])
def test_a_damaged_entry_is_rebuilt_never_trusted(tiny_zoo, tmp_path, damage):
    task = load_prepared(tiny_zoo / "prepared/demo_topic")
    tokenizer = load_tokenizer(tiny_zoo / "base")
    expected = encode(tokenizer, task.train, 48)
    logged = []
    tokenized.encoded_splits(tokenizer, task, 48, ["train"], tmp_path, log=logged.append)
    [entry] = entries(tmp_path, "demo_topic")
    [data] = entry.glob("train-*.npz")
    record = data.with_suffix(".json")
    if damage == "truncated":
        data.write_bytes(data.read_bytes()[:-100])
    elif damage == "flipped byte":
        blob = bytearray(data.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        data.write_bytes(bytes(blob))
    elif damage == "bad record":
        record.write_text("{not json")
    else:  # a sound file with another tokenizer's ids: only the spot check can tell
        shifted = [{**f, "input_ids": [i + 1 for i in f["input_ids"]]} for f in expected]
        tokenized.write_split(entry, data.stem, shifted, {})
    got = tokenized.encoded_splits(tokenizer, task, 48, ["train"], tmp_path, log=logged.append)
    assert got["train"] == expected
    assert re.search(r"tokenized cache: rebuilt \(.+\)", logged[-1]), logged
    again = tokenized.encoded_splits(tokenizer, task, 48, ["train"], tmp_path, log=logged.append)
    assert again["train"] == expected and "read" in logged[-1]


def test_concurrent_jobs_build_an_entry_once(tiny_zoo, tmp_path, monkeypatch):
    task = load_prepared(tiny_zoo / "prepared/demo_topic")
    tokenizer = load_tokenizer(tiny_zoo / "base")
    real_encode, builds = tokenized.encode, []

    def slow_encode(tok, examples, max_length):
        if len(examples) == len(task.train):  # a build (a spot check encodes a few)
            builds.append(1)
            time.sleep(0.5)  # long enough for every other job to find the entry missing
        return real_encode(tok, examples, max_length)

    monkeypatch.setattr(tokenized, "encode", slow_encode)
    results = []

    def job():
        got = tokenized.encoded_splits(tokenizer, task, 48, ["train"], tmp_path, log=print)
        results.append(got["train"])

    threads = [threading.Thread(target=job) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert len(results) == 4 and all(r == real_encode(tokenizer, task.train, 48) for r in results)


def test_an_unusable_cache_folder_costs_a_warning_not_the_job(tiny_zoo, tmp_path):
    task = load_prepared(tiny_zoo / "prepared/demo_topic")
    tokenizer = load_tokenizer(tiny_zoo / "base")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    logged = []
    got = tokenized.encoded_splits(tokenizer, task, 48, SPLITS, blocked, log=logged.append)
    assert got == {s: encode(tokenizer, getattr(task, s), 48) for s in SPLITS}
    assert "unusable" in logged[0]


def test_the_share_of_unknown_tokens_is_recorded_and_english_is_unknown_to_the_demo(tiny_zoo):
    tokenizer = load_tokenizer(tiny_zoo / "base")
    demo = load_prepared(tiny_zoo / "prepared/demo_topic")
    record = {}
    timed_encoded_splits(tokenizer, demo, 48, ("train",), None, record)
    assert record["unknown_token_rate"] < 0.05  # the demo's own language
    english = [{"texts": ["the battery lasts all day and the screen is bright"], "label": 0}]
    rate = unknown_token_rate(tokenizer, encode(tokenizer, english, 48))
    assert rate > 0.8  # the demo's tokenizer knows only the synthetic lexicon
    assert unknown_token_rate(tokenizer, []) is None
