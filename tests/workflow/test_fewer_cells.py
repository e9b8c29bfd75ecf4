"""Fewer cells for the same answer, on real runs of the micro demo's models (README "Fewer
cells"): adaptive baseline seeds stop where a task's baseline mean is sure enough and add seeds
where it is not; racing stops a planted, clearly worse candidate (a copy of a finetuned model with
every weight zeroed, so it learns nothing) early and keeps the best; a run killed in the middle
of a round resumes to the same decisions, cells, tables and pages; an architecture's own
baseline_target_se reaches its rounds."""

import json
import os
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest
import torch

from tests.support.records import copy_model
from tests.support.run_digest import digest
from tests.support.workflow import (
    copy_workflow,
    load_config,
    make_run_command,
    planned_jobs,
    snakemake,
    write_config,
)

ARCH = "results/architectures/demo-bert"
TARGETS = ["demo_topic", "demo_same_topic", "demo_stance", "src_sentiment", "src_nli"]
SEEDS_RULE = {"min": 2, "max": 4, "step": 1, "target_se": 1.0}
# five tasks: at the default confidence (0.95 over every decision and pair) no bound from four
# tasks is narrow enough to stop anyone; at 0.5 the planted candidate is clearly behind early
RACING = {"first_round": 2, "round": 1, "confidence": 0.5}
CANDIDATES = ["topic-tuned", "sentiment-tuned", "nli-tuned"]
PLANTED = "zeroed"


def zero_every_weight(weights: dict) -> None:
    for name, tensor in weights.items():
        if tensor.is_floating_point():
            weights[name] = torch.zeros_like(tensor)


def workflow_with_models(workdir, micro_run):
    """A copy of the workflow with the micro run's task data and a local source of the tiny
    BERT, three of its finetunes and the planted one."""
    copy_workflow(workdir)
    zoo = micro_run[0] / "results/demo_zoo"
    shutil.copytree(zoo / "tasks", workdir / "results/demo_zoo/tasks")
    for name in ["tiny-bert-base", *CANDIDATES]:
        shutil.copytree(zoo / "models" / name, workdir / "models" / name)
    copy_model(zoo / "models/topic-tuned", workdir / "models" / PLANTED, zero_every_weight)
    config = load_config()
    arch = config["architectures"]["demo-bert"]
    arch["base_model"]["path"] = "models/tiny-bert-base"
    arch["source"]["path"] = "models"
    arch["candidates"]["only"] = [*CANDIDATES, PLANTED]
    arch["calibration_k"] = 0
    config["architectures"] = {"demo-bert": arch}
    config["demo_zoo"] = {"enabled": False}  # its task files are there; the models are above
    config.update(top_k=4, targets=TARGETS, baseline_seeds=SEEDS_RULE, racing=RACING)
    # enough training for the tiny models to learn some tasks, so that seeds disagree there
    config["finetune"].update(epochs=10, learning_rate=0.005, batch_size=16, eval_every_steps=10,
                              patience=100)  # fmt: skip
    return write_config(workdir, config, "fewer.yaml")


@pytest.fixture(scope="module")
def fewer(micro_run, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fewer_cells")
    configfile = workflow_with_models(workdir, micro_run)
    snakemake(workdir, configfile, timeout=1200)
    return workdir, configfile


def rounds(workdir, kind: str, task: str = "") -> list:
    folder = workdir / ARCH / "rounds" / kind / task
    paths = sorted(folder.glob("round*.json"), key=lambda p: int(p.stem.removeprefix("round")))
    return [json.loads(p.read_text()) for p in paths]


def test_adaptive_seeds_stop_where_the_target_is_met_and_add_where_not(fewer):
    workdir, _ = fewer
    baseline = pd.read_csv(workdir / ARCH / "tables/baseline.csv", index_col="task")
    final = {}
    for task in TARGETS:
        decided = rounds(workdir, "baseline", task)
        for decision in decided:  # each round adds seeds exactly while the target is missed
            se, asked = decision["standard_error"], len(decision["scores"])
            missed = se is None or se > SEEDS_RULE["target_se"]
            assert decision["more"] == (missed and asked < SEEDS_RULE["max"]), decision
        assert not decided[-1]["more"] and decided[-1]["seeds"] == [
            *range(len(decided[-1]["scores"]))
        ]
        final[task] = decided[-1]["seeds"]
        assert (
            final[task]
            == json.loads((workdir / ARCH / f"rounds/baseline/{task}/seeds.json").read_text())[
                "seeds"
            ]
        )
        # no baseline cell beyond the seeds asked for, and the table over exactly those
        cells = sorted((workdir / ARCH / "cells/tiny-bert-base" / task).glob("seed*.json"))
        assert [int(p.stem.removeprefix("seed")) for p in cells] == final[task]
        assert baseline.loc[task, "n_seeds"] == len(final[task])
        assert baseline.loc[task, "se"] == pytest.approx(decided[-1]["standard_error"])
    stopped_at_min = [t for t, s in final.items() if len(s) == SEEDS_RULE["min"]]
    added = [t for t, s in final.items() if len(s) > SEEDS_RULE["min"]]
    assert stopped_at_min and added, final
    page = (workdir / "results/site/demo-bert_pretrain_scores_table.md").read_text()
    assert "| task | mean | std | seeds | std. error |" in page


def test_racing_stops_the_planted_candidate_early_and_keeps_the_best(fewer):
    workdir, _ = fewer
    last = rounds(workdir, "racing")[-1]
    assert last["racing"] == [] and last["after_tasks"] == len(TARGETS)
    planted = last["decisions"][PLANTED]
    assert planted["status"] == "stopped" and planted["tasks"] < len(TARGETS)
    assert planted["why"] == "behind" and planted["upper"] < 0
    # it ran only the tasks before it was stopped: the cells racing saved were never made
    ran = sorted(p.parent.name for p in (workdir / ARCH / "cells" / PLANTED).glob("*/seed0.json"))
    assert ran == sorted(last["order"][: planted["tasks"]])
    ranking = pd.read_csv(workdir / ARCH / "tables/ranking.csv")
    finished = [m for m, row in last["decisions"].items() if row["status"] == "finished"]
    assert PLANTED not in set(ranking.model_id) and set(ranking.model_id) == set(finished)
    best = max(finished, key=lambda m: last["decisions"][m]["mean_gain"])
    assert ranking.model_id.iloc[0] == best
    outcomes = pd.read_csv(workdir / ARCH / "tables/candidates.csv").set_index("model_id")
    assert outcomes.loc[PLANTED, "outcome"] == "stopped by racing"
    assert outcomes.loc[PLANTED, "reason"].startswith(
        f"stopped after {planted['tasks']} of {len(TARGETS)} tasks: mean gain "
    )
    site = workdir / "results/site"
    assert (
        f"| {PLANTED} | stopped after {planted['tasks']} of {len(TARGETS)} tasks "
        "(behind the leader) |" in (site / "demo-bert_racing.md").read_text()
    )
    assert "[racing](demo-bert_racing.md)" in (site / "demo-bert_table.md").read_text()
    assert f"[{PLANTED}]" not in (site / "demo-bert_full_ranking.md").read_text()


def test_a_kill_in_the_middle_of_a_round_resumes_to_the_same_results(fewer, tmp_path):
    """From a copy of the finished run without its rounds, the baseline's added seeds, the
    candidates' cells after the first round, tables and pages: the run decides round 0 again,
    is killed (SIGKILL to the whole `make run`) while the next round's cells run, and resumes."""
    workdir, configfile = fewer
    fork = tmp_path / "fork"
    shutil.copytree(workdir, fork, symlinks=True)
    order = rounds(workdir, "racing")[0]["order"]
    shutil.rmtree(fork / ARCH / "rounds")
    for folder in ("tables",):
        shutil.rmtree(fork / ARCH / folder)
    for folder in ("site", "site_html", "model_cards"):
        shutil.rmtree(fork / "results" / folder)
    for cell in (fork / ARCH / "cells").glob("*/*/seed*.json"):
        model, task, seed = cell.parent.parent.name, cell.parent.name, int(cell.stem[4:])
        base_extra = model == "tiny-bert-base" and seed >= SEEDS_RULE["min"]
        if base_extra or (model != "tiny-bert-base" and task not in order[: RACING["first_round"]]):
            cell.unlink()
    command, env = make_run_command(fork / configfile.name)
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(command, cwd=fork, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)  # fmt: skip
    decided = fork / ARCH / "rounds/racing/round0.json"
    deadline = time.monotonic() + 600
    while not decided.exists():
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)  # make, Snakemake and every running job
    first.wait()
    assert not (
        fork / ARCH / "rounds/racing" / f"round{len(rounds(workdir, 'racing')) - 1}.json"
    ).exists()

    second = subprocess.run(
        command, cwd=fork, env=env, capture_output=True, text=True, timeout=1200
    )
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert rounds(fork, "racing") == rounds(workdir, "racing")
    for task in TARGETS:
        assert rounds(fork, "baseline", task) == rounds(workdir, "baseline", task)
    mine, straight = digest(fork), digest(workdir)
    assert sorted(mine) == sorted(straight)
    assert [name for name in straight if mine[name] != straight[name]] == []


def test_an_architecture_own_target_se_reaches_its_baseline_rounds(fewer, tmp_path):
    workdir, configfile = fewer
    fork = tmp_path / "fork"
    shutil.copytree(workdir, fork, symlinks=True)
    assert planned_jobs(snakemake(fork, fork / configfile.name, "-n")) == {}
    config = load_config(fork / configfile.name)
    config["architectures"]["demo-bert"]["baseline_target_se"] = 50.0
    loosened = write_config(fork, config, "loosened.yaml")
    result = snakemake(fork, loosened, "-n", "-p")
    # every task's first round is decided again, under the architecture's target
    assert planned_jobs(result)["baseline_round"] == len(TARGETS), result.stdout[-3000:]
    assert '\\"target_se\\": 50.0' in result.stdout or '"target_se": 50.0' in result.stdout
