"""A run archive (model_recycling/runtime/archive.py) of the micro run restores into a new
folder and works there offline: the environment installs from its wheelhouse with no network, a
dry run plans nothing and re-rendering gives the same pages byte for byte (README "Archived
runs")."""

import os
import shutil
import subprocess
import sys
import tarfile
import time
import warnings

import pytest

from model_recycling.runtime import archive
from tests.support.common import REPO
from tests.support.workflow import assert_same_files, planned_jobs

GIT = {
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.org",
}  # fmt: skip


def no_network_prefix() -> list[str]:
    """`unshare --net`: the command sees no network device but loopback (needs root)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is missing: cannot block the network")
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare --net does not work here: {probe.stderr.strip()}")
    return ["unshare", "--net"]


def restored_snakemake(dest, configfile, *args):
    venv_bin = dest / ".venv/bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PATH=f"{venv_bin}{os.pathsep}{env['PATH']}", HF_HUB_OFFLINE="1")
    command = [*no_network_prefix(), str(venv_bin / "snakemake"), "--cores", "2"]
    command += ["--configfile", configfile, *args]
    result = subprocess.run(command, cwd=dest, env=env, capture_output=True, text=True,
                            timeout=900)  # fmt: skip
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.mark.slow
def test_archive_restores_offline_and_rerenders_the_same_pages(micro_run, tmp_path):
    workdir, _, configfile = micro_run
    prefix = no_network_prefix()
    timings = {}
    started = time.monotonic()
    wheels = archive.wheelhouse(REPO / "requirements.lock")  # cached per lock
    timings["wheelhouse"] = time.monotonic() - started
    started = time.monotonic()
    path = tmp_path / "archives/micro.tar.gz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a dirty development tree archives HEAD
        archive.write_archive(path, workdir, configfile, REPO, wheels, allow_dirty=True)
    timings["write"] = time.monotonic() - started
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert {"Snakefile", "requirements.lock", "Dockerfile", "archived-config/test-config.yaml",
            "results/site/manifest.json", "results/site/index.md",
            ".snakemake/metadata"} <= {n.rsplit("/", 1)[0] if n.startswith(".snakemake/metadata/")
                                       else n for n in names}  # fmt: skip
    assert any(n.startswith("results/architectures/demo-bert/cells/") for n in names)
    assert any(n.startswith("wheelhouse/torch-") for n in names)
    assert not [n for n in names if n.endswith((".safetensors", ".bin", ".pt"))]

    started = time.monotonic()
    dest = tmp_path / "restored"
    index = archive.restore(path, dest)
    archive.offline_install(dest, sys.executable, prefix)
    timings["restore and offline install"] = time.monotonic() - started
    config = index["config"]
    started = time.monotonic()
    assert planned_jobs(restored_snakemake(dest, config, "-n")) == {}
    shutil.rmtree(dest / "results/site")
    rendered = restored_snakemake(dest, config, "--forcerun", "render")
    assert "render" in rendered.stderr
    timings["dry run and re-render"] = time.monotonic() - started
    assert_same_files(workdir / "results/site", dest / "results/site")
    size_mb = path.stat().st_size / 1e6
    print(f"\narchive {size_mb:.0f} MB; timings (s): { {k: round(v) for k, v in timings.items()} }")


def test_archive_refuses_a_dirty_tree_and_restore_a_used_folder(tmp_path):
    source = tmp_path / "source"
    (source / "results/site").mkdir(parents=True)
    (source / "results/site/manifest.json").write_text("{}")
    (source / "config.yaml").write_text("results_dir: results\nseeds: [0]\n")
    env = {**os.environ, **GIT}
    for command in (["init", "-q"], ["add", "config.yaml"], ["commit", "-qm", "run"]):
        subprocess.run(["git", *command], cwd=source, env=env, check=True)
    (source / "config.yaml").write_text("results_dir: results\nseeds: [1]\n")
    with pytest.raises(archive.DirtyTreeError, match="(?s)uncommitted changes.*config.yaml"):
        archive.write_archive(tmp_path / "a.tar.gz", source, source / "config.yaml")
    assert not (tmp_path / "a.tar.gz").exists()
    with pytest.warns(UserWarning, match="uncommitted"):
        archive.write_archive(tmp_path / "a.tar.gz", source, source / "config.yaml",
                              allow_dirty=True)  # fmt: skip
    (tmp_path / "used").mkdir()
    (tmp_path / "used/keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        archive.restore(tmp_path / "a.tar.gz", tmp_path / "used")
    index = archive.restore(tmp_path / "a.tar.gz", tmp_path / "new")
    assert (
        tmp_path / "new/archived-config/config.yaml"
    ).read_text() == "results_dir: results\nseeds: [1]\n"
    assert (
        tmp_path / "new/config.yaml"
    ).read_text() == "results_dir: results\nseeds: [0]\n"  # HEAD's
    assert set(index["members"]) == {"config.yaml", "archived-config/config.yaml",
                                     "results/site/manifest.json"}  # fmt: skip
