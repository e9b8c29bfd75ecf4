"""The one data path: registry entry -> datasets.load_dataset -> (texts, label) examples."""

import json

import pytest
import yaml
from datasets import Dataset, DatasetDict

from model_recycling.tasks.dev_sets import class_quotas, hold_out_dev
from model_recycling.tasks.prepare import TaskDataError, load_prepared, prepare_task, seeded_sample
from model_recycling.tasks.registry import load_registry
from tests.support.common import DEV_HOLDOUT, REPO

ENDS = {**DEV_HOLDOUT, "method": "ends"}


def write_task(tmp_path, rows, entry_overrides=None):
    for split in ("train", "test"):
        with open(tmp_path / f"{split}.jsonl", "w") as handle:
            handle.writelines(json.dumps(r) + "\n" for r in rows)
    entry = {
        "dataset": "json",
        "data_files": {s: str(tmp_path / f"{s}.jsonl") for s in ("train", "test")},
        "inputs": ["premise", "hypothesis"],
        "label": "label",
        "labels": ["yes", "no"],
        **(entry_overrides or {}),
    }
    (tmp_path / "registry.yaml").write_text(yaml.safe_dump({"toy": entry}))
    return load_registry(tmp_path / "registry.yaml")["toy"]


ROWS = [
    {"premise": f"p{i}", "hypothesis": f"h{i}", "label": ["yes", "no"][i % 2]} for i in range(40)
]


def test_fields_joined_in_order_and_labels_mapped(tmp_path):
    spec = write_task(tmp_path, ROWS)
    meta = prepare_task(spec, tmp_path / "out", DEV_HOLDOUT)
    task = load_prepared(tmp_path / "out")
    assert meta["sizes"] == {"train": 36, "dev": 4, "eval": 40}
    assert task.eval[3] == {"texts": ["p3", "h3"], "label": 1}
    assert meta["label_names"] == ["yes", "no"]
    assert meta["label_counts"]["dev"] == {"yes": 2, "no": 2}  # the default: stratified
    assert meta["protocol"] == "recommended" and meta["input_encoding"] == "segments"
    ends = prepare_task(spec, tmp_path / "ends", ENDS)
    assert [ex["texts"][0] for ex in load_prepared(tmp_path / "ends").dev] == [
        "p0", "p1", "p38", "p39",
    ]  # fmt: skip
    assert ends["dev_holdout"]["method"] == "ends"


def test_fingerprint_changes_with_content_and_is_stable(tmp_path):
    spec = write_task(tmp_path, ROWS)
    first = prepare_task(spec, tmp_path / "a", DEV_HOLDOUT)["fingerprint"]
    assert prepare_task(spec, tmp_path / "b", DEV_HOLDOUT)["fingerprint"] == first
    spec = write_task(tmp_path, ROWS[:-2])
    assert prepare_task(spec, tmp_path / "c", DEV_HOLDOUT)["fingerprint"] != first


def test_label_outside_declared_set_names_task_column_value(tmp_path):
    spec = write_task(tmp_path, [*ROWS, {"premise": "p", "hypothesis": "h", "label": "maybe"}])
    with pytest.raises(TaskDataError, match=r"task 'toy'.*'maybe'.*'label'"):
        prepare_task(spec, tmp_path / "out", DEV_HOLDOUT)


def test_missing_column_names_task_and_column(tmp_path):
    spec = write_task(tmp_path, ROWS, {"inputs": ["premise", "hypotesis"]})
    with pytest.raises(TaskDataError, match=r"task 'toy'.*column 'hypotesis'"):
        prepare_task(spec, tmp_path / "out", DEV_HOLDOUT)


def test_dropped_labels_and_regression(tmp_path):
    rows = [{"premise": "a", "hypothesis": "b", "label": v} for v in (0.5, -1, 2.0, 1.5) * 10]
    spec = write_task(
        tmp_path, rows, {"task_type": "regression", "metric": "spearman", "drop_labels": [-1]}
    )
    meta = prepare_task(spec, tmp_path / "out", DEV_HOLDOUT)
    assert meta["sizes"]["eval"] == 30 and meta["num_labels"] == 1
    assert load_prepared(tmp_path / "out").eval[0]["label"] == 0.5


def test_dev_holdout_large_rule():
    examples = [{"i": i, "label": i % 3} for i in range(20000)]
    train, dev = hold_out_dev(examples, ENDS)
    assert len(dev) == 1000 and dev[:500] == examples[:500] and dev[-1]["i"] == 19999
    assert len(train) == 19000 and not {x["i"] for x in train} & {x["i"] for x in dev}
    train, dev = hold_out_dev(examples, {**DEV_HOLDOUT, "method": "stratified"}, seed=0)
    assert len(dev) == 1000 and len(train) == 19000
    assert sorted(x["i"] for x in train + dev) == list(range(20000))
    assert dev == sorted(dev, key=lambda x: x["i"])  # the sample keeps train's order
    with pytest.raises(ValueError, match="dev_holdout.method 'middle'"):
        hold_out_dev(examples, {**DEV_HOLDOUT, "method": "middle"})


def test_class_quotas_are_proportional_and_sum_to_the_dev_size():
    assert class_quotas({0: 500, 1: 300, 2: 200}, 100) == {0: 50, 1: 30, 2: 20}
    quotas = class_quotas({0: 7, 1: 7, 2: 7}, 10)  # 3.33 each: one leftover to the first class
    assert quotas == {0: 4, 1: 3, 2: 3}


# --- a dev set that can select a checkpoint --------------------------------------


def class_sorted_task(tmp_path, labels, per_class, order=None):
    """A train file grouped by class (dbpedia's is), as a real json dataset."""
    order = order or labels
    rows = [
        {"premise": f"{label}{i}", "hypothesis": "h", "label": label}
        for label in order
        for i in range(per_class)
    ]
    return write_task(tmp_path, rows, {"labels": labels})


def test_stratified_dev_of_a_class_sorted_train_holds_every_class(tmp_path):
    spec = class_sorted_task(tmp_path, ["a", "b", "c", "d"], per_class=50)
    meta = prepare_task(spec, tmp_path / "out", DEV_HOLDOUT)
    assert meta["label_counts"]["dev"] == {"a": 5, "b": 5, "c": 5, "d": 5}
    assert meta["label_counts"]["train"] == {"a": 45, "b": 45, "c": 45, "d": 45}
    assert meta["label_counts"]["eval"] == {"a": 50, "b": 50, "c": 50, "d": 50}
    assert meta["dev_holdout"] == {**DEV_HOLDOUT, "method": "stratified"}
    dev = [x["texts"][0] for x in load_prepared(tmp_path / "out").dev]
    again = prepare_task(spec, tmp_path / "again", DEV_HOLDOUT)
    assert again["content_sha256"] == meta["content_sha256"]  # seeded: the same dev set
    other = prepare_task(spec, tmp_path / "other", DEV_HOLDOUT, sample_seed=1)
    assert [x["texts"][0] for x in load_prepared(tmp_path / "other").dev] != dev
    assert other["label_counts"]["dev"] == meta["label_counts"]["dev"]
    # the reference's rule on the same file: only the first and the last class
    ends = prepare_task(spec, tmp_path / "ends", ENDS)
    assert ends["label_counts"]["dev"] == {"a": 10, "b": 0, "c": 0, "d": 10}


def test_single_class_dev_set_stops_naming_the_task(tmp_path):
    # both ends of the training file hold the same class
    spec = class_sorted_task(tmp_path, ["yes", "no"], per_class=20, order=["yes", "no", "yes"])
    with pytest.raises(TaskDataError, match=r"task 'toy'.*method 'ends'.*single class \('yes'"):
        prepare_task(spec, tmp_path / "out", ENDS)
    assert not (tmp_path / "out/meta.json").exists()
    meta = prepare_task(spec, tmp_path / "ok", DEV_HOLDOUT)
    assert meta["label_counts"]["dev"] == {"yes": 4, "no": 2}
    # a declared dev split of one class, likewise
    spec = write_task(tmp_path, ROWS, {"dev_split": "validation"})
    one_class = Dataset.from_list([r for r in ROWS if r["label"] == "no"])
    dataset = DatasetDict({"train": Dataset.from_list(ROWS), "test": one_class})
    dataset["validation"] = one_class
    with pytest.raises(TaskDataError, match=r"task 'toy'.*dev split 'validation'.*\('no'"):
        prepare_task(spec, tmp_path / "split", DEV_HOLDOUT, dataset_dict=dataset)


def test_regression_dev_is_a_seeded_sample(tmp_path):
    rows = [{"premise": f"p{i}", "hypothesis": "h", "label": i / 10} for i in range(100)]
    spec = write_task(tmp_path, rows, {"task_type": "regression", "metric": "spearman"})
    meta = prepare_task(spec, tmp_path / "out", DEV_HOLDOUT)
    dev = [x["label"] for x in load_prepared(tmp_path / "out").dev]
    assert len(dev) == 10 and meta["label_counts"]["dev"] is None
    assert dev == sorted(dev) and max(dev) - min(dev) > 3  # not one end of the file


# --- the reference protocol ----------------------------------------------------


def test_reference_protocol_joins_the_fields_and_takes_the_ends(tmp_path):
    spec = write_task(tmp_path, ROWS)
    ours = prepare_task(spec, tmp_path / "ours", DEV_HOLDOUT)
    meta = prepare_task(spec, tmp_path / "ref", DEV_HOLDOUT, protocol="reference")
    task = load_prepared(tmp_path / "ref")
    assert task.eval[3] == {"texts": ["p3 <SEP> h3"], "label": 1}
    assert [x["texts"] for x in task.dev] == [[f"p{i} <SEP> h{i}"] for i in (0, 1, 38, 39)]
    assert meta["protocol"] == "reference" and meta["input_encoding"] == "joined"
    assert meta["dev_holdout"]["method"] == "ends"
    assert meta["fingerprint"] != ours["fingerprint"]
    # an explicit dev_holdout.method wins over the protocol's; the encoding stays the protocol's
    stratified = {**DEV_HOLDOUT, "method": "stratified"}
    mixed = prepare_task(spec, tmp_path / "mixed", stratified, protocol="reference")
    assert mixed["dev_holdout"]["method"] == "stratified"
    assert mixed["content_sha256"]["dev"] != meta["content_sha256"]["dev"]
    assert load_prepared(tmp_path / "mixed").eval[3]["texts"] == ["p3 <SEP> h3"]
    with pytest.raises(ValueError, match="protocol 'paper'"):
        prepare_task(spec, tmp_path / "bad", DEV_HOLDOUT, protocol="paper")


def test_reference_encoding_is_one_segment_cut_from_the_right(tmp_path):
    """Through a real tokenizer and the real encode(): one segment, no token types of B."""
    from model_recycling.demo import language
    from model_recycling.demo import zoo as demo_zoo
    from model_recycling.tasks.tokenized import encode

    lexicon = language.build_lexicon(0)
    words = language.vocabulary(lexicon)[10:30]
    rows = [
        {"premise": " ".join(words[:12]), "hypothesis": " ".join(words[12:]), "label": "yes"}
    ] * 20 + [{"premise": "p", "hypothesis": "h", "label": "no"}] * 20
    spec = write_task(tmp_path, rows)
    prepare_task(spec, tmp_path / "ref", DEV_HOLDOUT, protocol="reference")
    prepare_task(spec, tmp_path / "ours", DEV_HOLDOUT)
    tokenizer = demo_zoo.build_tokenizer(lexicon, 64)
    joined = load_prepared(tmp_path / "ref").eval[0]
    assert joined["texts"] == [" ".join(words[:12]) + " <SEP> " + " ".join(words[12:])]
    full = tokenizer(joined["texts"][0])["input_ids"]
    (ref,) = encode(tokenizer, [joined], max_length=16)
    assert ref["input_ids"][:15] == full[:15] and len(full) > 16  # the end is cut
    assert set(ref["token_type_ids"]) == {0}
    (ours,) = encode(tokenizer, load_prepared(tmp_path / "ours").eval[:1], max_length=16)
    assert 1 in ours["token_type_ids"]  # segments A and B


# --- no NaN or inf label becomes a number ---------------------------------------


def in_memory_task(tmp_path, labels, entry):
    spec = write_task(tmp_path, ROWS, entry)
    rows = [{"premise": f"p{i}", "hypothesis": "h", "label": v} for i, v in enumerate(labels)]
    good = Dataset.from_list(rows[:3] * 10)
    return spec, DatasetDict({"train": good, "test": Dataset.from_list(rows)})


REGRESSION = {"task_type": "regression", "metric": "spearman"}


@pytest.mark.parametrize(
    "labels, entry, shown",
    [
        ([0.5, 1.0, 2.0, float("nan")], REGRESSION, "nan"),
        ([0.5, 1.0, 2.0, float("inf")], REGRESSION, "inf"),
        (["0.5", "1.0", "2.0", "high"], REGRESSION, "'high'"),
        ([0.0, 1.0, 0.0, float("nan")], {"labels": [0.0, 1.0]}, "nan"),
        ([0.1, 0.5, 0.9, float("nan")], {"labels": [0, 1, 2, 3, 4], "label_transform": "sst_5bins"},
         "nan"),
    ],
)  # fmt: skip
def test_non_finite_or_non_numeric_label_names_task_column_split_and_row(
    tmp_path, labels, entry, shown
):
    spec, dataset = in_memory_task(tmp_path, labels, entry)
    with pytest.raises(TaskDataError) as err:
        prepare_task(spec, tmp_path / "out", DEV_HOLDOUT, dataset_dict=dataset)
    assert str(err.value).startswith(
        f"task 'toy': label {shown} in column 'label' ({tmp_path}/test.jsonl line 4)"
    )
    assert not (tmp_path / "out/meta.json").exists()


def test_faq_shows_the_protocol_and_the_dev_label_counts(tmp_path):
    from model_recycling.pages.faq import faq_page

    spec = class_sorted_task(tmp_path, ["a", "b", "c", "d"], per_class=50)
    settings = {
        "targets": ["toy"],
        "seeds": [0],
        "baseline_seeds": [0],
        "top_k": 1,
        "finetune": {"learning_rate": 5e-5},
        "probe": {"task": "p", "pooling": "mean"},
        "dev_holdout": DEV_HOLDOUT,
    }
    meta = prepare_task(spec, tmp_path / "ours", DEV_HOLDOUT)
    page = faq_page({**settings, "protocol": "recommended", "task_meta": {"toy": meta}})
    assert "`protocol: recommended`" in page and "each class keeps its share" in page
    assert "| toy | json | test (200) | 180 | 20 (5 / 5 / 5 / 5) | accuracy |" in page
    meta = prepare_task(spec, tmp_path / "ref", DEV_HOLDOUT, protocol="reference")
    page = faq_page({**settings, "protocol": "reference", "task_meta": {"toy": meta}})
    assert "`protocol: reference`" in page and "half from each end" in page
    assert "literal ` <SEP> `" in page and "| 20 (10 / 0 / 0 / 10) |" in page
    page = faq_page(
        {**settings, "dev_holdout": ENDS, "protocol": "recommended", "task_meta": {"toy": meta}}
    )
    assert "`dev_holdout.method: ends` in the config, instead of the protocol's" in page


def test_seeded_sample_is_deterministic():
    data = list(range(10000))
    assert seeded_sample(data, 3000, 0) == seeded_sample(data, 3000, 0)
    assert seeded_sample(data, 3000, 0) != seeded_sample(data, 3000, 1)
    assert len(seeded_sample(data, 3000, 0)) == 3000


def test_registry_rejects_unknown_keys_and_duplicates(tmp_path):
    (tmp_path / "a.yaml").write_text(
        yaml.safe_dump(
            {"t": {"dataset": "x", "inputs": ["a"], "label": "l", "labels": [0], "colour": 1}}
        )
    )
    with pytest.raises(ValueError, match="task 't'.*colour"):
        load_registry(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text(
        yaml.safe_dump({"t": {"dataset": "x", "inputs": ["a"], "label": "l", "labels": [0]}})
    )
    with pytest.raises(ValueError, match="defined twice"):
        load_registry([tmp_path / "b.yaml", tmp_path / "b.yaml"])


ENTRY = "t:\n  dataset: csv\n  inputs: [text]\n  label: label\n  labels: [a, b]\n"


@pytest.mark.parametrize(
    "text, said",
    [
        (ENTRY + "  label: other\n", "r.yaml:6: duplicate key 'label' (first at line 4)"),
        (ENTRY + "  labels: [a, b\n", "r.yaml:7:1: "),
        (
            ENTRY.replace("inputs", "input"),
            "r.yaml:3: task 't': unknown key 'input' (did you mean 'inputs'?",
        ),
        (ENTRY.replace("  inputs: [text]\n", ""), "r.yaml:1: task 't': missing key 'inputs'"),
        ("t: [a, b]\n", "r.yaml:1: task 't': an entry is a mapping of keys"),
        ("- t\n", "r.yaml:1: the top level is a list; a task registry is a mapping"),
    ],
    ids=["duplicate key", "malformed YAML", "unknown key", "missing key", "not a mapping", "list"],
)
def test_a_registry_mistake_is_named_with_file_and_line(tmp_path, text, said):
    (tmp_path / "r.yaml").write_text(text)
    with pytest.raises(ValueError) as raised:
        load_registry(tmp_path / "r.yaml")
    assert str(raised.value).startswith(str(tmp_path / said)), str(raised.value)


def test_every_demo_task_prepares_from_generated_data(tmp_path):
    """The demo registry and the demo zoo's generators agree on columns and labels."""
    from model_recycling.demo import zoo as demo_zoo

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    tasks = {n: {**t, "train": 60, "test": 20} for n, t in config["demo_zoo"]["tasks"].items()}
    demo_zoo.write_tasks(tmp_path / "tasks", tasks, seed=0)
    text = (REPO / "resources/tasks/demo.yaml").read_text()
    (tmp_path / "r.yaml").write_text(
        text.replace("results/demo_zoo/tasks", str(tmp_path / "tasks"))
    )
    registry = load_registry(tmp_path / "r.yaml")
    assert set(tasks) <= set(registry)
    for name in tasks:
        meta = prepare_task(registry[name], tmp_path / "out" / name, DEV_HOLDOUT)
        assert meta["sizes"]["eval"] == 20
