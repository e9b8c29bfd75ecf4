import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save

from model_recycling.listing.candidates import Candidate, read_candidates, write_candidates
from model_recycling.listing.local import content_revision, list_local_candidates
from tests.support.common import TINY_T5


def test_listing_keeps_matches_and_records_exclusions(tiny_zoo, tmp_path):
    from model_recycling.demo import zoo as demo_zoo

    root = tmp_path / "models"
    shutil.copytree(tiny_zoo / "base", root / "base")
    shutil.copytree(tiny_zoo / "base", root / "copy")
    (root / "copy" / "config.json").write_text(  # another config, the same weights
        (root / "base" / "config.json").read_text().replace("{", '{"dtype": "float16",', 1)
    )
    demo_zoo.build_decoys(root / "base", root, seed=0)
    found = {c.model_id: c for c in list_local_candidates({"path": str(root)}, root / "base")}
    assert found["base"].reason == "the base model itself"
    assert found["copy"].reason == "the base model itself (identical weight files, sha256)"
    assert found["copy"].num_parameters == found["base"].num_parameters > 0
    assert "hidden_size" in found["decoy-wider"].reason
    assert "no weight files" in found["decoy-no-weights"].reason
    assert found["decoy-no-tokenizer"].status == "ok"  # caught later, when probing


def test_content_revision_is_stable_and_content_sensitive(tiny_zoo, tmp_path):
    shutil.copytree(tiny_zoo / "base", tmp_path / "m")
    first = content_revision(tmp_path / "m")
    assert content_revision(tmp_path / "m") == first
    (tmp_path / "m" / ".snakemake_timestamp").write_text("")
    assert content_revision(tmp_path / "m") == first
    (tmp_path / "m" / "config.json").write_text("{}")
    assert content_revision(tmp_path / "m") != first


def test_candidates_tsv_round_trip(tmp_path):
    rows = [
        Candidate("a/b", "sha1", "hub", num_parameters=5, tags="x,y"),
        Candidate("c", "r", "local", status="excluded", reason="why"),
    ]
    write_candidates(tmp_path / "c.tsv", rows)
    assert read_candidates(tmp_path / "c.tsv") == rows


# --- hostile folders, size caps, architecture keys ------------------


def model_copy(tiny_zoo, root, name, **files) -> Path:
    """A copy of the tiny base (a real model) with some files replaced: {name: bytes or None}."""
    folder = root / name
    shutil.copytree(tiny_zoo / "base", folder)
    for filename, content in files.items():
        (folder / filename.replace("_", ".")).unlink()
        if content is not None:
            (folder / filename.replace("_", ".")).write_bytes(content)
    return folder


def safetensors_bytes(header) -> bytes:
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw


def retrained_weights(tiny_zoo) -> bytes:
    """The base's tensors, changed: a finetune of the same shape."""
    tensors = load_file(tiny_zoo / "base" / "model.safetensors")
    return save({name: tensor + 1 for name, tensor in tensors.items()})


def test_hostile_folders_are_excluded_one_by_one(tiny_zoo, tmp_path):
    root = tmp_path / "models"
    base = model_copy(tiny_zoo, root, "tiny-base")
    good = retrained_weights(tiny_zoo)
    weights = (base / "model.safetensors").read_bytes()
    config = json.loads((base / "config.json").read_text())
    cases = {
        "nested-config": ({"config_json": b"[" * 100_000 + b"]" * 100_000}, "not valid JSON"),
        "list-config": ({"config_json": b"[1]"}, "config.json holds a JSON list, not an object"),
        "string-layers": (
            {"config_json": json.dumps({**config, "num_hidden_layers": "1"}).encode()},
            "num_hidden_layers is '1', not a positive integer",
        ),
        "corrupt-weights": ({"model_safetensors": os.urandom(4096)}, "not a readable safetens"),
        "truncated-weights": ({"model_safetensors": good[: len(good) // 2]}, "not a readable"),
        "header-not-tensors": ({"model_safetensors": safetensors_bytes({"x": 5})}, "not a read"),
        "header-a-list": ({"model_safetensors": safetensors_bytes([1])}, "not a readable"),
        "weights-a-fifo": ({"model_safetensors": None}, "no weight files"),
        "config-a-folder": ({"config_json": None}, "no config.json"),
        "big-weights": ({"model_safetensors": bytes(4 << 20)}, "weights are 4 MB, above the"),
        "big-tokenizer": ({"tokenizer_json": b" " * (3 << 20)}, "tokenizer.json is 3 MB, above"),
        "pickle-only": ({"model_safetensors": None}, "pickle weights only"),
        "renamed-copy-of-the-base": ({"model_safetensors": weights}, "the base model itself"),
        "good": ({"model_safetensors": good}, ""),
    }
    for name, (files, _) in cases.items():
        model_copy(tiny_zoo, root, name, **files)
    os.mkfifo(root / "weights-a-fifo" / "model.safetensors")  # opening it would block
    (root / "config-a-folder" / "config.json").mkdir()
    torch.save(load_file(base / "model.safetensors"), root / "pickle-only" / "pytorch_model.bin")
    model_copy(tiny_zoo, root, "my-base", model_safetensors=good)  # the base's id: its cells
    source = {"path": str(root), "max_file_mb": 2}
    found = {c.model_id: c for c in list_local_candidates(source, base, "my-base")}
    for name, (_, reason) in cases.items():
        assert reason in found[name].reason, (name, found[name].reason)
        assert found[name].status == ("ok" if name == "good" else "excluded"), name
        assert "\n" not in found[name].reason
    assert found["my-base"].reason == "the base model itself"
    # With pickle allowed, the pickle-only copy is described (no weights loaded) and kept.
    allowed = list_local_candidates({**source, "allow_pickle": True}, base, "my-base")
    assert {c.model_id: c for c in allowed}["pickle-only"].status == "ok"


def test_a_base_that_cannot_be_described_stops_the_listing_naming_it(tiny_zoo, tmp_path):
    base = model_copy(tiny_zoo, tmp_path / "models", "base", config_json=b"[1]")
    with pytest.raises(ValueError, match=r"base model 'org/base' \(.*JSON list"):
        list_local_candidates({"path": str(tmp_path / "models")}, base, "org/base")


class Payload:
    """Pickled, it calls open(marker, "w") when unpickled: code run by loading."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payload_never_runs(tiny_zoo, tmp_path):
    from model_recycling.models.files import ModelLoadError
    from model_recycling.models.loading import load_encoder

    folder = model_copy(tiny_zoo, tmp_path / "models", "evil", model_safetensors=None)
    marker = tmp_path / "marker"
    tensors = load_file(tiny_zoo / "base" / "model.safetensors")
    torch.save({**tensors, "payload": Payload(marker)}, folder / "pytorch_model.bin")
    found = list_local_candidates({"path": str(tmp_path / "models")}, tiny_zoo / "base")
    assert found[0].reason.startswith("pickle weights only")
    # Allowed, it loads through torch.load(weights_only=True): refused, the payload never runs.
    with pytest.raises(ModelLoadError, match="weights failed to load"):
        load_encoder(folder, torch.device("cpu"))
    assert not marker.exists()


def tiny_t5(folder, seed: int, **keys) -> Path:
    from transformers import T5Config, T5Model

    torch.manual_seed(seed)
    T5Model(T5Config(**{**TINY_T5, **keys})).save_pretrained(folder)
    return folder


def test_t5_v1_1_and_t5_pools_are_not_mixed(tmp_path):
    """Gated-gelu with 2/3 of the d_ff has the relu model's exact parameter count (as
    t5-v1_1-base, d_ff 2048, has t5-base's, d_ff 3072)."""
    root = tmp_path / "models"
    base = tiny_t5(tmp_path / "t5-base", 0, d_ff=96)
    tiny_t5(root / "flan-t5", 1, feed_forward_proj="gated-gelu", d_ff=64)
    tiny_t5(root / "t5-finetune", 2, d_ff=96)
    found = {c.model_id: c for c in list_local_candidates({"path": str(root)}, base)}
    assert found["flan-t5"].backbone_parameters == found["t5-finetune"].backbone_parameters
    assert found["t5-finetune"].status == "ok"
    assert found["flan-t5"].reason == "architecture: feed_forward_proj gated-gelu != base relu"
    rows = tmp_path / "candidates.tsv"
    write_candidates(rows, found.values())
    assert read_candidates(rows)[0].architecture["feed_forward_proj"] == "gated-gelu"


def with_position_ids(folder: Path) -> Path:
    """The folder's weights with the int64 `embeddings.position_ids` buffer that transformers
    4.x saved (all-MiniLM-L6-v2's [1, 512]), as an old checkpoint of the same model holds it."""
    tensors = load_file(folder / "model.safetensors")
    positions = tensors["bert.embeddings.position_embeddings.weight"].shape[0]
    tensors["bert.embeddings.position_ids"] = torch.arange(positions).unsqueeze(0)
    (folder / "model.safetensors").write_bytes(save(tensors, metadata={"format": "pt"}))
    return folder


def test_an_integer_buffer_is_not_a_parameter(tiny_zoo, tmp_path):
    """Sizes are compared by parameters (floating-point tensors): a finetune saved with an old
    checkpoint's integer buffer matches a base saved without it, and the other way round."""
    from model_recycling.models.files import count_parameters

    plain = model_copy(tiny_zoo, tmp_path, "plain", model_safetensors=retrained_weights(tiny_zoo))
    old = with_position_ids(model_copy(tiny_zoo, tmp_path, "old"))
    assert count_parameters(old) == count_parameters(plain) == count_parameters(tiny_zoo / "base")
    for base, candidate in ((tiny_zoo / "base", old), (old, plain)):
        root = tmp_path / f"source-for-{base.name}"
        shutil.copytree(candidate, root / "finetune")
        (found,) = list_local_candidates({"path": str(root)}, base)
        assert found.status == "ok", (base.name, found.reason)
    # A copy of the old base, buffer included, is still the base itself.
    shutil.copytree(old, tmp_path / "copies" / "copy")
    (copy,) = list_local_candidates({"path": str(tmp_path / "copies")}, old)
    assert copy.reason == "the base model itself (identical weight files, sha256)"
