import shutil

from model_recycling.sources import Candidate, read_candidates, write_candidates
from model_recycling.sources.local import content_revision, list_local_candidates


def test_listing_keeps_matches_and_records_exclusions(tiny_zoo, tmp_path):
    from model_recycling import demo_zoo

    root = tmp_path / "models"
    shutil.copytree(tiny_zoo / "base", root / "base")
    shutil.copytree(tiny_zoo / "base", root / "copy")
    (root / "copy" / "extra.txt").write_text("changes the revision")
    demo_zoo.build_decoys(root / "base", root, seed=0)
    found = {c.model_id: c for c in list_local_candidates({"path": str(root)}, root / "base")}
    assert found["base"].reason == "the base model itself"
    assert found["copy"].status == "ok" and found["copy"].num_parameters > 0
    assert "hidden_size" in found["decoy-wider"].reason
    assert "no weight files" in found["decoy-no-weights"].reason
    assert found["decoy-no-tokenizer"].status == "ok"  # caught later, when probing
    assert found["copy"].revision != found["base"].revision


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
