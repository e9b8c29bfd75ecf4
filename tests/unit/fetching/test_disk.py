"""Disk at scale (fetching/disk.py, fetching/lifecycle.py): a probed candidate's weights are
deleted, the folder stays as Snakemake left it, and a probe that must run again fetches them from
the (local) Hub."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from model_recycling.fetching.disk import WEIGHTS_DELETED
from model_recycling.fetching.download import download_candidate
from tests.support.records import PROBE_SETTINGS
from tests.support.workflow import REPO

pytestmark = pytest.mark.usefixtures("isolated_hub_settings")

MODEL = "cardiffnlp/twitter-roberta-base-sentiment-latest"


def probe(server, folder, task_dir, out):
    command = [sys.executable, str(REPO / "scripts/probe.py"), "--model-id", MODEL]
    command += ["--model-dir", str(folder), "--revision", server.repos[MODEL]["info"]["sha"]]
    command += ["--task-dir", str(task_dir), "--settings", json.dumps(PROBE_SETTINGS)]
    command += ["--out", str(out), "--delete-weights", "--endpoint", server.endpoint]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True)


def test_probe_deletes_weights_and_a_rerun_fetches_them_again(hub, tmp_path, tiny_zoo):  # noqa: F811
    sha = hub.repos[MODEL]["info"]["sha"]
    folder = download_candidate(MODEL, sha, tmp_path / "m" / sha, api=HfApi(endpoint=hub.endpoint))
    weights = (folder / "model.safetensors").read_bytes()
    (folder / ".snakemake_timestamp").write_text("")  # what Snakemake leaves in a directory()
    task_dir, out = tiny_zoo / "prepared/demo_nli", tmp_path / "probe.json"

    result = probe(hub, folder, task_dir, out)
    assert f"deleted {len(weights)} bytes of weights" in result.stdout
    assert not (folder / "model.safetensors").exists()
    marker = json.loads((folder / WEIGHTS_DELETED).read_text())
    assert marker == {"deleted": {"model.safetensors": len(weights)}, "bytes": len(weights)}
    # The folder stays with its config, tokenizer and Snakemake's timestamp: nothing replanned.
    assert (folder / "config.json").exists() and (folder / ".snakemake_timestamp").exists()
    assert json.loads(out.read_text())["model_id"] == MODEL

    fetched = len(hub.paths("cdn"))
    out.unlink()  # the probe must run again (say, its settings changed)
    probe(hub, folder, task_dir, out)
    assert len(hub.paths("cdn")) > fetched  # the weights came from the Hub again
    assert json.loads(out.read_text())["model_id"] == MODEL
    assert not (folder / "model.safetensors").exists()  # and were deleted again
    assert (folder / WEIGHTS_DELETED).exists()


def test_a_fetching_probe_downloads_scores_and_leaves_nothing(hub, tmp_path, tiny_zoo):  # noqa: F811
    """downloads.fetch: probe: the probe job downloads its candidate into a scratch folder,
    scores it and removes the folder; its reservation in the disk budget goes with it."""
    model_id = "org/tiny-base-finetune"  # the tests' real tiny model, served by the Hub
    files = {p.name: p.read_bytes() for p in (tiny_zoo / "base").iterdir() if p.is_file()}
    hub.add_repo(model_id, files)
    sha = hub.repos[model_id]["info"]["sha"]
    scratch, out = tmp_path / "results/fetching/m" / sha, tmp_path / "probe.json"
    ledger = tmp_path / "results/downloads/ledger.json"
    command = [sys.executable, str(REPO / "scripts/probe.py"), "--model-id", model_id]
    command += ["--model-dir", str(scratch), "--revision", sha, "--fetch"]
    command += ["--task-dir", str(tiny_zoo / "prepared/demo_nli")]
    settings = {**PROBE_SETTINGS, "max_iter": 50}
    command += ["--settings", json.dumps(settings), "--out", str(out)]
    command += ["--endpoint", hub.endpoint, "--disk-budget-gb", "1", "--disk-ledger", str(ledger)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    fetched = len(hub.paths("cdn"))
    subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    record = json.loads(out.read_text())
    assert record["status"] == "ok" and record["model_revision"] == sha, record["reason"]
    assert len(hub.paths("cdn")) > fetched  # the weights came from the Hub
    assert not scratch.exists() and not scratch.parent.exists()  # no empty model folder left
    assert json.loads(ledger.read_text()) == {}  # reserved while fetched, released once probed
    # The same candidate downloaded first (downloads.fetch: host) scores the same.
    folder = download_candidate(model_id, sha, tmp_path / "m" / sha,
                                api=HfApi(endpoint=hub.endpoint))  # fmt: skip
    hosted = tmp_path / "hosted.json"
    command[command.index("--model-dir") + 1] = str(folder)
    command[command.index("--fetch")] = "--delete-weights"
    command[command.index("--out") + 1] = str(hosted)
    subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    same = ("status", "score", "proxies", "n_train", "n_eval")
    assert {k: record.get(k) for k in same} == {k: json.loads(hosted.read_text()).get(k)
                                                for k in same}  # fmt: skip


def test_a_fetching_probe_records_a_download_the_hub_refuses(hub, tmp_path, tiny_zoo):  # noqa: F811
    out, scratch = tmp_path / "probe.json", tmp_path / "results/fetching/gone/0"
    command = [sys.executable, str(REPO / "scripts/probe.py"), "--model-id", "nobody/no-such"]
    command += ["--model-dir", str(scratch), "--revision", "0" * 40, "--fetch"]
    command += ["--task-dir", str(tiny_zoo / "prepared/demo_nli")]
    command += ["--settings", json.dumps(PROBE_SETTINGS), "--out", str(out)]
    command += ["--endpoint", hub.endpoint]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    record = json.loads(out.read_text())
    assert record["status"] == "failed"
    assert record["reason"].startswith("RuntimeError: download failed: cannot download")
    assert "nobody/no-such" in record["reason"] and not scratch.exists()


def test_a_fetching_probe_never_deletes_outside_its_scratch_root(tmp_path, tiny_zoo):
    """A revision such as '../..' from a hostile listing must not make the probe delete the run:
    the scratch folder must lie below results/fetching/."""
    keep = tmp_path / "results/keep.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("a result")
    command = [sys.executable, str(REPO / "scripts/probe.py"), "--model-id", "org/m", "--fetch"]
    command += ["--model-dir", "results/fetching/m/../..", "--revision", "../.."]
    command += ["--task-dir", str(tiny_zoo / "prepared/demo_nli"), "--out", "probe.json"]
    command += ["--settings", json.dumps(PROBE_SETTINGS), "--endpoint", "http://127.0.0.1:9"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0 and "refusing to delete" in result.stderr
    assert keep.read_text() == "a result"


def test_a_fetching_probe_that_fails_names_the_download_not_a_removed_folder(
    hub, tmp_path, tiny_zoo
):  # noqa: F811
    model_id = "org/no-tokenizer"
    files = {p.name: p.read_bytes() for p in (tiny_zoo / "base").iterdir() if p.is_file()}
    hub.add_repo(
        model_id, {k: v for k, v in files.items() if "token" not in k and "vocab" not in k}
    )
    sha = hub.repos[model_id]["info"]["sha"]
    scratch, out = tmp_path / "results/fetching/org~2fno-tokenizer" / sha, tmp_path / "p.json"
    command = [sys.executable, str(REPO / "scripts/probe.py"), "--model-id", model_id]
    command += ["--model-dir", str(scratch), "--revision", sha, "--fetch"]
    command += ["--task-dir", str(tiny_zoo / "prepared/demo_nli"), "--endpoint", hub.endpoint]
    command += ["--settings", json.dumps(PROBE_SETTINGS), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    record = json.loads(out.read_text())
    assert record["status"] == "failed" and "no tokenizer files" in record["reason"]
    assert str(scratch) not in record["reason"]
    assert f"{model_id}@{sha} (downloaded for this probe, since removed)" in record["reason"]
    assert not (tmp_path / "results/fetching").exists() or not any(
        (tmp_path / "results/fetching").iterdir()
    )


def test_files_in_the_users_hugging_face_cache_are_not_downloaded_again(hub, tmp_path):  # noqa: F811
    """A file the cache holds at the revision, with the content the Hub names, is taken from it;
    one whose content differs is downloaded."""
    from huggingface_hub import hf_hub_download

    sha = hub.repos[MODEL]["info"]["sha"]
    api = HfApi(endpoint=hub.endpoint)
    weights = hf_hub_download(MODEL, "model.safetensors", revision=sha, endpoint=hub.endpoint)
    fetched = len(hub.paths("cdn"))
    folder = download_candidate(MODEL, sha, tmp_path / "one", api=api)
    assert len(hub.paths("cdn")) == fetched  # the weights (LFS, served by the CDN) came from cache
    assert (folder / "model.safetensors").read_bytes() == Path(weights).read_bytes()
    assert (folder / "config.json").is_file()  # what the cache lacks is downloaded
    blob = Path(weights).resolve()
    blob.unlink()
    blob.write_bytes(b"not the weights")  # a damaged cache entry is never used
    folder = download_candidate(MODEL, sha, tmp_path / "two", api=api)
    assert len(hub.paths("cdn")) > fetched
    assert (folder / "model.safetensors").read_bytes() != b"not the weights"
