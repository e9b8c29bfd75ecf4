"""README "Your own models and tasks", run as written: its code blocks (marked
`<!-- readme-test: NAME -->`) become the files and commands of a workflow copy."""

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from model_recycling.demo.language import build_lexicon, make_document
from tests.support.common import REPO
from tests.support.workflow import copy_workflow, make_run, planned_jobs, snakemake

BLOCK = re.compile(r"<!-- readme-test: (?P<name>[^>]+?) -->\n```[a-z]*\n(?P<body>.*?)```", re.S)


def readme_blocks() -> dict:
    text = (REPO / "README.md").read_text()
    return {m.group("name"): m.group("body") for m in BLOCK.finditer(text)}


def test_the_smallest_config_plans_the_published_protocol(tmp_path):
    copy_workflow(tmp_path)
    (tmp_path / "smallest.yaml").write_text(readme_blocks()["smallest.yaml"])
    planned = planned_jobs(snakemake(tmp_path, tmp_path / "smallest.yaml", "-n"))
    # the listing, the two targets and the MNLI probe task, 20 baseline seeds per target
    assert planned["list_candidates"] == 1 and planned["prepare_task"] == 3
    assert planned["finetune"] == 2 * 20


def reviews(header: str, n: int, seed: int) -> str:
    """Rows in the README's format (its header), in the demo language the tiny BERT reads."""
    rng, lexicon = random.Random(seed), build_lexicon(0)
    rows = [header]
    for i in range(n):
        polarity = 2 * (i % 2)  # negative or positive, balanced
        words = make_document(rng, lexicon, rng.randrange(5), polarity)
        rows.append(f"{' '.join(words)},{'positive' if polarity else 'negative'}")
    return "\n".join(rows) + "\n"


def test_your_own_task_runs_as_written(micro_run, tmp_path):
    blocks = readme_blocks()
    copy_workflow(tmp_path)
    # the README's first command, `make run`, builds the demo zoo: the micro run's stands in
    shutil.copytree(micro_run[0] / "results/demo_zoo", tmp_path / "results/demo_zoo")
    for name in ("my_tasks.yaml", "my.yaml"):
        (tmp_path / name).write_text(blocks[name])
    header = blocks["csv header"].splitlines()[0]
    tasks = yaml.safe_load(blocks["my_tasks.yaml"])["my_reviews"]
    for split, n in (("train", 160), ("test", 80)):
        path = tmp_path / tasks["data_files"][split]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(reviews(header, n, seed=len(split)))
    command = blocks["commands"].splitlines()[1].split("#")[0].split()  # make run CONFIG=my.yaml
    result = make_run(tmp_path, *command[2:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = tmp_path / "results/my"
    assert (results / "site_html/index.html").is_file()
    assert (results / "tasks/my_reviews/meta.json").is_file()
    baseline = pd.read_csv(results / "architectures/tiny-bert/tables/baseline.csv", index_col=0)
    assert baseline.loc["my_reviews", "n_seeds"] == 3
    ranking = pd.read_csv(results / "architectures/tiny-bert/tables/ranking.csv")
    assert len(ranking) >= 2  # candidates finetuned from the tiny BERT, fully tested
    assert "pages: results/my/site_html/index.html" in result.stderr
    a_model_added_to_the_zoo_folder_is_probed(tmp_path, blocks["add a model"])


def a_model_added_to_the_zoo_folder_is_probed(workdir, block):
    """The README's next two commands: a model folder put beside the demo's, then Snakemake
    called from the venv without activating it (PATH without the venv)."""
    copy, call = [line.split("#")[0].split() for line in block.splitlines()]
    source = workdir / "results/demo_zoo/models/sentiment-tuned"
    shutil.copytree(source, workdir / copy[-1] / "my-tiny-bert")
    (workdir / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent
    )
    result = subprocess.run(call, cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads((workdir / "results/my/architectures/tiny-bert/probe/my-tiny-bert.json")
                       .read_text())  # fmt: skip
    assert probe["status"] == "ok"
    ran = re.findall(r"^(?:local)?rule (\w+):", result.stderr + result.stdout, re.M)
    assert "probe" in ran and ran.count("probe") == 1  # its probe alone, nothing probed again
