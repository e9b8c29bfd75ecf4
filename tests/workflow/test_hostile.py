"""A hostile matrix through the real workflow, in ONE run: a local source folder of broken and
malicious models built here from the demo's tiny base (nothing binary is committed). Each ends
excluded at listing or failed with a one-line reason that the pages show, every other model's
results are complete, and the pickle's or custom code's marker file never exists.

The probe killed with SIGKILL is killed from outside, as the kernel's OOM killer or a scheduler
would: a watcher thread SIGKILLs any `python scripts/probe.py ... probe-killed ...` process. No
test hook in the product code.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import threading
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.support.workflow import copy_workflow, load_config, snakemake, write_config

# One worker runs both tests: the module's workflow run is made once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile")]

ARCH = "results/architectures/demo-bert"
WEIGHTS = "model.safetensors"
KILLED = "probe-killed"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
)
# model -> (where it must end, words its reason must contain, any of them)
EXPECTED = {
    "pickle-payload": ("excluded", ["pickle"]),
    "custom-code": ("excluded", ["auto_map", "custom code"]),
    "corrupt-safetensors": ("excluded", ["safetensors"]),
    "truncated-safetensors": ("excluded", ["safetensors"]),
    "empty": ("excluded", ["config.json"]),
    "no-tokenizer": ("failed", ["tokenizer"]),
    "nan-weights": ("failed", ["non-finite", "nan"]),
    "big-tokenizer": ("failed", ["embedding", "vocab"]),
    "shape-mismatch": ("excluded or failed", ["layer.0.intermediate.dense.weight"]),
    KILLED: ("failed", ["SIGKILL"]),
    # handled, not refused: fp32 master weights; a fresh head whatever the checkpoint's head
    "fp16-config": ("ok", []),
    "target-head": ("ok", []),
    "good": ("ok", []),
}


class Payload:
    """Unpickling calls open(marker, "w"): the file exists iff someone unpickled it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _with_noise(base: Path, dest: Path, seed: int) -> Path:
    """A copy of the base whose weights differ a little: a plausible, healthy finetune."""
    shutil.copytree(base, dest)
    generator = torch.Generator().manual_seed(seed)
    tensors = load_file(dest / WEIGHTS)
    tensors = {k: v + 0.01 * torch.randn(v.shape, generator=generator) for k, v in tensors.items()}
    save_file(tensors, dest / WEIGHTS, metadata={"format": "pt"})
    return dest


def _edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))


def _edit_tensors(folder: Path, edit) -> None:
    tensors = load_file(folder / WEIGHTS)
    edit(tensors)
    save_file(tensors, folder / WEIGHTS, metadata={"format": "pt"})


def _dense_key(tensors: dict) -> str:
    return next(k for k in tensors if k.endswith("layer.0.intermediate.dense.weight"))


def _classifier(base: Path, dest: Path, num_labels: int) -> None:
    """Saved as a sequence classifier whose head already has the target task's shape."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(5)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=num_labels)
    model.save_pretrained(dest, safe_serialization=True)
    AutoTokenizer.from_pretrained(base).save_pretrained(dest)


def build_hostile_models(base: Path, root: Path, marker: Path) -> None:
    models = root / "models"
    models.mkdir(parents=True)
    _with_noise(base, models / "good", 1)
    _edit_config(
        _with_noise(base, models / "fp16-config", 2), dtype="float16", torch_dtype="float16"
    )
    _classifier(_with_noise(base, root / "noisy", 3), models / "target-head", 5)
    _with_noise(base, models / KILLED, 4)

    nan = _with_noise(base, models / "nan-weights", 6)
    _edit_tensors(nan, lambda t: t[_dense_key(t)].fill_(float("nan")))
    shape = _with_noise(base, models / "shape-mismatch", 7)  # same parameter count, transposed
    _edit_tensors(shape, lambda t: t.update({_dense_key(t): t[_dense_key(t)].T.contiguous()}))

    corrupt = _with_noise(base, models / "corrupt-safetensors", 8)
    size = (corrupt / WEIGHTS).stat().st_size
    (corrupt / WEIGHTS).write_bytes(torch.randint(0, 256, (size,), dtype=torch.uint8).numpy())
    truncated = _with_noise(base, models / "truncated-safetensors", 9)
    data = (truncated / WEIGHTS).read_bytes()
    (truncated / WEIGHTS).write_bytes(data[: len(data) // 2])

    no_tok = _with_noise(base, models / "no-tokenizer", 10)
    for name in TOKENIZER_FILES:
        (no_tok / name).unlink(missing_ok=True)
    big_tok = _with_noise(base, models / "big-tokenizer", 11)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(big_tok)
    tokenizer.add_tokens([f"extra{i}" for i in range(200)])  # ids past the embedding matrix
    tokenizer.save_pretrained(big_tok)

    custom = _with_noise(base, models / "custom-code", 12)
    _edit_config(custom, auto_map={"AutoModel": "modeling_evil.EvilModel"})
    (custom / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w')\n")

    pickled = models / "pickle-payload"
    shutil.copytree(base, pickled, ignore=shutil.ignore_patterns("*.safetensors"))
    (pickled / "pytorch_model.bin").write_bytes(pickle.dumps(Payload(marker), protocol=2))

    (models / "empty").mkdir()


def _kill_probes_of(model_id: str, stop: threading.Event, killed: list) -> None:
    """What an OOM killer does to that model's probe: SIGKILL, on every attempt."""
    while not stop.is_set():
        for entry in Path("/proc").iterdir():
            try:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if argv[1:2] == ["scripts/probe.py"] and model_id in argv:
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                    killed.append(int(entry.name))
                except ProcessLookupError:
                    pass
        stop.wait(0.02)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, tiny_zoo):
    root = tmp_path_factory.mktemp("hostile")
    marker = root / "MARKER"
    build_hostile_models(tiny_zoo / "base", root, marker)
    workdir = copy_workflow(root / "workflow")
    config = load_config()
    config["architectures"] = {
        "demo-bert": {
            "base_model": {"id": "tiny-bert-base", "path": str(tiny_zoo / "base")},
            "source": {"type": "local", "path": str(root / "models")},
            "top_k": len(EXPECTED),  # every model the probe ranks gets its cells
        }
    }
    config.update(targets=["demo_topic"], seeds=[0], baseline_seeds=[0])
    config["demo_zoo"]["intermediates"] = {}  # only its synthetic tasks are used here
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=_kill_probes_of, args=(KILLED, stop, killed), daemon=True)
    watcher.start()
    try:
        result = snakemake(workdir, write_config(workdir, config), check=False)
    finally:
        stop.set()
        watcher.join()
    return workdir, marker, result, killed


def _outcomes(workdir: Path) -> dict:
    """model -> (status, reason): listing exclusions, else the probe's outcome."""
    listing = pd.read_csv(workdir / ARCH / "candidates.tsv", sep="\t", keep_default_na=False)
    outcomes = {r.model_id: (r.status, r.reason) for r in listing.itertuples()}
    for path in (workdir / ARCH / "probe").glob("*.json"):
        probe = json.loads(path.read_text())
        outcomes[probe["model_id"]] = (probe["status"], probe["reason"])
    return outcomes


def _site_text(workdir: Path) -> str:
    site = workdir / "results/site"
    return "\n".join(
        p.read_text(errors="replace") for p in site.rglob("*") if p.suffix in (".md", ".csv")
    )


def _words(text: str) -> str:
    """Letters and digits only: pages escape markdown and CSV quotes, words stay."""
    return " ".join(re.findall(r"[A-Za-z0-9]+", text))


def test_hostile_matrix(hostile_run):
    workdir, marker, result, killed = hostile_run
    output = result.stdout[-4000:] + result.stderr[-4000:]
    assert not marker.exists(), "a hostile model ran code"
    assert result.returncode == 0, output
    assert killed, "the probe to kill never started"
    outcomes = _outcomes(workdir)
    site = _words(_site_text(workdir))
    problems = []
    for model, (expected, words) in EXPECTED.items():
        status, reason = outcomes.get(model, ("missing", ""))
        if status not in expected.split(" or "):
            problems.append(f"{model}: {status} ({reason!r}), expected {expected}")
            continue
        if status == "ok":
            continue
        if "\n" in reason or not any(w.lower() in reason.lower() for w in words):
            problems.append(f"{model}: reason {reason!r} should name one of {words}")
        if _words(reason) not in site:
            problems.append(f"{model}: the pages do not show its reason {reason!r}")
    assert not problems, "\n".join(problems)


def test_every_other_model_is_complete(hostile_run):
    workdir = hostile_run[0]
    selection = pd.read_csv(workdir / ARCH / "selected.tsv", sep="\t", keep_default_na=False)
    selected = set(selection[selection.selected == "yes"].model_id)
    assert selected == {m for m, (expected, _) in EXPECTED.items() if expected == "ok"}
    cells = [json.loads(p.read_text()) for p in (workdir / ARCH / "cells").rglob("*.json")]
    assert {c["model_id"] for c in cells} == selected | {"tiny-bert-base"}
    assert all(c["status"] == "ok" and c["n_eval"] == c["n_eval_expected"] for c in cells)
    ranking = pd.read_csv(workdir / ARCH / "tables/ranking.csv")
    assert set(ranking.model_id) == selected
