"""Aggregation validates every record: real cells and a real probe record (tiny models really
finetuned and probed), each copied with one defect planted, are caught with a reason naming the
defect, never rank, and are listed on the architecture's ranking page with file and reason."""

import json
import math
import shutil

import pytest

from model_recycling.finetuning.cell import finetune_cell
from model_recycling.listing.local import content_revision
from model_recycling.naming import safe_name
from model_recycling.pages.escaping import text
from model_recycling.pages.site import render_site
from model_recycling.probing.job import probe_candidate
from model_recycling.settings import fill_defaults
from model_recycling.tables.aggregate import aggregate_architecture
from model_recycling.tasks.prepare import load_prepared
from model_recycling.validation import implausible, validate_cell, validate_probe

TASKS = ["demo_topic", "demo_similarity"]  # accuracy and Spearman
BASE, CANDIDATE = "tiny-base", "org/cand"
FINETUNE = {"epochs": 1, "learning_rate": 0.002, "batch_size": 32, "eval_every_steps": 5,
            "patience": 2, "max_length": 32, "device": "cpu"}  # fmt: skip
PROBE = {"max_length": 32, "batch_size": 64, "pooling": "mean", "l2": 0.001, "max_iter": 20,
         "device": "cpu"}  # fmt: skip


@pytest.fixture(scope="module")
def real(tiny_zoo, tmp_path_factory):
    """Real cells of the base (2 seeds) and of a candidate (a copy of the base, 1 seed), and a
    real probe record of the candidate, laid out as a run lays them out."""
    root = tmp_path_factory.mktemp("real")
    arch = root / "results" / "architectures" / "demo"
    candidate_dir = root / "cand"
    shutil.copytree(tiny_zoo / "base", candidate_dir)
    prepared = tiny_zoo / "prepared"
    for model_id, model_dir, seeds in ((BASE, tiny_zoo / "base", [0, 1]),
                                       (CANDIDATE, candidate_dir, [0])):  # fmt: skip
        role = "baseline" if model_id == BASE else "candidate"
        for task in TASKS:
            for seed in seeds:
                out = arch / "cells" / safe_name(model_id) / task / f"seed{seed}.json"
                finetune_cell("demo", model_id, role, model_dir, "auto", prepared / task,
                              FINETUNE, seed, out)  # fmt: skip
    probe_out = arch / "probe" / f"{safe_name(CANDIDATE)}.json"
    probe_candidate(CANDIDATE, candidate_dir, content_revision(candidate_dir),
                    prepared / "demo_nli", PROBE, probe_out)  # fmt: skip
    metas = {t: load_prepared(prepared / t).meta for t in [*TASKS, "demo_nli"]}
    revisions = {
        BASE: content_revision(tiny_zoo / "base"),
        CANDIDATE: content_revision(candidate_dir),
    }
    return arch, metas, revisions


def read(path):
    return json.loads(path.read_text())


def cell_path(arch, model_id, task, seed=0):
    return arch / "cells" / safe_name(model_id) / task / f"seed{seed}.json"


def _drop(key):
    return lambda r: r.pop(key)


# name -> (record kind, task, how to plant the defect, what the reason must say)
DEFECTS = {
    "missing_key": ("cell", "demo_topic", _drop("score"), "missing key 'score'"),
    "wrong_type": ("cell", "demo_topic", lambda r: r.update(n_eval="100"), "'n_eval' is '"),
    "bool_seed": ("cell", "demo_topic", lambda r: r.update(seed=True), "'seed' is True"),
    "accuracy_above_1": ("cell", "demo_topic", lambda r: r.update(score=1.2), "outside the"),
    "spearman_below_-1": ("cell", "demo_similarity", lambda r: r.update(score=-1.5), "range"),
    "shifted_count": (
        "cell",
        "demo_topic",
        lambda r: r.update(n_correct=r["n_correct"] - 1),
        "is not n_correct / n_eval",
    ),  # fmt: skip
    "eval_size": (
        "cell",
        "demo_similarity",
        lambda r: r.update(n_eval=r["n_eval"] - 1),
        "is not the task's evaluation size",
    ),  # fmt: skip
    "fingerprint": (
        "cell",
        "demo_topic",
        lambda r: r.update(task_fingerprint="old"),
        "task fingerprint old is not the current",
    ),  # fmt: skip
    "revision": (
        "cell",
        "demo_similarity",
        lambda r: r.update(model_revision="content-old"),
        "model revision content-old is not the current",
    ),  # fmt: skip
    "nan_dev_score": (
        "cell",
        "demo_topic",
        lambda r: r.update(dev_score=math.nan),
        "'dev_score' is not a finite number",
    ),  # fmt: skip
    "nan_score": (
        "cell",
        "demo_similarity",
        lambda r: r.update(score=math.nan),
        "'score' is not a finite number",
    ),  # fmt: skip
    "metric": ("cell", "demo_topic", lambda r: r.update(metric="spearman"), "metric 'spearman'"),
    "probe_count": (
        "probe",
        "demo_nli",
        lambda r: r.update(n_correct=r["n_correct"] + 1),
        "is not n_correct / n_eval",
    ),  # fmt: skip
    "probe_revision": (
        "probe",
        "demo_nli",
        lambda r: r.update(model_revision="x"),
        "model revision x is not",
    ),  # fmt: skip
    "probe_zero": (
        "probe",
        "demo_nli",
        lambda r: r.update(score=0.0, n_correct=0),
        "implausible: accuracy 0 on",
    ),  # fmt: skip
    "probe_below_chance": (
        "probe",
        "demo_nli",
        lambda r: r.update(n_correct=r["n_eval"] // 6, score=(r["n_eval"] // 6) / r["n_eval"]),
        "is below chance 0.3333 by more than 1 standard error",
    ),  # fmt: skip
}


def test_real_records_are_valid(real):
    arch, metas, revisions = real
    cells = sorted((arch / "cells").rglob("*.json"))
    assert len(cells) == 6
    for path in cells:
        assert validate_cell(read(path), metas, revisions) == "", path
    probe = read(arch / "probe" / f"{safe_name(CANDIDATE)}.json")
    assert probe["status"] == "ok"
    assert validate_probe(probe, metas["demo_nli"], revisions) == ""


def test_implausible_probe_scores_by_hand():
    # 3 classes on 9,832 examples: chance 1/3, one standard error sqrt(1/3 * 2/3 / 9832) = 0.00475
    se = math.sqrt(1 / 3 * 2 / 3 / 9832)
    assert implausible(1 / 3 - 0.99 * se, 9832, 3) == ""
    assert "below chance 0.3333 by more than 1 standard error (0.0048)" in (
        implausible(1 / 3 - 1.01 * se, 9832, 3)
    )
    assert (
        implausible(0.0, 9832, 3) == "implausible: accuracy 0 on 9,832 examples of a 3-class task"
    )
    assert implausible(0.2, 9832, 2) != "" and implausible(0.497, 9832, 2) == ""
    assert implausible(0.0, 9832, None) == ""  # no class count: nothing to compare with


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_defect_is_caught_and_named(real, defect):
    arch, metas, revisions = real
    kind, task, plant, reason = DEFECTS[defect]
    if kind == "cell":
        record = read(cell_path(arch, CANDIDATE, task))
        plant(record)
        assert reason in validate_cell(record, metas, revisions)
    else:
        record = read(arch / "probe" / f"{safe_name(CANDIDATE)}.json")
        plant(record)
        assert reason in validate_probe(record, metas["demo_nli"], revisions)


def test_planted_defects_never_rank_and_are_shown(real, tmp_path):
    """One candidate per defect, each a copy of the real candidate with one field changed."""
    source, metas, revisions = real
    arch = tmp_path / "results" / "architectures" / "demo"
    shutil.copytree(source, arch)
    revisions = dict(revisions)
    planted = {}
    for name, (kind, task, plant, _) in DEFECTS.items():
        model_id = f"bad-{name}"
        revisions[model_id] = revisions[CANDIDATE]
        for t in TASKS:
            record = read(cell_path(source, CANDIDATE, t))
            record["model_id"] = model_id
            if kind == "cell" and t == task:
                plant(record)
            path = cell_path(arch, model_id, t)
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(record))  # bare NaN, as a careless writer would
        probe = read(source / "probe" / f"{safe_name(CANDIDATE)}.json") | {"model_id": model_id}
        if kind == "probe":
            plant(probe)
        path = arch / "probe" / f"{safe_name(model_id)}.json"
        path.write_text(json.dumps(probe))
        if kind == "probe":
            planted[model_id] = path
        else:
            planted[model_id] = cell_path(arch, model_id, task)

    tables = aggregate_architecture(arch, BASE, TASKS, [0], [0, 1], metas, metas["demo_nli"],
                                    revisions, tmp_path / "tables")  # fmt: skip
    ranking = tables["ranking"].set_index("model_id")
    invalid = tables["invalid"].set_index("path")
    for name, (kind, _, _, reason) in DEFECTS.items():
        model_id, path = f"bad-{name}", str(planted[f"bad-{name}"])
        assert reason in invalid.loc[path, "reason"], name
        assert invalid.loc[path, "kind"] == kind
        if kind == "cell":
            assert model_id not in ranking.index, name
        else:  # the cells are fine; the invalid probe score is not shown
            assert math.isnan(ranking.loc[model_id, "probe_score"])
    assert len(invalid) == len(DEFECTS)
    assert ranking.loc[CANDIDATE, "probe_score"] > 0  # the real candidate still ranks

    counts = {"listed": 1, "excluded": 0, "probed": 1, "probe_failed": 0,
              "tested": len(ranking), "invalid": len(invalid),
              "invalid_models": tables["invalid"].model_id.nunique()}  # fmt: skip
    settings = fill_defaults({
        "targets": TASKS, "seeds": [0], "baseline_seeds": [0, 1], "top_k": 1,
        "task_meta": {t: metas[t] for t in TASKS}, "finetune": FINETUNE,
        "probe": {"task": "demo_nli", "pooling": "mean"},
        "dev_holdout": {"large_threshold": 10000, "large_size": 1000, "small_fraction": 0.1},
    })  # fmt: skip
    site = tmp_path / "site"
    info = {"base_id": BASE, "tables_dir": tmp_path / "tables", "counts": counts}
    render_site(site, {"demo": info}, settings)
    ranked = (site / "demo_table.md").read_text()
    shown = (site / "demo_invalid.md").read_text()
    models = len({f"bad-{name}" for name in DEFECTS})
    assert f"{len(DEFECTS)} records of {models} models failed the checks" in ranked
    for name, (kind, _, _, reason) in DEFECTS.items():
        row = next(line for line in shown.splitlines() if line.startswith(f"| bad-{name} |"))
        assert f"| 1 {kind} | {kind}: " in row and text(reason) in row, name
        if kind == "cell":
            assert f"bad-{name}" not in ranked
    assert (
        f"{len(DEFECTS)} invalid records of {models} models" in (site / "Rankings.md").read_text()
    )
