"""Every candidate's outcome, with its reason, on one page per architecture."""

import pandas as pd

from model_recycling.listing.candidates import Candidate, write_candidates
from model_recycling.pages.candidates import candidates_page
from model_recycling.probing.selection import select_top_k, write_selection
from model_recycling.tables.outcomes import (
    candidate_outcomes,
    read_candidates_csv,
    write_candidates_csv,
)


def probe(model_id, score=None, reason=""):
    status = "failed" if reason else "ok"
    return {"model_id": model_id, "model_revision": "r", "score": score, "status": status,
            "reason": reason}  # fmt: skip


def test_each_candidate_ends_ranked_failed_or_excluded_with_its_reason(tmp_path):
    listed = [
        Candidate("org/tested", "r", "local"),
        Candidate("org/celldied", "r", "local"),
        Candidate("org/unselected", "r", "local"),
        Candidate("org/probefailed", "r", "local"),
        Candidate("org/filtered-out", "r", "local"),  # not probed: candidates.exclude
        Candidate("evil|<b>x</b>", "r", "local", status="excluded", reason="auto_map | code"),
    ]
    write_candidates(tmp_path / "candidates.tsv", listed)
    probes = [
        probe("org/tested", 0.61),
        probe("org/celldied", 0.70),
        probe("org/unselected", 0.20),
        probe("org/probefailed", reason="non-finite feature"),
    ]
    write_selection(tmp_path / "selected.tsv", select_top_k(probes, 2, rank_by="linear_probe"))
    cells = pd.DataFrame(
        [
            {
                "model_id": "org/tested",
                "task": "t",
                "seed": 0,
                "status": "ok",
                "reason": "",
                "invalid": "",
            },
            {
                "model_id": "org/celldied",
                "task": "t",
                "seed": 0,
                "status": "failed",
                "reason": "killed by SIGKILL",
                "invalid": "",
            },
        ]  # fmt: skip
    )
    rows = candidate_outcomes(
        tmp_path / "candidates.tsv", tmp_path / "selected.tsv", cells, {"org/tested"}
    )
    outcomes = {r["model_id"]: (r["outcome"], r["probe_rank"], r["reason"]) for r in rows}
    assert outcomes == {
        "org/celldied": ("cells failed", 1, "t seed 0: killed by SIGKILL"),
        "org/tested": ("tested", 2, ""),
        "org/unselected": ("not selected", 3, ""),
        "org/probefailed": ("probe failed", "", "non-finite feature"),
        "evil|<b>x</b>": ("excluded at listing", "", "auto_map | code"),
    }
    assert [r["model_id"] for r in rows][:3] == ["org/celldied", "org/tested", "org/unselected"]

    write_candidates_csv(tmp_path / "candidates.csv", rows)
    page = candidates_page("arch", "base", read_candidates_csv(tmp_path / "candidates.csv"), "")
    ranked, cells_failed, probe_failed, excluded = (
        page.split("## Ranked by the probe")[1].split("## Cells failed")[0],
        page.split("## Cells failed or invalid")[1].split("## Probe failed")[0],
        page.split("## Probe failed")[1].split("## Probe invalid")[0],
        page.split("## Excluded at listing")[1],
    )
    assert "| 2 | [org/tested](model_gain_chart/arch/org~2ftested.md) | 61.00 | tested |" in ranked
    assert "| 3 | org/unselected | 20.00 | not selected |" in ranked
    assert "| 1 | org/celldied | 70.00 | cells failed |" in ranked
    assert (
        "org/probefailed" not in ranked
        and "| org/probefailed | non-finite feature |" in probe_failed
    )
    assert "| org/celldied | t seed 0: killed by SIGKILL |" in cells_failed
    assert "5 candidates: 3 ranked by the probe (1 tested, 1 not selected, 1 cells failed, " in page
    assert "evil&#124;&#60;b&#62;x&#60;/b&#62;" in excluded and "auto_map &#124; code" in excluded
    assert "<b>" not in page and "filtered-out" not in page
