"""The real workflow end to end on the micro demo: pages match tables match cells; partial
reruns plan only what changed; bad input fails clearly without losing results."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from model_recycling.probing.selection import finetuned, read_selection
from tests.support.workflow import (
    REPO,
    load_config,
    make_run_command,
    planned_jobs,
    snakemake,
    write_config,
)

pytestmark = pytest.mark.slow

ARCH = "results/architectures/demo-bert"
T5 = "results/architectures/demo-t5"
# What any new result replans after aggregation: the pages, their HTML, the model cards
REPORT_JOBS = {"render": 1, "html_site": 1, "model_cards": 1, "all": 1}


def finetuned_per_arch(workdir) -> dict:
    """Candidates finetuned per architecture: the top-k and the calibration sample."""
    return {
        arch.name: sum(finetuned(row) for row in read_selection(arch / "selected.tsv"))
        for arch in (workdir / "results/architectures").iterdir()
    }


@pytest.fixture
def run(micro_run):
    """The session's complete micro run (tests/conftest.py); tests below only read it or dry-run
    against it (those that change files work on their own copy)."""
    return micro_run


def fork(run, tmp_path) -> Path:
    """A copy of the finished run (workflow, results and Snakemake's metadata)."""
    workdir = tmp_path / "fork"
    shutil.copytree(run[0], workdir, symlinks=True)
    return workdir


def read_cells(workdir: Path) -> list:
    return [json.loads(p.read_text()) for p in sorted((workdir / ARCH / "cells").rglob("*.json"))]


def test_pages_match_tables_match_cells(run):
    workdir, config, _ = run
    cells = read_cells(workdir)
    base_cells = [c for c in cells if c["role"] == "baseline"]
    assert len(base_cells) == len(config["targets"]) * len(config["baseline_seeds"])
    for cell in cells:
        assert cell["status"] == "ok"
        assert cell["n_eval"] == cell["n_eval_expected"]
        if cell["metric"] == "accuracy":
            assert cell["score"] == cell["n_correct"] / cell["n_eval"]
        for key in (
            "model_revision",
            "task_fingerprint",
            "hyperparameters",
            "packages",
            "code_version",
        ):
            assert cell[key], key

    # ranking.csv from the cell files, keyed by task name
    ranking = pd.read_csv(workdir / ARCH / "tables/ranking.csv")
    baseline = pd.read_csv(workdir / ARCH / "tables/baseline.csv", index_col="task")
    assert len(ranking) == finetuned_per_arch(workdir)["demo-bert"] == config["top_k"] + 1
    for _, row in ranking.iterrows():
        mine = [c for c in cells if c["model_id"] == row.model_id]
        for task in config["targets"]:
            expected = (
                100 * sum(c["score"] for c in mine if c["task"] == task) / len(config["seeds"])
            )
            assert row[task] == pytest.approx(expected)
        assert row.avg == pytest.approx(
            sum(row[t] for t in config["targets"]) / len(config["targets"])
        )
    for task in config["targets"]:
        scores = [100 * c["score"] for c in base_cells if c["task"] == task]
        assert baseline.loc[task, "mean"] == pytest.approx(sum(scores) / len(scores))

    # index.md: one architecture row, numbers as in the CSVs
    index = (workdir / "results/site/index.md").read_text()
    rows = [line for line in index.splitlines() if line.startswith("| [tiny-bert-base]")]
    assert len(rows) == 1
    cols = [c.strip() for c in rows[0].strip("|").split("|")]
    best = ranking.iloc[0]
    assert best.model_id in cols[1]
    assert cols[2] == f"{best.avg:.2f}"
    assert cols[3] == f"{baseline.loc['avg', 'mean']:.2f}"
    t5_ranking = pd.read_csv(workdir / T5 / "tables/ranking.csv")
    probed = sum(
        json.loads((workdir / arch / "tables/counts.json").read_text())["probed"]
        for arch in (ARCH, T5)
    )
    assert (
        f"Tested so far: {len(ranking) + len(t5_ranking)} fully tested on every target task, "
        f"{probed} ranked by the probe"
    ) in index
    assert index.startswith('---\nlayout: default\ntitle: "Home"\n')

    site = workdir / "results/site"
    for page in (
        "Rankings.md",
        "faq.md",
        "demo-bert_table.md",
        "demo-bert_pretrain_scores_table.md",
    ):
        assert (site / page).is_file(), page
    for model_id in ranking.model_id:
        assert (site / f"model_gain_chart/demo-bert/{model_id}.svg").read_text().startswith("<svg ")
    manifest = json.loads((site / "manifest.json").read_text())
    assert manifest["config"]["targets"] == config["targets"]
    assert manifest["seeds"]["baseline"] == config["baseline_seeds"]
    assert manifest["model_revisions"]["demo-bert"][best.model_id] == best.revision
    metas = [
        json.loads((workdir / f"results/tasks/{t}/meta.json").read_text())
        for t in config["targets"]
    ]
    assert manifest["task_fingerprints"] == {m["task"]: m["fingerprint"] for m in metas}
    faq = (site / "faq.md").read_text()
    assert f"| learning_rate | {config['finetune']['learning_rate']} |" in faq
    # every link on the pages points at a file that exists
    for page in site.rglob("*.md"):
        for target in re.findall(r"\]\(([^)#?]+)\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name} -> {target}"


def test_broken_and_mismatched_candidates_are_recorded(run):
    workdir = run[0]
    candidates = pd.read_csv(workdir / ARCH / "candidates.tsv", sep="\t", index_col="model_id")
    assert candidates.loc["decoy-wider", "status"] == "excluded"
    assert "hidden_size" in candidates.loc["decoy-wider", "reason"]
    assert "no weight files" in candidates.loc["decoy-no-weights", "reason"]
    assert candidates.loc["tiny-bert-base", "reason"] == "the base model itself"
    selection = pd.read_csv(workdir / ARCH / "selected.tsv", sep="\t", index_col="model_id")
    assert selection.loc["decoy-no-tokenizer", "status"] == "failed"
    assert "no tokenizer files" in selection.loc["decoy-no-tokenizer", "reason"]
    assert selection.loc["decoy-no-tokenizer", "selected"] == "no"


def test_calibration_draw_is_finetuned_and_ranked_and_probes_record_every_proxy(run):
    workdir, config, _ = run
    selection = pd.read_csv(workdir / ARCH / "selected.tsv", sep="\t", index_col="model_id")
    drawn = selection[selection.calibration == "yes"]
    assert len(drawn) == 1 and (drawn.selected == "no").all() and (drawn.status == "ok").all()
    model = drawn.safe_name.iloc[0]
    cells = sorted((workdir / ARCH / "cells" / model).rglob("*.json"))
    assert len(cells) == len(config["targets"]) * len(config["seeds"])
    assert drawn.index[0] in set(pd.read_csv(workdir / ARCH / "tables/ranking.csv").model_id)
    for path in (workdir / ARCH / "probe").glob("*.json"):
        probe = json.loads(path.read_text())
        if probe["status"] == "ok":
            assert set(probe["proxies"]) == {"linear_probe", "logme", "hscore", "knn"}
            assert probe["proxies"]["linear_probe"] == probe["score"]


def test_changing_rank_by_reprobes_nothing(run, tmp_path):
    plan = _plan_after(run, tmp_path, lambda c, w: c["probe"].update(rank_by="logme"))
    assert "probe" not in plan and plan["select"] == len(run[1]["architectures"])


def test_complete_run_plans_nothing(run):
    workdir, _, configfile = run
    assert planned_jobs(snakemake(workdir, configfile, "-n")) == {}


def _plan_after(run, tmp_path, change):
    workdir = fork(run, tmp_path)
    config = load_config(run[2])
    change(config, workdir)
    return planned_jobs(snakemake(workdir, write_config(workdir, config), "-n"))


def test_adding_a_task_plans_only_its_cells(run, tmp_path):
    config = run[1]
    plan = _plan_after(run, tmp_path, lambda c, w: c["targets"].append("demo_stance"))
    aggregates = len(config["architectures"])
    cells = sum(
        len(config["baseline_seeds"]) + k * len(config["seeds"])
        for k in finetuned_per_arch(run[0]).values()
    )
    assert plan == {
        "prepare_task": 1,
        "finetune": cells,
        "aggregate": aggregates,
        **REPORT_JOBS,
    }


def test_adding_a_seed_plans_only_its_cells(run, tmp_path):
    config = run[1]
    plan = _plan_after(run, tmp_path, lambda c, w: c["seeds"].append(7))
    cells = sum(finetuned_per_arch(run[0]).values()) * len(config["targets"])
    assert plan == {"finetune": cells, "aggregate": 2, **REPORT_JOBS}


def test_adding_a_baseline_seed_plans_only_its_cells(run, tmp_path):
    config = run[1]
    plan = _plan_after(run, tmp_path, lambda c, w: c["baseline_seeds"].append(9))
    cells = len(config["architectures"]) * len(config["targets"])
    assert plan == {"finetune": cells, "aggregate": 2, **REPORT_JOBS}


def test_adding_a_candidate_plans_its_probe(run, tmp_path):
    def add(config, workdir):
        config["architectures"]["demo-bert"]["candidates"]["only"].append("nli-tuned")

    # Whether it enters the top-k is known only after probing (select is a checkpoint).
    plan = _plan_after(run, tmp_path, add)
    assert plan == {"probe": 1, "select": 1, "aggregate": 1, **REPORT_JOBS}


def test_deleting_a_cell_plans_only_that_cell(run, tmp_path):
    def delete(config, workdir):
        next((workdir / ARCH / "cells").rglob("seed0.json")).unlink()

    plan = _plan_after(run, tmp_path, delete)
    assert plan == {"finetune": 1, "aggregate": 1, **REPORT_JOBS}


def test_new_candidate_run_computes_only_new_cells(run, tmp_path):
    """The monthly rerun: a new candidate appears; old cells stay untouched, and every fully
    tested model stays on the pages, also one the new candidate pushes out of the top-k."""
    workdir = fork(run, tmp_path)
    config = load_config(run[2])
    tested_before = set(pd.read_csv(workdir / ARCH / "tables/ranking.csv").model_id)
    before = {p: p.stat().st_mtime_ns for p in (workdir / ARCH / "cells").rglob("*.json")}
    config["architectures"]["demo-bert"]["candidates"]["only"].append("nli-tuned")
    config["top_k"] = 1  # at most one model is selected now
    snakemake(workdir, write_config(workdir, config))
    after = {p: p.stat().st_mtime_ns for p in (workdir / ARCH / "cells").rglob("*.json")}
    assert all(after[p] == t for p, t in before.items()), "an existing cell was recomputed"
    selection = pd.read_csv(workdir / ARCH / "selected.tsv", sep="\t")
    selected = set(selection[selection.selected == "yes"].model_id)
    assert len(selected) == 1
    selected |= set(selection[selection.calibration == "yes"].model_id)  # and one drawn
    new_models = {p.parent.parent.name for p in set(after) - set(before)}
    assert new_models == selected - tested_before  # only a newly selected model ran, if any
    ranking = set(pd.read_csv(workdir / ARCH / "tables/ranking.csv").model_id)
    assert ranking == tested_before | selected


def test_unknown_config_key_names_the_key(run, tmp_path):
    config = load_config(run[2])
    config["finetune"]["learning_rte"] = 0.1
    result = snakemake(run[0], write_config(tmp_path, config), "-n", check=False)
    assert result.returncode != 0
    assert "learning_rte" in result.stdout + result.stderr


def test_wrong_type_names_the_key(run, tmp_path):
    config = load_config(run[2])
    config["top_k"] = "three"
    result = snakemake(run[0], write_config(tmp_path, config), "-n", check=False)
    assert result.returncode != 0
    assert "top_k" in result.stdout + result.stderr and "three" in result.stdout + result.stderr


def test_unknown_task_names_the_task(run, tmp_path):
    config = load_config(run[2])
    config["targets"].append("no_such_task")
    result = snakemake(run[0], write_config(tmp_path, config), "-n", check=False)
    assert result.returncode != 0
    assert "no_such_task" in result.stdout + result.stderr


def test_missing_candidate_names_the_model(run, tmp_path):
    config = load_config(run[2])
    config["architectures"]["demo-bert"]["candidates"]["only"].append("no-such-model")
    result = snakemake(run[0], write_config(tmp_path, config), "-n", check=False)
    assert result.returncode != 0
    assert "no-such-model" in result.stdout + result.stderr


def test_task_with_missing_column_fails_naming_it_keeps_results_and_renders(run, tmp_path):
    """A target whose data cannot be used is recorded as failed and the run goes on to its
    pages (the real protocol's ISEAR without its manual file): every page renders, the home
    page and the FAQ name the task, the manifest gives its reason instead of a fingerprint."""
    workdir = fork(run, tmp_path)
    registry = workdir / "resources/tasks/demo.yaml"
    text = registry.read_text().replace(
        'inputs: ["sentence"]\n  label: "label"\n  labels: ["negative", "neutral", "positive"]',
        'inputs: ["sentense"]\n  label: "label"\n  labels: ["negative", "neutral", "positive"]',
    )
    registry.write_text(text)
    config = load_config(run[2])
    config["targets"].append("demo_stance")
    before = {p: p.stat().st_mtime_ns for p in (workdir / "results").rglob("*.json")}
    result = snakemake(workdir, write_config(workdir, config), check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = (workdir / "results/logs/prepare_task/demo_stance.log").read_text()
    assert "demo_stance" in log and "'sentense'" in log
    for path, mtime in before.items():
        # what was computed (cells, probes, task data, the zoo) stays as it was
        assert path.exists(), path
        if any(part in path.parts for part in ("cells", "probe", "tasks", "demo_zoo")):
            assert path.stat().st_mtime_ns == mtime, path
    site, html = workdir / "results/site", workdir / "results/site_html"
    assert not (workdir / "results/site.previous").exists()
    index = (site / "index.md").read_text()
    assert "could not be prepared: demo_stance" in index
    assert "| demo_stance |" in (site / "faq.md").read_text()
    manifest = json.loads((site / "manifest.json").read_text())
    assert manifest["task_fingerprints"]["demo_stance"].startswith("failed: ")
    pages = {p.stem for p in site.glob("*.md")}
    assert pages <= {p.stem for p in html.glob("*.html")} and "index" in pages


def test_t5_architecture_goes_through_probe_finetune_and_pages(run):
    workdir, config, _ = run
    candidates = pd.read_csv(workdir / T5 / "candidates.tsv", sep="\t", index_col="model_id")
    assert candidates.loc["t5-topic-tuned", "status"] == "ok"
    assert "model_type bert != base t5" in candidates.loc["topic-tuned", "reason"]
    probe = json.loads((workdir / T5 / "probe/t5-topic-tuned.json").read_text())
    assert probe["status"] == "ok" and 0 < probe["score"] <= 1  # the reference's T5 probes gave 0.0
    cells = [json.loads(p.read_text()) for p in (workdir / T5 / "cells").rglob("*.json")]
    assert len(cells) == len(config["targets"]) * (len(config["baseline_seeds"]) + 1)
    assert all(c["status"] == "ok" and c["n_eval"] == c["n_eval_expected"] for c in cells)
    site = workdir / "results/site"
    assert "| [tiny-t5-base](demo-t5_pretrain_scores_table.md)" in (site / "index.md").read_text()
    assert "t5-topic-tuned" in (site / "demo-t5_table.md").read_text()


def _manifest_without_times(path: Path) -> dict:
    """The manifest, less any time of day or duration (none today; helpers may add them)."""

    def strip(value):
        if isinstance(value, dict):
            return {
                k: strip(v)
                for k, v in value.items()
                if not (k.endswith("_at") or k.endswith("_seconds"))
            }
        return value

    return strip(json.loads(path.read_text()))


def _site_files(workdir: Path) -> dict:
    """The markdown site and its HTML rendering, every file."""
    results = workdir / "results"
    files = [*(results / "site").rglob("*"), *(results / "site_html").rglob("*")]
    return {p.relative_to(results): p for p in sorted(files) if p.is_file()}


def test_killed_run_resumes_to_the_same_pages(run, tmp_path):
    """SIGKILL the whole `make run` mid-finetuning, run it again: it resumes by itself (stale
    lock, half-made outputs) and publishes the same bytes as an uninterrupted run.

    It starts from a copy of the finished run less the T5 architecture's cells and every page,
    so the kill lands among finetuning jobs without building the demo zoo and probing again."""
    workdir = fork(run, tmp_path)
    shutil.rmtree(workdir / T5 / "cells")
    for pages in ("site", "site_html"):
        shutil.rmtree(workdir / "results" / pages)
    command, env = make_run_command(workdir / run[2].name)
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 600
    while not list((workdir / T5 / "cells").glob("*/*/seed*.json")):
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # make, Snakemake and every running job
    first.wait()
    assert list((workdir / ".snakemake/locks").iterdir()), "the killed run left no lock"

    second = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "resuming a run that was interrupted" in second.stdout
    mine, uninterrupted = _site_files(workdir), _site_files(run[0])
    assert set(mine) == set(uninterrupted)
    differ = [
        name
        for name, path in mine.items()
        if (
            _manifest_without_times(path) != _manifest_without_times(uninterrupted[name])
            if name.name == "manifest.json"
            else path.read_bytes() != uninterrupted[name].read_bytes()
        )
    ]
    assert not differ, f"pages differ from an uninterrupted run: {differ}"


def test_resume_refuses_while_another_snakemake_runs_here(tmp_path):
    """A live Snakemake whose working directory is this one holds the lock for real."""
    (tmp_path / ".snakemake/locks").mkdir(parents=True)
    (tmp_path / ".snakemake/locks/0.input.lock").write_text("x")
    fake = tmp_path / "bin/snakemake"  # a process named snakemake, working in tmp_path
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    fake.chmod(0o755)
    other = subprocess.Popen([str(fake)], cwd=tmp_path)
    try:
        command, env = make_run_command(tmp_path / "config.yaml")
        env["PYTHONPATH"] = str(REPO)  # no workflow copy here
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    finally:
        other.kill()
        other.wait()
    assert result.returncode == 1
    assert f"another run is working in {tmp_path} (pid {other.pid}); wait for it, or stop it" in (
        result.stderr
    )
    assert "--unlock" not in result.stderr
