"""Selection: ranking by the configured proxy, and the seeded calibration sample."""

import json
import os
import subprocess
import sys

import pytest

from model_recycling.io import atomic_write_json
from model_recycling.probing.selection import calibration_sample, read_selection, select_top_k
from tests.support.common import REPO

# What the select rule passes besides the top-k.
SELECT_RULE = ["--rank-by", "linear_probe", "--calibration-k", "0", "--calibration-seed", "0"]


def probe(model_id, score, logme=None, status="ok", notes=None):
    record = {"model_id": model_id, "model_revision": "r", "status": status, "reason": ""}
    if status != "ok":
        return {**record, "score": None, "reason": "OSError: no tokenizer files"}
    proxies = {"linear_probe": score, "logme": logme, "hscore": 1.0, "knn": 0.5}
    return {**record, "score": score, "proxies": proxies, "proxy_notes": notes or {}}


PROBES = [
    probe("a", 0.9, logme=-2.0),
    probe("b", 0.5, logme=-0.5),
    probe("c", 0.7, logme=-1.0),
    probe("d", 0.6, logme=None, notes={"logme": "not a finite number (nan)"}),
    probe("broken", None, status="failed"),
]


def order(rows):
    return [(row["model_id"], row["rank"], row["selected"]) for row in rows]


def test_rank_by_linear_probe_is_the_default():
    rows = select_top_k(PROBES, 2, rank_by="linear_probe")
    assert order(rows) == [
        ("a", 1, "yes"), ("c", 2, "yes"), ("d", 3, "no"), ("b", 4, "no"), ("broken", "", "no"),
    ]  # fmt: skip
    assert rows[0]["probe_score"] == 0.9 and rows[0]["logme"] == -2.0
    assert rows[2]["logme"] == ""  # recorded as null: an empty cell


def test_rank_by_logme_orders_by_logme_and_leaves_models_without_it_unranked():
    rows = select_top_k(PROBES, 2, rank_by="logme")
    assert order(rows) == [
        ("b", 1, "yes"), ("c", 2, "yes"), ("a", 3, "no"), ("broken", "", "no"), ("d", "", "no"),
    ]  # fmt: skip
    d = rows[-1]
    assert d["status"] == "ok"
    assert d["reason"] == "no logme value to rank by: not a finite number (nan)"


def test_rank_by_a_proxy_an_old_probe_record_lacks_says_how_to_get_it():
    old = {"model_id": "old", "model_revision": "r", "status": "ok", "score": 0.8}
    rows = select_top_k([old, *PROBES[:3]], 1, rank_by="knn")
    assert rows[-1]["model_id"] == "old" and "delete the probe file" in rows[-1]["reason"]
    assert (
        select_top_k([old], 1, rank_by="linear_probe")[0]["selected"] == "yes"
    )  # the linear probe still ranks it


def test_unknown_rank_by_names_the_key():
    with pytest.raises(ValueError, match=r"probe.rank_by: 'accuracy' is not one of"):
        select_top_k(PROBES, 2, rank_by="accuracy")


def many_probes(n):
    return [probe(f"org/model-{i:02d}", (i * 37 % 101) / 101) for i in range(n)]


def test_calibration_sample_is_seeded_disjoint_from_the_top_k_and_only_ok_probes():
    probes = [*many_probes(30), probe("broken", None, status="failed")]
    rows = select_top_k(probes, 5, calibration_k=4, calibration_seed=3, rank_by="linear_probe")
    drawn = [row for row in rows if row["calibration"] == "yes"]
    assert len(drawn) == 4
    assert all(row["selected"] == "no" and row["status"] == "ok" for row in drawn)
    assert sum(row["selected"] == "yes" for row in rows) == 5
    # deterministic: the same draw again, whatever the order the probes come in
    again = select_top_k(
        probes[::-1], 5, calibration_k=4, calibration_seed=3, rank_by="linear_probe"
    )
    assert {r["model_id"] for r in again if r["calibration"] == "yes"} == {
        r["model_id"] for r in drawn
    }
    # another seed draws another sample
    other = select_top_k(probes, 5, calibration_k=4, calibration_seed=4, rank_by="linear_probe")
    assert {r["model_id"] for r in other if r["calibration"] == "yes"} != {
        r["model_id"] for r in drawn
    }
    # not simply the next ones in the ranking: a random draw over the rest
    assert sorted(int(r["rank"]) for r in drawn) != [6, 7, 8, 9]


def test_calibration_sample_size_is_min_of_k_and_what_is_left():
    probes = [*many_probes(4), probe("broken", None, status="failed")]
    rows = select_top_k(probes, 2, calibration_k=5, rank_by="linear_probe")
    assert [r["model_id"] for r in rows if r["calibration"] == "yes"] == [
        r["model_id"] for r in rows if r["selected"] == "no" and r["status"] == "ok"
    ]
    assert len([r for r in rows if r["calibration"] == "yes"]) == 2
    assert all(
        r["calibration"] == "no"
        for r in select_top_k(probes, 4, calibration_k=3, rank_by="linear_probe")
    )
    assert all(
        r["calibration"] == "no" for r in select_top_k(probes, 1, rank_by="linear_probe")
    )  # default: none


def test_calibration_sample_stays_as_candidates_arrive():
    ids = [f"org/model-{i:02d}" for i in range(40)]
    before = set(calibration_sample(ids[:30], 5, seed=0))
    after = set(calibration_sample(ids, 5, seed=0))
    # each newcomer displaces at most one earlier draw, and only by being drawn itself
    assert len(before - after) == len(after - set(ids[:30])) < 5
    assert calibration_sample(ids, 5, seed=0) == calibration_sample(ids[::-1], 5, seed=0)


def test_select_script_writes_the_calibration_column(tmp_path):
    paths = []
    for record in [*many_probes(6), probe("broken", None, status="failed")]:
        path = tmp_path / f"{len(paths)}.json"
        atomic_write_json(path, record)
        paths.append(str(path))
    out = tmp_path / "selected.tsv"
    command = [
        sys.executable, "scripts/select_top_k.py", "--probes", *paths, "--top-k", "2", *SELECT_RULE,
        "--rank-by", "knn", "--calibration-k", "2", "--calibration-seed", "1", "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # as the workflow's shell prefix sets it
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    rows = read_selection(out)
    assert [r["calibration"] for r in rows].count("yes") == 2
    assert [r["selected"] for r in rows].count("yes") == 2
    assert list(rows[0])[-2:] == ["selected", "calibration"]


def test_select_script_reads_the_usable_candidates_probes_from_their_folder(tmp_path):
    """Thousands of probe paths overflow one shell command (Linux caps an argument at 128 KiB):
    the workflow passes the probe folder and the listing; a probe file left by a candidate the
    filters now exclude is not read."""
    from model_recycling.listing.candidates import Candidate, write_candidates
    from model_recycling.naming import safe_name

    records = many_probes(4)
    write_candidates(
        tmp_path / "candidates.tsv",
        [Candidate(r["model_id"], "r", "hub") for r in records]
        + [Candidate("org/big", "r", "hub", "excluded", "size")],
    )
    for record in records:
        atomic_write_json(tmp_path / "probe" / f"{safe_name(record['model_id'])}.json", record)
    out, excluded = tmp_path / "selected.tsv", records[0]["model_id"]
    command = [
        sys.executable, "scripts/select_top_k.py", "--probe-dir", str(tmp_path / "probe"),
        "--candidates", str(tmp_path / "candidates.tsv"), "--arch", "bert",
        "--filters", json.dumps({"exclude": [excluded]}), "--top-k", "2", *SELECT_RULE,
        "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    ranked = {row["model_id"] for row in read_selection(out)}
    assert ranked == {r["model_id"] for r in records[1:]}


def test_selection_ranks_and_keeps_failures():
    probes = [
        {"model_id": "b", "model_revision": "1", "status": "ok", "score": 0.5},
        {"model_id": "a", "model_revision": "1", "status": "ok", "score": 0.5},
        {"model_id": "c", "model_revision": "1", "status": "ok", "score": 0.9},
        {
            "model_id": "x",
            "model_revision": "1",
            "status": "failed",
            "score": None,
            "reason": "boom",
        },
    ]
    rows = select_top_k(probes, 2, rank_by="linear_probe")
    assert [(r["model_id"], r["selected"]) for r in rows] == [
        ("c", "yes"),
        ("a", "yes"),
        ("b", "no"),
        ("x", "no"),
    ]
    assert rows[-1]["reason"] == "boom" and rows[-1]["rank"] == ""


def checked(model_id, n_correct, n_eval=9832, score=None):
    """A probe record as the probe writes it (validation.py's keys)."""
    return {
        "model_id": model_id, "model_revision": "r", "status": "ok", "reason": "",
        "task": "mnli", "task_fingerprint": "fp", "n_eval": n_eval, "n_correct": n_correct,
        "score": n_correct / n_eval if score is None else score,
    }  # fmt: skip


def test_selection_checks_every_probe_and_never_selects_a_refused_one(tmp_path):
    """As at the reference's scale: a score that is no whole count over the evaluation split
    (#4 there, at 84.95), an accuracy of exactly 0 on a 3-class task, an unreadable file."""
    from model_recycling.listing.candidates import Candidate, write_candidates
    from model_recycling.naming import safe_name
    from model_recycling.probing.selection import INVALID, select_job

    records = [
        checked("org/good", 8000), checked("org/fair", 7000), checked("org/weak", 5000),
        checked("org/shifted", 8352, score=0.849473), checked("org/zero", 0),
    ]  # fmt: skip
    for record in records:
        atomic_write_json(tmp_path / "probe" / f"{safe_name(record['model_id'])}.json", record)
    (tmp_path / "probe" / f"{safe_name('org/torn')}.json").write_text('{"model_id": "org/to')
    ids = [r["model_id"] for r in records] + ["org/torn"]
    write_candidates(tmp_path / "candidates.tsv", [Candidate(m, "r", "hub") for m in ids])
    meta = {"task": "mnli", "fingerprint": "fp", "sizes": {"eval": 9832}, "num_labels": 3}
    atomic_write_json(tmp_path / "meta.json", meta)
    rows = select_job(
        tmp_path / "selected.tsv", 3, "linear_probe", 0, 0, probe_dir=tmp_path / "probe",
        candidates_tsv=tmp_path / "candidates.tsv", arch="bert", probe_meta=tmp_path / "meta.json",
    )  # fmt: skip
    by_id = {row["model_id"]: row for row in read_selection(tmp_path / "selected.tsv")}
    assert [r["model_id"] for r in rows if r["selected"] == "yes"] == [
        "org/good", "org/fair", "org/weak",
    ]  # fmt: skip
    for model_id, reason in (
        ("org/shifted", "accuracy 0.849473 is not n_correct / n_eval = 8352/9832"),
        ("org/zero", "implausible: accuracy 0 on 9,832 examples of a 3-class task"),
        ("org/torn", "unreadable: JSONDecodeError"),
    ):
        row = by_id[model_id]
        assert (row["status"], row["rank"], row["selected"]) == (INVALID, "", "no"), model_id
        assert row["reason"].startswith(reason) and row["probe_score"] == "", model_id
