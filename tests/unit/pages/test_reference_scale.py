"""The tables and pages at the reference site's scale (tests/support/reference_scale.py: 1,000+
fully tested models over 36 tasks, refused cells, implausible probes): selection only from valid
probes, invalid records grouped per model, one vocabulary, a verdict the data supports, and a
ranking page that stays small. Each model whose probe or cells were refused tells the same story
on the all-probed page, the ranking and the invalid-records page."""

import json
import re

import pandas as pd
import pytest

from model_recycling.pages.site import render_site
from model_recycling.probing.selection import read_selection, select_job
from model_recycling.settings import fill_defaults
from model_recycling.tables.aggregate import aggregate_job
from model_recycling.tables.outcomes import OUTCOMES
from tests.support.reference_scale import BASE, BASE_SEEDS, KINDS, generate

pytestmark = pytest.mark.slow
RANKING_PAGE_LIMIT = 50_000  # bytes


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference_scale")
    scale = generate(root / "results")
    arch = scale.arch_dir
    select_job(
        arch / "selected.tsv", scale.top_k, "linear_probe", 0, 0, probe_dir=arch / "probe",
        candidates_tsv=scale.candidates_tsv, arch="bert", probe_meta=scale.probe_meta,
    )  # fmt: skip
    settings = fill_defaults({
        "architectures": {"bert": {"base_model": {"id": BASE, "revision": "rev-org~2fbase-model"}}},
        "targets": scale.tasks, "seeds": [0], "baseline_seeds": list(range(BASE_SEEDS)),
        "top_k": scale.top_k, "probe": {"task": "mnli"},
    })  # fmt: skip
    tables = root / "tables"
    counts = aggregate_job(
        arch, BASE, "rev-org~2fbase-model", "", settings, scale.task_metas, scale.probe_meta,
        scale.candidates_tsv, arch / "selected.tsv", tables,
    )  # fmt: skip
    metas = {m.parent.name: json.loads(m.read_text()) for m in scale.task_metas}
    out = root / "site"
    info = {"base_id": BASE, "tables_dir": tables, "counts": counts}
    render_site(out, {"bert": info}, settings | {"task_meta": metas})
    return scale, tables, out, counts


def test_only_valid_probes_are_selected(site):
    scale, _, _, _ = site
    selection = {r["model_id"]: r for r in read_selection(scale.arch_dir / "selected.tsv")}
    selected = {m for m, r in selection.items() if r["selected"] == "yes"}
    assert len(selected) == scale.top_k
    for model_id in scale.models["probe_zero"] + scale.models["probe_zero_tested"]:
        row = selection[model_id]
        assert (row["status"], row["rank"], row["selected"]) == ("invalid", "", "no")
        assert row["reason"].startswith("implausible: accuracy 0 on 9,832 examples")
    assert selected == {
        m for k in ("tested", "cells_invalid", "cells_failed") for m in scale.models[k]
    }


def test_one_vocabulary_counts_every_candidate_once(site):
    scale, tables, out, counts = site
    outcomes = pd.read_csv(tables / "candidates.csv", keep_default_na=False)
    assert set(outcomes.outcome) <= set(OUTCOMES)
    found = outcomes.outcome.value_counts().to_dict()
    # a refused probe decides the outcome even where the model's cells rank (probe_zero_tested)
    assert found == {
        "tested": KINDS["tested"], "cells invalid": KINDS["cells_invalid"],
        "cells failed": KINDS["cells_failed"], "not selected": KINDS["not_selected"],
        "probe failed": KINDS["probe_failed"],
        "probe invalid": KINDS["probe_zero"] + KINDS["probe_zero_tested"],
        "excluded at listing": KINDS["excluded"],
    }  # fmt: skip
    assert counts["outcomes"] == {o: found.get(o, 0) for o in OUTCOMES}
    assert sum(counts["outcomes"].values()) == counts["listed"] == len(outcomes)
    rankings = (out / "Rankings.md").read_text().splitlines()
    summary = next(line for line in rankings if "[bert]" in line)
    said = [f"{counts['outcomes'][o]} {o}" for o in OUTCOMES if counts["outcomes"][o]]
    assert f"{counts['listed']} listed: {', '.join(said)}." in summary  # in OUTCOMES' order
    # "failed" only ever with what failed
    assert sorted(re.findall(r"\w+ failed", summary)) == ["cells failed", "probe failed"]


def test_invalid_records_are_grouped_per_model(site):
    scale, tables, out, counts = site
    invalid = pd.read_csv(tables / "invalid.csv")
    refused_models = set(scale.models["cells_invalid"] + scale.models["probe_zero"]
                         + scale.models["probe_zero_tested"])  # fmt: skip
    assert set(invalid.model_id) == refused_models
    assert counts["invalid_models"] == len(refused_models) < counts["invalid"] == len(invalid)
    page = (out / "bert_invalid.md").read_text()
    table_rows = [line for line in page.splitlines() if line.startswith("| org/")]
    assert len(table_rows) == len(refused_models)
    per_model = invalid.model_id.value_counts()
    for row in table_rows:
        model_id, refused, reasons = [c.strip() for c in row.strip("|").split("|")]
        n = per_model[model_id]
        kind = "probe" if "probe_zero" in model_id else "cell"
        assert refused == f"{n} {kind}{'s' if n != 1 else ''}", row
        assert reasons.count(f"{kind}: ") <= 2 and len(row) < 400, row
    ranking_page = (out / "bert_table.md").read_text()
    assert (
        f"{len(invalid)} records of {len(refused_models)} models failed the checks and count "
        "nowhere: [invalid records](bert_invalid.md)"
    ) in ranking_page
    assert "## Invalid records" not in ranking_page
    assert (
        f"{len(invalid)} invalid records of {len(refused_models)} models: "
        "[invalid records](bert_invalid.md)"
    ) in (out / "Rankings.md").read_text()


def test_the_ranking_page_stays_small(site):
    _, tables, out, _ = site
    assert len(pd.read_csv(tables / "ranking.csv")) >= 1000
    size = len((out / "bert_table.md").read_bytes())
    assert size < RANKING_PAGE_LIMIT, size


def test_a_refused_model_tells_one_story_on_every_page(site):
    scale, tables, out, _ = site
    candidates = (out / "bert_candidates.md").read_text()
    ranking = set(pd.read_csv(tables / "ranking.csv").model_id)
    full = (out / "bert_full_ranking.md").read_text()
    invalid_page = (out / "bert_invalid.md").read_text()
    sections = dict(zip(*[iter(re.split(r"\n## (.+)\n", candidates)[1:])] * 2, strict=True))

    def row_in(section: str, model_id: str) -> str:
        lines = sections[section].splitlines()
        return next((line for line in lines if f"| {model_id} |" in line), "")

    for model_id in scale.models["cells_invalid"]:
        assert model_id not in ranking and f"[{model_id}]" not in full
        assert "cells invalid" in row_in("Ranked by the probe", model_id)
        assert "outside the accuracy range" in row_in("Cells failed or invalid", model_id)
        assert f"| {model_id} | " in invalid_page
    for model_id in scale.models["probe_zero"]:
        assert model_id not in ranking and row_in("Ranked by the probe", model_id) == ""
        assert "implausible: accuracy 0" in row_in("Probe invalid", model_id)
        assert f"| {model_id} | 1 probe | probe: implausible" in invalid_page
    for model_id in scale.models["probe_zero_tested"]:  # its cells are valid: it ranks
        assert model_id in ranking and f"[{model_id}]" in full
        assert "its cells are all valid: it ranks" in row_in("Probe invalid", model_id)
        assert f"| {model_id} | 1 probe | probe: implausible" in invalid_page
    for model_id in scale.models["cells_failed"]:
        assert model_id not in ranking
        assert "CUDA out of memory" in row_in("Cells failed or invalid", model_id)
        assert f"| {model_id} |" not in invalid_page  # a failure is no refused record


def test_the_verdict_names_the_probe_at_this_scale(site):
    _, _, out, _ = site
    page = (out / "bert_proxy_quality.md").read_text()
    assert "Best-ranking proxy: linear_probe (Spearman 0." in page
    assert "linear_probe minus logme: 0." in page
    index = (out / "index.md").read_text().splitlines()
    home = next(line for line in index if line.startswith("| [bert]("))
    cells = [c.strip() for c in home.strip("|").split("|")]
    assert cells[1] == "linear_probe" and cells[2].endswith(f"(n={KINDS['tested']})")
    assert cells[3:] == ["linear_probe", "no (biased by selection)"]
