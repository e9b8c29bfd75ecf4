"""A local model's revision depends on the files that define it, and on nothing else."""

import shutil

from model_recycling.listing.local import content_revision


def test_revision_ignores_the_training_card_and_follows_the_weights(tiny_zoo, tmp_path):
    model = tmp_path / "m"
    shutil.copytree(tiny_zoo / "base", model)
    card = model / "recycling_card.json"
    assert card.is_file()  # the demo zoo writes its training timings there
    first = content_revision(model)
    assert content_revision(model) == first

    card.write_text('{"train_seconds": 12.5}\n')
    (model / "README.md").write_text("notes")
    (model / "checkpoint-5").mkdir()
    (model / "checkpoint-5" / "model.safetensors").write_bytes(b"old")
    assert content_revision(model) == first

    weights = next(model.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one weight byte
    weights.write_bytes(bytes(data))
    changed = content_revision(model)
    assert changed != first

    (model / "tokenizer_config.json").write_text("{}")
    assert content_revision(model) != changed
