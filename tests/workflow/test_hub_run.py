"""A Hub config through `make run CONFIG=...`, as the README writes it, against the Hub stand-in
(tests/support/hub_server.py) serving the micro zoo's models: listing, probes that fetch their
candidate, selection, the selected candidates downloaded again, cells, pages. One run goes
through; another is killed (SIGKILL to its process group) once cells are being written and
resumed with the same command: both end with the same pages, tables, cells and probes."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.support.hub_server import FakeHub
from tests.support.hub_zoo import serve_models
from tests.support.run_digest import digest
from tests.support.workflow import _env, copy_workflow, load_config, make_run

BERT_MODELS = [
    "tiny-bert-base", "topic-tuned", "sentiment-tuned", "nli-tuned", "topic-shuffled",
    "decoy-wider", "decoy-no-weights", "decoy-no-tokenizer",
]  # fmt: skip
OWNER = "demo"


@pytest.fixture
def hub(micro_run):
    with FakeHub(page_size=4) as server:
        serve_models(
            server, micro_run[0] / "results/demo_zoo/models", BERT_MODELS, OWNER, "tiny-bert-base"
        )
        yield server


def hub_config(endpoint: str) -> dict:
    """The micro config's BERT architecture, its candidates on the Hub."""
    config = load_config()
    config.pop("results_dir")  # results/<config name>, as any config
    config.pop("demo_zoo")  # the zoo's tasks are there already; its models are on the Hub
    arch = config["architectures"]["demo-bert"]
    arch["base_model"] = {"id": f"{OWNER}/tiny-bert-base"}
    arch["source"] = {"type": "hub", "endpoint": endpoint}
    arch.pop("candidates")
    config["architectures"] = {"demo-bert": arch}
    config["targets"] = config["targets"][:1]  # two baseline seeds and the top 2 on one task
    return config


def workflow(tmp_path, micro_run, config: dict):
    copy_workflow(tmp_path)
    shutil.copytree(micro_run[0] / "results/demo_zoo/tasks", tmp_path / "results/demo_zoo/tasks")
    (tmp_path / "hub-run.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    env = {**_env(), "HF_HOME": str(tmp_path / "hf-home")}
    for name in ("HF_HUB_OFFLINE", "HF_TOKEN", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        env.pop(name, None)  # the README's command, reaching the Hub
    return env


def killed_once_cells_are_written(workdir, env, results):
    venv = os.path.dirname(os.path.dirname(sys.executable))
    command = ["make", "--no-print-directory", "run", f"VENV={venv}", "CORES=2"]
    command += ["CONFIG=hub-run.yaml"]
    run = subprocess.Popen(command, cwd=workdir, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    cells = results / "architectures/demo-bert/cells"
    deadline = time.monotonic() + 600
    while run.poll() is None and time.monotonic() < deadline:
        if len(list(cells.glob("*/*/seed*.json"))) >= 2:
            break
        time.sleep(0.2)
    assert run.poll() is None, "the run ended before it could be killed"
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    return len(list(cells.glob("*/*/seed*.json")))


def test_a_hub_config_through_make_resumes_after_a_kill_to_the_same_results(
    hub, micro_run, tmp_path
):
    config = hub_config(hub.endpoint)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    env = workflow(straight, micro_run, config)
    result = make_run(straight, "CONFIG=hub-run.yaml", env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = straight / "results/hub-run"
    listing = (results / "architectures/demo-bert/candidates.tsv").read_text()
    assert "decoy-wider\t" in listing and "demo/topic-tuned" in listing
    assert not (results / "fetching").exists() or not any((results / "fetching").iterdir())
    assert any((results / "selected").iterdir())  # fetched again for their cells
    assert any(p.startswith("/cdn/") for p in hub.paths("cdn"))  # weights came from the Hub

    env = workflow(killed, micro_run, config)
    done = killed_once_cells_are_written(killed, env, killed / "results/hub-run")
    resumed = make_run(killed, "CONFIG=hub-run.yaml", env=env)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "resuming a run that was interrupted" in resumed.stdout + resumed.stderr
    first, second = digest(straight, "results/hub-run"), digest(killed, "results/hub-run")
    assert sorted(first) == sorted(second) and done < len([n for n in first if "/cells/" in n])
    assert [name for name in first if first[name] != second[name]] == []


def pickle_only(hub, repo_id: str) -> None:
    """The repository as transformers before 4.35 saved it: pytorch_model.bin only on main."""
    import io

    import torch
    from safetensors.torch import load

    repo = hub.repos[repo_id]
    files = dict(repo["files"])
    buffer = io.BytesIO()
    torch.save(load(files.pop("model.safetensors")), buffer)
    files["pytorch_model.bin"] = buffer.getvalue()
    info = repo["info"]
    hub.add_repo(repo_id, files, info["tags"], downloads=info["downloads"], config=info["config"])


def test_a_pickle_only_candidate_runs_from_its_safetensors_conversion(hub, micro_run, tmp_path):
    """The Hub holds the conversion bot's pull request for a pickle-only candidate: the run lists
    it at the conversion's commit, probes and finetunes it from safetensors, and the candidates
    page says so."""
    pickle_only(hub, f"{OWNER}/topic-tuned")
    ref = hub.add_conversion(f"{OWNER}/topic-tuned")
    commit = hub.repos[f"{OWNER}/topic-tuned"]["revisions"][ref]["info"]["sha"]
    env = workflow(tmp_path, micro_run, hub_config(hub.endpoint))
    result = make_run(tmp_path, "CONFIG=hub-run.yaml", env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = tmp_path / "results/hub-run"
    rows = (results / "architectures/demo-bert/candidates.tsv").read_text().splitlines()
    row = next(line for line in rows if line.startswith(f"{OWNER}/topic-tuned\t"))
    assert f"\t{commit}\t" in row and "safetensors (conversion refs/pr/1)" in row
    probe = (results / "architectures/demo-bert/probe/demo~2ftopic-tuned.json").read_text()
    assert '"status": "ok"' in probe and commit in probe
    page = (results / "site/demo-bert_candidates.md").read_text()
    assert "safetensors (conversion refs/pr/1)" in page
    assert not any(p.endswith("pytorch_model.bin") for p in hub.paths())  # never unpickled
