"""The reference's published result files read as they are (model_recycling/rounds/published.py),
on the repository's unchanged copy of them (tests/data/published/) and on copies derived from it:
comma- and tab-separated files with an unnamed index, fractions and points, failed and zero
seeds, the base's own rows, duplicates, probes of 0, organisation-prefixed names."""

import csv
import math
import shutil
from pathlib import Path

import pytest

from model_recycling.rounds.published import published_pairs, read_published

DATA = Path(__file__).resolve().parents[2] / "data" / "published"
ROBERTA = (DATA / "roberta-base_table.csv", DATA / "models_results_roberta_base_pretrain.csv")
T5 = (DATA / "t5-base_table.csv", DATA / "models_results_t5_base_pretrain.csv")


def _rows(path, delimiter=","):
    with open(path, newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def _write(path, rows, delimiter=","):
    with open(path, "w", newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def test_the_copy_is_the_shared_one_unchanged():
    assert [p.name for pair in published_pairs(DATA) for p in pair] == [
        "roberta-base_table.csv", "models_results_roberta_base_pretrain.csv",
        "t5-base_table.csv", "models_results_t5_base_pretrain.csv",
    ]  # fmt: skip
    assert len(_rows(ROBERTA[0])) == 1279 and len(_rows(ROBERTA[1], "\t")) == 721


def test_roberta_base_as_published():
    arch = read_published(*ROBERTA)
    assert arch.name == "roberta-base" and arch.base_id == "roberta-base"
    assert len(arch.tasks) == 36 and "mnli" in arch.tasks and "" not in arch.tasks
    # 1,278 rows: the base twice (its seeds' mean, and probed like a candidate at row 249),
    # 6 probes of 0.0; 387 rows with all 36 tasks, two of them the base's
    assert "roberta-base" not in arch.models and "roberta-base" not in arch.probe
    assert len(arch.models) == 385 and len(arch.probe) == 1270
    assert arch.notes == {"rows of the base itself": 2,
                          "rows whose probe 0.0 or implausible: not selectable": 6}  # fmt: skip
    # the baseline file is tab-separated, in fractions: read in points, seeds in `stage` order
    assert all(len(seeds) == 20 for seeds in arch.baseline.values())
    mean = sum(arch.baseline["cola"]) / 20
    assert mean == pytest.approx(83.53307766059444, abs=1e-9)  # the base row's published mean
    assert arch.models["ibm/ColD-Fusion-itr13-seed2"]["cb"] == pytest.approx(89.28571428571429)


def test_t5_base_failed_and_zero_seeds_and_broken_probes():
    arch = read_published(*T5)
    assert arch.notes == {
        "baseline seeds failed (accuracy exactly 0)": 3,  # poem_sentiment 0 and 3, cb 6
        "baseline seeds failed (no score)": 4,  # stsb 3, 7, 14, 17
        "rows of the base itself": 1,
        "rows whose probe 0.0 or implausible: not selectable": 89,
    }
    assert [s for s, v in enumerate(arch.baseline["stsb"]) if math.isnan(v)] == [3, 7, 14, 17]
    assert [s for s, v in enumerate(arch.baseline["poem_sentiment"]) if math.isnan(v)] == [0, 3]
    assert math.isnan(arch.baseline["cb"][6])
    assert len(arch.models) == 84 and len(arch.probe) == 189 and min(arch.probe.values()) > 33


def test_organisation_prefixed_names_duplicates_and_corrupted_rows(tmp_path):
    """t5-base's real files as the reference names an organisation's base (google/t5-base),
    with rows added as the other architectures' files hold them."""
    rows = _rows(T5[0])
    header, tasks = rows[0], rows[0][4:]
    for row in rows[1:]:
        if row[1] == "t5-base":
            row[1] = "google/t5-base"
    complete = next(r for r in rows[1:] if r[3] and float(r[3]) > 0 and all(r[4:]))
    stsb = header.index("stsb")
    negative = [*complete[:1], "someone/negative-stsb", *complete[2:]]
    negative[stsb] = "-3.5"
    rows += [
        [*complete[:3], "0.0", *[""] * len(tasks)],  # a duplicate whose probe is 0.0
        ["900", "google/t5-base", "70.0", "61.2", *complete[4:]],  # the base probed again
        ["901", "t5-base", "70.0", "", *complete[4:]],  # the base without its organisation
        ["902", "shifted/model", "70.0", "55.0", "rte", *complete[5:]],  # values shifted
        ["903", "huge/model", "70.0", "55.0", "150.0", *complete[5:]],
        negative,
    ]
    table = _write(tmp_path / "google_t5-base_table.csv", rows)
    shutil.copy(T5[1], tmp_path / "models_results_google_t5_base_pretrain.csv")
    [(found_table, baseline)] = published_pairs(tmp_path)
    arch = read_published(found_table, baseline)
    assert found_table == table and arch.base_id == "google/t5-base"
    assert arch.notes["rows of the base itself"] == 3
    assert arch.notes["duplicate rows of a model id (merged)"] == 1
    assert arch.notes["rows whose probe 0.0 or implausible: not selectable"] == 90
    assert sum(n for why, n in arch.notes.items() if why.startswith("rows corrupted")) == 2
    assert arch.probe[complete[1]] == float(complete[3])  # the duplicate's 0.0 did not win
    assert arch.models["someone/negative-stsb"]["stsb"] == -3.5  # a Spearman may be negative
    assert not {"shifted/model", "huge/model", "google/t5-base", "t5-base"} & set(arch.probe)


def test_a_baseline_in_points_or_a_missing_pair_is_refused(tmp_path):
    rows = _rows(ROBERTA[1], "\t")
    rows[1][2] = "82.1"
    baseline = _write(tmp_path / "models_results_roberta_base_pretrain.csv", rows, "\t")
    with pytest.raises(ValueError, match="row 2 .*not a fraction"):
        read_published(ROBERTA[0], baseline)
    shutil.copy(ROBERTA[0], tmp_path / "bert-base-cased_table.csv")
    with pytest.raises(ValueError, match="models_results_bert_base_cased_pretrain.csv"):
        published_pairs(tmp_path)


def test_a_task_column_the_baseline_lacks_is_left_out_and_said(tmp_path):
    rows = _rows(ROBERTA[0])
    rows[0] = [*rows[0], "new_task"]
    rows[1:] = [[*row, "50.0"] for row in rows[1:]]
    table = _write(tmp_path / "roberta-base_table.csv", rows)
    arch = read_published(table, ROBERTA[1])
    assert "new_task" not in arch.tasks and len(arch.tasks) == 36 and len(arch.models) == 385
    assert arch.notes["task column without baseline seeds, left out: new_task"] == 1
