"""The one data path: registry entry -> datasets.load_dataset -> (texts, label) examples."""

import json

import pytest
import yaml

from model_recycling.tasks import (
    TaskDataError,
    hold_out_dev,
    load_prepared,
    load_registry,
    prepare_task,
    seeded_sample,
)
from tests.conftest import DEV_HOLDOUT, REPO


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
    # dev: half from each end of train
    assert [ex["texts"][0] for ex in task.dev] == ["p0", "p1", "p38", "p39"]
    assert meta["label_names"] == ["yes", "no"]


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
    train, dev = hold_out_dev(list(range(20000)), 10000, 1000, 0.1)
    assert len(dev) == 1000 and dev[:500] == list(range(500)) and dev[-1] == 19999
    assert len(train) == 19000 and not set(train) & set(dev)


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


def test_every_demo_task_prepares_from_generated_data(tmp_path):
    """The demo registry and the demo zoo's generators agree on columns and labels."""
    from model_recycling import demo_zoo

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
