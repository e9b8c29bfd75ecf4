"""Results are written whole, readable by others as the umask allows, and never with a bare NaN."""

import json
import os
import stat

import pytest

from model_recycling.io import atomic_write_json, atomic_write_text, write_jsonl


@pytest.fixture
def umask():
    """Set the process umask for one test, restored after."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    atomic_write_text(tmp_path / "page.md", "# page\n")
    atomic_write_json(tmp_path / "cell.json", {"score": 0.5})
    write_jsonl(tmp_path / "rows.jsonl", [{"a": 1}])
    for name in ("page.md", "cell.json", "rows.jsonl"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_refused_naming_file_and_key(tmp_path, bad):
    path = tmp_path / "cell.json"
    atomic_write_json(path, {"score": 0.5})
    record = {"score": 0.7, "history": [{"step": 5, "dev_score": 0.1}, {"dev_score": bad}]}
    with pytest.raises(ValueError, match=r"cell\.json.*history\[1\]\.dev_score"):
        atomic_write_json(path, record)
    assert json.loads(path.read_text()) == {"score": 0.5}  # the earlier result is kept whole
    with pytest.raises(ValueError, match=r"rows\.jsonl line 2: .*label"):
        write_jsonl(tmp_path / "rows.jsonl", [{"label": 1.0}, {"label": bad}])
    assert not (tmp_path / "rows.jsonl").exists()
