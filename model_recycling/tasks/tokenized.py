"""Tokenize once: a task's encoded splits (encode, below) kept on disk per (task, tokenizer,
max_length) and reused by every probe and cell whose tokenizer gives the same ids.

Layout, under the cache root (results/tokenized by default):
    <task>/<key>/<split>-<texts>.npz   a split's ids, flat, with row offsets (numpy, no
                                       pickle); <texts>: a hash of the texts encoded
    <task>/<key>/<split>-<texts>.json  its sha256, rows and keys; written last: it completes it
    <task>/<key>/entry.json            what the key is made of, for a reader
    <task>/<key>/.lock                 fcntl.flock: one job builds a split, the others wait and
                                       read it (jobs of a cluster share the folder)

The key: the texts of the split (in the file name, so a subsample has files of its own), the
task's fingerprint (registry entry, split contents, input encoding), max_length, the source of
encode (how text pairs are formatted), the transformers and tokenizers versions, and
the tokenizer's fingerprint: its whole loaded definition as the `tokenizers`
library serialises it (normalizer, pre-tokenizer, vocabulary and merges, post-processor, added
tokens) plus the wrapper settings encode depends on (class, special tokens, truncation side,
input names). Not the tokenizer's files: candidates re-save their base's tokenizer with
incidental differences (name_or_path, library version) and would each miss. Not the ids of a
fixed set of probe strings: two tokenizers can agree on any fixed set and differ on a task's text
(accents, digits, CJK), and a wrong hit changes a score. A tokenizer without a `tokenizers`
backend is not cached. The T5 text-to-text targets (a handful of label strings) are tokenized
by train.TextToTextOutput every time, so they are no part of an entry.

Never trusted blindly: a split whose sha256 or row count disagrees with its .json, or whose ids
for a few examples differ from encoding those examples now, is rebuilt, and the job's log says
why. Deleting the folder is always safe: entries are rebuilt when next needed.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import inspect
import itertools
import json
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from model_recycling.io import atomic_output, atomic_write_json, read_json
from model_recycling.naming import safe_name
from model_recycling.provenance import file_sha256, fingerprint, package_versions

FORMAT = 1
SPOT_CHECKS = 8  # examples re-encoded on every hit, spread over the split


class InvalidEntry(ValueError):
    """A cached split that must not be used."""


def tokenizer_fingerprint(tokenizer) -> str | None:
    """None for a tokenizer without a `tokenizers` backend (it is then never cached)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    state = json.loads(backend.to_str())
    # Set by transformers on every call from the call's own arguments (encode passes them).
    state.pop("truncation", None)
    state.pop("padding", None)
    return fingerprint(
        {
            "backend": state,
            "class": type(tokenizer).__name__,
            "special_tokens": tokenizer.special_tokens_map,
            "truncation_side": tokenizer.truncation_side,
            "model_input_names": list(tokenizer.model_input_names),
        }
    )


def encode(tokenizer, examples: list, max_length: int) -> list:
    """Tokenize once, unpadded. The first field is segment A; further fields are joined with the
    tokenizer's separator into segment B."""
    firsts = [ex["texts"][0] for ex in examples]
    if len(examples[0]["texts"]) == 1:
        encoded = tokenizer(firsts, truncation=True, max_length=max_length)
    else:
        sep = f" {tokenizer.sep_token} " if tokenizer.sep_token else " | "
        seconds = [sep.join(ex["texts"][1:]) for ex in examples]
        encoded = tokenizer(firsts, seconds, truncation="longest_first", max_length=max_length)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
    return [{k: encoded[k][i] for k in keys} for i in range(len(examples))]


@functools.cache
def _encode_source() -> str:
    return hashlib.sha256(inspect.getsource(encode).encode()).hexdigest()[:16]


def entry_parts(task, tokenizer, max_length: int) -> dict | None:
    """What decides the ids, or None when the tokenizer cannot be fingerprinted."""
    tokenizer_fp = tokenizer_fingerprint(tokenizer)
    if tokenizer_fp is None:
        return None
    versions = package_versions()
    return {
        "format": FORMAT,
        "task": task.name,
        "task_fingerprint": task.meta["fingerprint"],
        "tokenizer_fingerprint": tokenizer_fp,
        "max_length": max_length,
        "encode_sha256": _encode_source(),
        "transformers": versions["transformers"],
        "tokenizers": versions["tokenizers"],
    }


def encoded_splits(tokenizer, task, max_length: int, splits, cache_root=None, log=print) -> dict:
    """{split: encode(tokenizer, task.<split>, max_length)} for each split named, read
    from the cache under `cache_root` (built there first when missing); None: no cache. A cache
    folder that cannot be used (read-only, full) costs a warning, never the job."""

    def encode_split(examples: list) -> list:
        return encode(tokenizer, examples, max_length)

    parts = entry_parts(task, tokenizer, max_length) if cache_root else None
    if parts is None:
        return {split: encode_split(getattr(task, split)) for split in splits}
    entry = Path(cache_root) / safe_name(task.name) / fingerprint(parts)  # never outside root
    try:
        return {
            split: _cached(entry, split, getattr(task, split), encode_split, parts, log)
            for split in splits
        }
    except OSError as err:
        log(f"tokenized cache: {entry} unusable ({err}); encoding without it")
        return {split: encode_split(getattr(task, split)) for split in splits}


def spot_check(features: list, examples: list, encode) -> None:
    """Raises InvalidEntry unless `features` has a row per example and a few examples, spread
    over the split, encode now to exactly their cached ids."""
    if len(features) != len(examples):
        raise InvalidEntry(f"{len(features)} rows for {len(examples)} examples")
    n = len(examples)
    picks = sorted({round(i * (n - 1) / (SPOT_CHECKS - 1)) for i in range(SPOT_CHECKS)})
    for i, now in zip(picks, encode([examples[i] for i in picks]), strict=True):
        if features[i] != now:
            raise InvalidEntry(f"example {i} encodes differently now")


def texts_sha256(examples: list) -> str:
    """The texts as encoded (labels do not change ids): names a split's files, so a subsample
    of a split, or a split edited in place, never meets another's ids."""
    texts = json.dumps([ex["texts"] for ex in examples], ensure_ascii=False)
    return hashlib.sha256(texts.encode()).hexdigest()[:16]


def _cached(entry: Path, split: str, examples: list, encode, parts: dict, log) -> list:
    started = time.perf_counter()
    split = f"{split}-{texts_sha256(examples)}"
    features, problem = _read(entry, split, examples, encode)
    if features is None:
        with _locked(entry):
            features, problem = _read(entry, split, examples, encode)  # built meanwhile?
            if features is None:
                features = encode(examples)
                write_split(entry, split, features, parts)
                what = f"rebuilt ({problem})" if problem else "built"
                log(f"tokenized cache: {what} {entry / split} in {_since(started)}")
                return features
    log(f"tokenized cache: read {entry / split} in {_since(started)}")
    return features


def _since(started: float) -> str:
    return f"{time.perf_counter() - started:.2f} s"


def _read(entry: Path, split: str, examples: list, encode) -> tuple[list | None, str]:
    """(features, "") for a sound split; (None, why not) otherwise ("" when never built)."""
    meta_path = entry / f"{split}.json"
    if not meta_path.exists():
        return None, ""
    try:
        features = _load(entry / f"{split}.npz", read_json(meta_path))
        spot_check(features, examples, encode)
    except Exception as err:  # noqa: BLE001 - whatever is wrong with an entry, it is rebuilt
        return None, f"{type(err).__name__}: {err}"
    return features, ""


@contextmanager
def _locked(entry: Path):
    entry.mkdir(parents=True, exist_ok=True)
    with open(entry / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released by the kernel if the job dies
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _smallest_dtype(values: np.ndarray):
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    for dtype in (np.uint8, np.uint16, np.int32):
        if np.iinfo(dtype).min <= low and high <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _pack(features: list) -> tuple[dict, list]:
    keys = list(features[0])
    lengths = np.array([len(f["input_ids"]) for f in features], dtype=np.int64)
    arrays = {"offsets": np.concatenate([[0], np.cumsum(lengths)])}
    for key in keys:
        flat = np.fromiter(
            (v for f in features for v in f[key]), dtype=np.int64, count=int(lengths.sum())
        )
        arrays[key] = flat.astype(_smallest_dtype(flat))
    return arrays, keys


def write_split(entry: Path, split: str, features: list, parts: dict) -> None:
    """Write one split of an entry: its ids, then the record that completes it."""
    arrays, keys = _pack(features)
    path = entry / f"{split}.npz"
    with atomic_output(path, "wb") as handle:
        np.savez(handle, **arrays)
    meta = {"format": FORMAT, "rows": len(features), "keys": keys, "sha256": file_sha256(path)}
    atomic_write_json(entry / f"{split}.json", meta)
    if not (entry / "entry.json").exists():
        atomic_write_json(entry / "entry.json", parts)


def _load(path: Path, meta: dict) -> list:
    if meta.get("format") != FORMAT:
        raise InvalidEntry(f"format {meta.get('format')}, expected {FORMAT}")
    if file_sha256(path) != meta["sha256"]:
        raise InvalidEntry(f"{path.name}: sha256 differs from its record")
    with np.load(path, allow_pickle=False) as data:
        offsets = data["offsets"].tolist()
        columns = {key: data[key].tolist() for key in meta["keys"]}
    if len(offsets) != meta["rows"] + 1:
        raise InvalidEntry(f"{len(offsets) - 1} rows, its record says {meta['rows']}")
    return [
        {key: columns[key][start:end] for key in meta["keys"]}
        for start, end in itertools.pairwise(offsets)
    ]


def unknown_token_rate(tokenizer, features: list) -> float | None:
    """The share of a split's tokens (special tokens left out) that are the tokenizer's unknown
    token: near 1, the tokenizer cannot read the task's text (None: no unknown token)."""
    unknown = tokenizer.unk_token_id
    if unknown is None or not features:
        return None
    special = set(tokenizer.all_special_ids) - {unknown}
    ids = np.concatenate([np.asarray(f["input_ids"]) for f in features])
    words = ids[~np.isin(ids, list(special))]
    return float((words == unknown).mean()) if len(words) else None


def timed_encoded_splits(tokenizer, task, max_length, splits, cache_root, record: dict) -> dict:
    """encoded_splits, with the seconds it took in record["tokenize_seconds"] and the share of
    the first split's tokens the tokenizer does not know in record["unknown_token_rate"]."""
    started = time.perf_counter()
    encoded = encoded_splits(tokenizer, task, max_length, splits, cache_root)
    record["tokenize_seconds"] = time.perf_counter() - started
    record["unknown_token_rate"] = unknown_token_rate(tokenizer, encoded[splits[0]])
    return encoded
