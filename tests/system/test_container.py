"""The image: built here with podman from the Dockerfile, the micro config run inside it as an
unprivileged user, its pages equal to the venv run's, and nothing of this machine's package
settings inside (README "Containers"). Needs root and Debian's podman, runc and debootstrap
(installed when missing only under CI=true or INSTALL_SYSTEM=1, else the tests skip saying so),
and makes a local base image (no container registry is reachable)."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.common import REPO, install_or_skip
from tests.support.workflow import assert_same_files, copy_workflow, write_config

pytestmark = pytest.mark.slow

CONTAINER_DIR = REPO / "tests" / "support" / "container"
BASE = "localhost/model-recycling-base:bookworm"
TAG = "localhost/model-recycling:test-cpu"
IMAGE_UID = 1000  # the Dockerfile's user `recycler`
PACKAGES = {"podman": "podman", "runc": "runc", "debootstrap": "debootstrap"}
TIMINGS = {}


def _run(command, env, timeout, **kwargs):
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def _check(result, what):
    if result.returncode != 0:
        raise AssertionError(f"{what} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="module")
def podman_env():
    """podman with this repository's containers.conf (runc, cgroupfs, rlimits this machine
    allows), via CONTAINERS_CONF: the machine's own configuration is left as it is."""
    if os.environ.get("SKIP_CONTAINER") == "1":
        pytest.skip("SKIP_CONTAINER=1 is set")
    install_or_skip("podman, runc or debootstrap", PACKAGES, skip_var="SKIP_CONTAINER")
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINER_DIR / "containers.conf")}
    info = _run(["podman", "info"], env, 120)
    if info.returncode != 0:
        pytest.skip(f"podman cannot run here: {info.stderr.strip().splitlines()[-1]}")
    if os.geteuid() != 0:
        pytest.skip("the local base image needs debootstrap, which needs root")
    return env


@pytest.fixture(scope="module")
def image(podman_env):
    """The CPU image from the locally made base; podman's layer cache makes a rebuild with an
    unchanged lock take seconds."""
    started = time.monotonic()
    base = _run(["bash", str(REPO / "dev/make_base_image.sh"), BASE], podman_env, 900)
    _check(base, "dev/make_base_image.sh")
    TIMINGS["base image"] = time.monotonic() - started
    started = time.monotonic()
    build = ["make", "-C", str(REPO), "--no-print-directory", "image", f"IMAGE_TAG={TAG}"]
    build += [f"BASE={BASE}", "TORCH=cpu", "TORCH_CPU_INDEX=", "HOST_PIP=1"]
    _check(_run(build, podman_env, 1500), "make image")
    TIMINGS["image build"] = time.monotonic() - started
    yield TAG
    print(f"\ncontainer test timings (s): { {k: round(v) for k, v in TIMINGS.items()} }")


@pytest.fixture
def image_root(image, podman_env):
    """The image's file system, mounted read-only for inspection."""
    mounted = _check(_run(["podman", "image", "mount", image], podman_env, 120), "mount")
    yield Path(mounted.stdout.strip())
    _run(["podman", "image", "unmount", image], podman_env, 120)


def test_image_holds_no_pip_settings_or_credentials(image_root, image, podman_env):
    homes = [image_root / "root", *(image_root / "home").iterdir()]
    for home in homes:
        for secret in (".config/pip", ".pip", ".netrc", ".cache/huggingface", ".huggingface"):
            assert not (home / secret).exists(), home / secret
    for path in ("etc/pip.conf", "etc/xdg/pip", "build-host", "usr/local/share/ca-certificates"):
        assert not (image_root / path).exists() or not any((image_root / path).iterdir()), path
    bundle = (image_root / "etc/ssl/certs/ca-certificates.crt").read_text()
    for added in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        body = "".join(added.read_text().split("-----")[2].split())
        assert body[:200] not in "".join(bundle.split()), f"{added.name} is in the image"
    names = {name for _, _, files in os.walk(image_root) for name in files}
    assert not names & {"pip.conf", "pip.ini", ".netrc"}
    inspect = _check(_run(["podman", "image", "inspect", image], podman_env, 60), "inspect")
    assert not re.search(r"HF_TOKEN|HUGGING_FACE_HUB_TOKEN|PIP_CERT|PIP_FIND_LINKS", inspect.stdout)


def test_micro_config_runs_in_the_image_like_in_the_venv(image, podman_env, micro_run, tmp_path):
    venv_workdir, config, _ = micro_run
    workdir = copy_workflow(tmp_path / "workflow")
    write_config(workdir, config)
    shutil.chown(tmp_path, IMAGE_UID, IMAGE_UID)
    for folder, _, files in os.walk(workdir):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            os.chown(name, IMAGE_UID, IMAGE_UID)
    # One container, no network: the run, then a dry run that must plan nothing.
    snakemake = "snakemake --cores 2 --configfile test-config.yaml"
    script = f"id -u && {snakemake} && echo DRY-RUN && {snakemake} -n 2>&1"
    command = ["podman", "run", "--rm", "--network", "none", "-e", "HF_HUB_OFFLINE=1"]
    command += ["-v", f"{workdir}:/workflow", "-w", "/workflow", image, "sh", "-c", script]
    started = time.monotonic()
    result = _check(_run(command, podman_env, 1200), "the micro run in the image")
    TIMINGS["container run"] = time.monotonic() - started

    assert result.stdout.splitlines()[0] == str(IMAGE_UID)  # not root
    assert (workdir / "results/site/index.md").stat().st_uid == IMAGE_UID
    dry_run = result.stdout.split("DRY-RUN\n", 1)[1]
    assert "Nothing to be done" in dry_run, dry_run
    for name in ("site", *(f"architectures/{a}/tables" for a in config["architectures"])):
        assert_same_files(venv_workdir / "results" / name, workdir / "results" / name)
