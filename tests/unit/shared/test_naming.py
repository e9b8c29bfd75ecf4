import random

import pytest

from model_recycling.naming import SAFE_NAME_PATTERN, model_id_from_safe_name, safe_name

IDS = [
    "roberta-base",
    "ibm/ColD-Fusion-itr13-seed2",
    "google/t5-v1_1-base",
    "a/b--c",
    "a--b/c",
    "..",
    ".hidden",
    "../../etc/passwd",
    "name~with~tilde",
    "ünïcode/模型",
    "a b",
]


@pytest.mark.parametrize("model_id", IDS)
def test_round_trip_and_path_safe(model_id):
    import re

    name = safe_name(model_id)
    assert re.fullmatch(SAFE_NAME_PATTERN, name)
    assert "/" not in name and name not in (".", "..") and not name.startswith(".")
    assert model_id_from_safe_name(name) == model_id


def test_injective_on_random_ids():
    rng = random.Random(0)
    alphabet = "ab/-_.~ %é"
    ids = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(5000)}
    names = {safe_name(i) for i in ids}
    assert len(names) == len(ids)


def test_readable_for_ordinary_ids():
    assert safe_name("ibm/ColD-Fusion") == "ibm~2fColD-Fusion"
    assert safe_name("bert-base-uncased") == "bert-base-uncased"


def test_empty_id_rejected():
    with pytest.raises(ValueError):
        safe_name("")
