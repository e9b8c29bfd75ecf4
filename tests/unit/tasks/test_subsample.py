"""probe.train_size: a stratified, seeded subsample of the probe's training split only."""

from collections import Counter

import pytest

from model_recycling.io import read_json
from model_recycling.probing.job import probe_candidate
from model_recycling.tasks.prepare import load_prepared
from model_recycling.tasks.subsample import stratified_indices, with_train_size

SETTINGS = {"max_length": 48, "batch_size": 64, "pooling": "mean", "l2": 1e-3, "max_iter": 50}


@pytest.mark.parametrize("size", [1, 7, 50, 123, 199])
def test_subsample_keeps_class_proportions_within_one_example(size):
    labels = [0] * 120 + [1] * 50 + [2] * 30  # unbalanced on purpose
    keep = stratified_indices(labels, size)
    assert len(keep) == size == len(set(keep)) and keep == sorted(keep)
    counts = Counter(labels[i] for i in keep)
    for label, total in Counter(labels).items():
        assert abs(counts[label] - size * total / len(labels)) < 1


def test_subsample_is_deterministic_and_seeded():
    labels = [i % 3 for i in range(300)]
    assert stratified_indices(labels, 40) == stratified_indices(labels, 40)
    assert stratified_indices(labels, 40, seed=1) != stratified_indices(labels, 40)


def test_train_size_larger_than_the_split_is_the_whole_split(tiny_zoo):
    task = load_prepared(tiny_zoo / "prepared/demo_nli")
    assert with_train_size(task, 10_000).train == task.train
    assert with_train_size(task, None) is task


def probe(tiny_zoo, tmp_path, name, **extra):
    settings = {**SETTINGS, **extra}
    return probe_candidate(
        "base", tiny_zoo / "base", "r1", tiny_zoo / "prepared/demo_nli", settings,
        tmp_path / f"{name}.json", tokenized_cache=tmp_path / "tokenized",
    )  # fmt: skip


def test_probe_records_the_rows_used_and_never_cuts_eval(tiny_zoo, tmp_path):
    n_train = len(load_prepared(tiny_zoo / "prepared/demo_nli").train)  # the dev rows held out
    full = probe(tiny_zoo, tmp_path, "full")
    cut = probe(tiny_zoo, tmp_path, "cut", train_size=50)
    again = probe(tiny_zoo, tmp_path, "again", train_size=50)
    assert full["status"] == cut["status"] == "ok"
    assert full["n_train"] == n_train and cut["n_train"] == 50
    assert full["n_eval"] == cut["n_eval"] == 80  # the evaluation split is whole
    assert cut["settings"]["train_size"] == 50
    assert cut["score"] == again["score"]  # same rows, same probe
    # the subsample's texts differ, so it got its own tokenized-cache files beside the full one
    assert len(list((tmp_path / "tokenized").rglob("train-*.npz"))) == 2
    assert len(list((tmp_path / "tokenized").rglob("eval-*.npz"))) == 1


def test_default_leaves_the_record_as_before(tiny_zoo, tmp_path):
    without = probe(tiny_zoo, tmp_path, "without")
    whole = probe(tiny_zoo, tmp_path, "whole", train_size=10_000)
    assert "train_size" not in without["settings"]
    saved = read_json(tmp_path / "without.json")
    assert saved["settings"] == SETTINGS  # byte for byte the settings of a probe before the key
    assert saved["n_train"] == len(load_prepared(tiny_zoo / "prepared/demo_nli").train)
    assert whole["score"] == without["score"] and whole["n_train"] == without["n_train"]
