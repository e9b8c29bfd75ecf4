"""Your own task's data, when something is wrong with it: every message names the task and the
file (and the line or row where known) and says what to do; the task is recorded as failed, so
the other tasks go on (tasks/sources.py, tasks/prepare.py)."""

import json

import pytest
import yaml

from model_recycling.records import TEMPORARY_FAILURE
from model_recycling.tasks.prepare import load_prepared, prepare_job
from tests.support.common import DEV_HOLDOUT, REPO

ROWS = [f"text {i},{['pos', 'neg', 'neu'][i % 3]}" for i in range(30)]


def registry(tmp_path, data: bytes | None, **entry) -> list:
    """A registry of one CSV task `mine` whose file holds `data` (None: no file)."""
    path = tmp_path / "data" / "mine.csv"
    if data is not None:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    spec = {
        "dataset": "csv", "data_files": {"train": str(path)}, "train_split": "train",
        "eval_split": "train", "eval_from_train": 0.3, "inputs": ["sentence"], "label": "label",
        "labels": ["pos", "neg", "neu"], **entry,
    }  # fmt: skip
    (tmp_path / "tasks.yaml").write_text(yaml.safe_dump({"mine": spec}))
    return [str(tmp_path / "tasks.yaml")]


def prepared(tmp_path, data, **entry) -> dict:
    out = tmp_path / "prepared"
    meta = prepare_job(registry(tmp_path, data, **entry), "mine", DEV_HOLDOUT, "recommended", out)
    assert json.loads((out / "meta.json").read_text()) == meta
    return meta


def csv(*lines) -> bytes:
    return ("\n".join(["sentence,label", *lines]) + "\n").encode()


def reason_of(tmp_path, data, **entry) -> str:
    meta = prepared(tmp_path, data, **entry)
    assert meta["status"] == "failed"
    task = load_prepared(tmp_path / "prepared")
    assert task.train == task.dev == task.eval == []  # the outputs exist, empty
    return meta["reason"]


def test_a_missing_file_names_it_and_says_where_to_look(tmp_path):
    reason = reason_of(tmp_path, None)
    assert reason == (
        f"task 'mine': its data file {tmp_path}/data/mine.csv is missing; put the file there "
        f"(the task's entry in {tmp_path}/tasks.yaml says where to get it), or take the task "
        "out of the targets"
    )


def test_an_empty_file_and_a_header_alone_are_named(tmp_path):
    assert reason_of(tmp_path, b"") == f"task 'mine': {tmp_path}/data/mine.csv is empty"
    reason = reason_of(tmp_path, csv())
    assert reason == f"task 'mine': {tmp_path}/data/mine.csv has a header line and no rows"


def test_a_byte_that_is_not_utf8_is_named_with_its_line(tmp_path):
    data = csv(*ROWS[:4]) + "caf\xe9 latin-1,pos\n".encode("latin-1")
    reason = reason_of(tmp_path, data)
    assert reason == (
        f"task 'mine': {tmp_path}/data/mine.csv is not UTF-8 text: byte 0xe9 at line 6; "
        "re-save the file as UTF-8"
    )


def test_a_label_only_the_evaluation_split_holds_stops_the_task(tmp_path):
    rows = [f"text {i},{'pos' if i % 2 else 'neg'}" for i in range(40)] + ["odd one,neu"]
    data = csv(*rows)
    reason = reason_of(tmp_path, data, eval_from_train=None, eval_split="test",
                       data_files={"train": str(tmp_path / "data/mine.csv"),
                                   "test": str(tmp_path / "data/test.csv")})  # fmt: skip
    assert "missing" in reason  # the test file is not there yet
    (tmp_path / "data" / "test.csv").write_bytes(csv("new one,neu", "a,pos", "b,neg"))
    (tmp_path / "data" / "mine.csv").write_bytes(csv(*rows[:-1]))
    reason = reason_of(tmp_path, None, eval_from_train=None, eval_split="test",
                       data_files={"train": str(tmp_path / "data/mine.csv"),
                                   "test": str(tmp_path / "data/test.csv")})  # fmt: skip
    assert reason.startswith("task 'mine': declared label(s) ['neu'] have 1 examples in the")
    assert "none in train or dev" in reason and "drop_labels" in reason


def test_integer_labels_declared_as_strings_say_so(tmp_path):
    data = csv(*[f"text {i},{i % 2}" for i in range(20)])
    reason = reason_of(tmp_path, data, labels=["0", "1"])
    where = f"{tmp_path}/data/mine.csv line 2"  # the header is line 1
    assert f"label 0 in column 'label' ({where}) is not among the declared" in reason
    assert "the data holds int 0, the registry declares str '0'" in reason


def test_a_good_file_prepares(tmp_path):
    meta = prepared(tmp_path, csv(*ROWS))
    assert "status" not in meta and meta["sizes"]["eval"] == 9  # 30% of 30


def test_an_unreachable_hub_is_not_the_task_s_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "tasks.yaml").write_text(yaml.safe_dump({"mine": {
        "dataset": "some-org/some-dataset", "inputs": ["text"], "label": "label",
        "labels": [0, 1],
    }}))  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        prepare_job([str(tmp_path / "tasks.yaml")], "mine", DEV_HOLDOUT, "recommended", tmp_path)
    assert exit_.value.code == TEMPORARY_FAILURE
    assert not (tmp_path / "meta.json").exists()  # nothing recorded: a later run tries again


def test_the_protocol_s_manual_dataset_missing_stops_that_task_alone(tmp_path, monkeypatch):
    """ISEAR has no Hub copy: without its CSV the task is recorded as failed, naming the file and
    the registry whose entry says how to get it (the other tasks are prepared as usual)."""
    if (REPO / "resources/data/isear/isear.csv").exists():
        pytest.skip("this checkout holds resources/data/isear/isear.csv: ISEAR is not missing")
    monkeypatch.chdir(REPO)  # the registry's paths are relative to the workflow folder
    registry = ["resources/tasks/protocol.yaml"]
    meta = prepare_job(registry, "isear", DEV_HOLDOUT, "recommended", tmp_path / "isear")
    assert meta["status"] == "failed"
    assert meta["reason"].startswith(
        "task 'isear': its data file resources/data/isear/isear.csv is missing; put the file "
        "there (the task's entry in resources/tasks/protocol.yaml says where to get it)"
    )


def test_a_bad_label_is_named_with_its_file_line_blank_and_quoted_lines_counted(tmp_path):
    rows = [*ROWS[:3], "", '"a text over\ntwo lines",pos', "", "text 9,other", *ROWS[3:]]
    reason = reason_of(tmp_path, csv(*rows))
    # header 1, three rows 2-4, blank 5, the quoted row 6-7, blank 8, the bad row 9
    assert f"label 'other' in column 'label' ({tmp_path}/data/mine.csv line 9)" in reason


@pytest.mark.parametrize(
    "row, said",
    [
        ("text 3,pos,extra", "line 5: 3 fields where the header names 2 (sentence, label): extra "
                             "value 'extra'"),
        ("text 3", "line 5: 1 fields where the header names 2 (sentence, label): missing the "
                   "column 'label'"),
    ],
    ids=["extra", "missing"],
)  # fmt: skip
def test_a_csv_row_with_another_number_of_fields_is_named(tmp_path, row, said):
    reason = reason_of(tmp_path, csv(*ROWS[:3], row, *ROWS[3:]))
    assert reason.startswith(f"task 'mine': {tmp_path}/data/mine.csv {said}"), reason


def test_a_broken_json_line_is_named_with_its_line(tmp_path):
    lines = [json.dumps({"sentence": f"text {i}", "label": "pos"}) for i in range(20)]
    lines[6] = lines[6][:-1]  # a line cut short
    path = tmp_path / "data/mine.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    reason = reason_of(tmp_path, None, dataset="json", data_files={"train": str(path)})
    assert reason.startswith(f"task 'mine': {path} line 7: not JSON ("), reason
