"""The pages on hand-made cells (every number known in advance)."""

import json
import re

import pandas as pd
import pytest
import yaml

from model_recycling.naming import safe_name
from model_recycling.pages.escaping import text
from model_recycling.pages.html import render_html_site
from model_recycling.pages.rankings import home_order, rank_numbers
from model_recycling.pages.site import render_site
from model_recycling.settings import fill_defaults
from model_recycling.tables.coverage import unreadable_tasks
from tests.support.records import FINGERPRINTS, METAS, TASKS, aggregate, write_arch_dir, write_cell


@pytest.fixture
def arch_dir(tmp_path):
    return write_arch_dir(tmp_path)


def test_pages(arch_dir, tmp_path):
    tables = tmp_path / "tables"
    aggregate(arch_dir, tables)
    counts = {
        "listed": 9,
        "excluded": 2,
        "probed": 2,
        "probe_failed": 0,
        "selected": 2,
        "tested": 2,
    }
    (tables / "counts.json").write_text(json.dumps(counts))
    meta = {
        t: {
            "spec": {"dataset": "d", "config": None, "eval_split": "test"},
            "sizes": {"eval": 100, "train": 10, "dev": 2},
            "label_counts": {"dev": {"a": 1, "b": 1}},
            "metric": "accuracy",
            "fingerprint": "f" + t,
        }
        for t in TASKS
    }
    settings = fill_defaults(
        {
            "targets": TASKS,
            "seeds": [0],
            "baseline_seeds": [0, 1],
            "top_k": 2,
            "task_meta": meta,
            "finetune": {"learning_rate": 5e-5},
            "probe": {"task": "p", "pooling": "mean"},
            "protocol": "reference",
            "dev_holdout": {"large_threshold": 10000, "large_size": 1000, "small_fraction": 0.1},
            "ranking_top_n": 1,
        }
    )
    site = tmp_path / "site"
    render_site(
        site, {"demo": {"base_id": "base", "tables_dir": tables, "counts": counts}}, settings
    )
    index = (site / "index.md").read_text()
    assert "Tested so far: 2 fully tested on every target task, 2 ranked by the probe" in index
    row = next(line for line in index.splitlines() if line.startswith("| [base]"))
    assert "[org/good](model_gain_chart/demo/org~2fgood.md)" in row
    assert "| 55.00 | 37.50 | 17.50 |" in row  # best avg, baseline avg, gain
    # top 1 of 2: rank numbers, the baseline row first, the rest on the full ranking page
    ranking_page = (site / "demo_table.md").read_text()
    assert "| - | [base (baseline)](demo_pretrain_scores_table.md) | 37.50 |" in ranking_page
    assert "| 1 | [org/good](model_gain_chart/demo/org~2fgood.md) | 55.00 | 17.50 |" in (
        ranking_page
    )
    assert "The top 1 of 2 fully tested models" in ranking_page
    assert "(demo_full_ranking.md)" in ranking_page and "(data/demo/ranking.csv)" in ranking_page
    full = (site / "demo_full_ranking.md").read_text()
    order = [full.index(row) for row in ("base (baseline)", "| 1 | [org/good]", "| 2 | [bad]")]
    assert order == sorted(order)
    assert 'parent: "demo"\ngrand_parent: "Rankings"\n' in full
    assert "arXiv 2211.00107" in (site / "cite.md").read_text()
    assert "remote_theme: just-the-docs/just-the-docs" in (site / "_config.yml").read_text()
    assert (site / "model_gain_chart/demo/org~2fgood.svg").read_text().startswith("<svg ")
    # the stale cell (other task data): one line on the ranking page, its model and reason on the
    # invalid-records page, its file in invalid.csv; it ranks nowhere
    assert "stale" not in ranking_page
    assert (
        "1 record of 1 model failed the checks and count nowhere: "
        "[invalid records](demo_invalid.md)" in ranking_page
    )
    invalid_page = (site / "demo_invalid.md").read_text()
    assert "| stale | 1 cell | cell: task fingerprint old is not" in invalid_page
    stale = arch_dir / "cells" / "stale" / "t_acc" / "seed0.json"
    assert str(stale) in (site / "data/demo/invalid.csv").read_text()
    faq = (site / "faq.md").read_text()
    assert "| learning_rate | 5e-05 |" in faq
    assert "`protocol: reference`" in faq and "| 10 | 2 (1 / 1) | accuracy |" in faq
    manifest = json.loads((site / "manifest.json").read_text())
    assert manifest["model_revisions"]["demo"]["org/good"] == "rev-org/good"
    assert manifest["task_fingerprints"] == {"t_acc": "ft_acc", "t_reg": "ft_reg"}
    assert manifest["seeds"] == {"candidates": [0], "baseline": [0, 1]}
    assert manifest["packages"]["torch"] and manifest["code_version"]["package_sha256"]
    assert "finetuned on 2 target tasks, and" in index


def render_small_site(arch_dir, tmp_path, more_metas=None):
    """The tables of arch_dir's cells and the pages made of them, with targets TASKS and those of
    more_metas (task -> its meta.json); returns the site folder."""
    tables = tmp_path / "tables"
    aggregate(arch_dir, tables)
    counts = {"listed": 2, "excluded": 0, "probed": 2, "probe_failed": 0, "selected": 2,
              "tested": 2}  # fmt: skip
    (tables / "counts.json").write_text(json.dumps(counts))
    meta = {t: {**METAS[t], "spec": {"dataset": "d", "config": None, "eval_split": "test"},
                "sizes": {"eval": 100, "train": 10, "dev": 2}, "label_counts": {"dev": {"a": 1}}}
            for t in TASKS} | (more_metas or {})  # fmt: skip
    settings = fill_defaults({"targets": list(meta), "seeds": [0], "baseline_seeds": [0, 1],
                              "task_meta": meta, "probe": {"task": "p"}})  # fmt: skip
    site = tmp_path / "site"
    render_site(site, {"demo": {"base_id": "base", "tables_dir": tables, "counts": counts}},
                settings)  # fmt: skip
    return site


def test_a_target_that_could_not_be_prepared_is_said_on_every_page_that_names_targets(
    arch_dir, tmp_path
):
    """The task's meta.json holds its failure and no fingerprint: the pages render anyway."""
    failed = {"task": "t_new", "status": "failed", "spec": {"dataset": "isear.csv",
              "config": None}, "reason": "file isear.csv not found"}  # fmt: skip
    site = render_small_site(arch_dir, tmp_path, {"t_new": failed})
    index = (site / "index.md").read_text()
    assert "3 target tasks (1 of them could not be prepared: t_new; the FAQ says why)" in index
    assert (
        "| t_new | isear.csv | not prepared: file isear.csv not found |"
        in (site / "faq.md").read_text()
    )
    manifest = json.loads((site / "manifest.json").read_text())
    assert manifest["task_fingerprints"]["t_new"] == "failed: file isear.csv not found"


def test_a_task_the_tokenizer_cannot_read_is_named_with_its_rate(arch_dir, tmp_path):
    for seed in (0, 1):  # the base's cells record the share of unknown tokens
        path = arch_dir / "cells/base/t_acc" / f"seed{seed}.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "unknown_token_rate": 0.87}))
    site = render_small_site(arch_dir, tmp_path)
    assert unreadable_tasks(tmp_path / "tables") == [("t_acc", 0.87)]
    home = (site / "index.md").read_text()
    assert "demo: text its tokenizer cannot read: t_acc (87% unknown tokens)" in home
    ranking = (site / "demo_table.md").read_text()
    assert "**Text mostly unknown to base's tokenizer:** t_acc (87% of its tokens)" in ranking
    assert (site / "data/demo/tasks.csv").exists()


EVIL_ID = "x|y <script>alert(1)</script> {{ site.x }} {% include e %} [z](javascript:1) $\\bad$"
EVIL_BASE = "base|<b>{{ page.title }}</b>"


def test_hostile_names_are_escaped_on_every_page(tmp_path):
    """Model ids and configured strings reach the pages as text: no table breaks, no HTML, no
    Liquid, no markdown link, and the chart title is no mathtext."""
    arch = tmp_path / "results" / "architectures" / "arch"
    for seed in (0, 1):
        write_cell(arch, EVIL_BASE, "t_acc", seed, 0.5)
        write_cell(arch, EVIL_BASE, "t_reg", seed, 0.1)
    write_cell(arch, EVIL_ID, "t_acc", 0, 0.7)
    write_cell(arch, EVIL_ID, "t_reg", 0, 0.2)
    (arch / "probe").mkdir()
    revisions = {m: "rev-" + m for m in (EVIL_BASE, EVIL_ID)}
    tables = tmp_path / "tables"
    aggregate(arch, tables, revisions=revisions, base_id=EVIL_BASE)
    counts = {"listed": 1, "excluded": 0, "probed": 0, "probe_failed": 0, "tested": 1}
    meta = {
        t: {
            "spec": {"dataset": "d|<i>{% x %}</i>", "config": "{{c}}", "eval_split": "test"},
            "sizes": {"eval": 100, "train": 10, "dev": 2},
            "metric": METAS[t]["metric"],
            "fingerprint": FINGERPRINTS[t],
        }
        for t in TASKS
    }
    settings = fill_defaults({
        "targets": TASKS, "seeds": [0], "baseline_seeds": [0, 1], "top_k": 1, "task_meta": meta,
        "finetune": {"learning_rate": 5e-5}, "probe": {"task": "p", "pooling": "mean"},
        "dev_holdout": {"large_threshold": 10000, "large_size": 1000, "small_fraction": 0.1},
    })  # fmt: skip
    site = tmp_path / "site"
    info = {"base_id": EVIL_BASE, "tables_dir": tables, "counts": counts}
    render_site(site, {"demo": info}, settings)

    pages = {page.name: page.read_text() for page in site.rglob("*.md")}
    gain_page = pages[f"{safe_name(EVIL_ID)}.md"]
    assert f"# {text(EVIL_ID)}\n" in gain_page and "&#124;" in gain_page
    chart = (site / f"model_gain_chart/demo/{safe_name(EVIL_ID)}.svg").read_text()
    assert "<script" not in chart and "&#60;script" in chart
    for name, page in pages.items():
        for raw in ("<script", "<b>", "<i>", "{{", "{%", "](javascript"):
            assert raw not in page, (name, raw)
        front, body = page.split("---\n", 2)[1:]
        assert "<" not in yaml.safe_load(front)["title"]
        for table in re.findall(r"(?:^\|.*\|\n)+", body, re.M):
            widths = {line.count("|") for line in table.splitlines()}
            assert len(widths) == 1, (name, table)  # every row has the header's columns
    assert text(EVIL_BASE) in pages["index.md"] and "d&#124;&#60;i&#62;" in pages["faq.md"]
    # and through the HTML rendering: still text, no markup
    render_html_site(site, tmp_path / "html")
    for page in (tmp_path / "html").rglob("*.html"):
        for raw in ("<script", "<b>", "<i>", "{{", "{%", 'href="javascript'):
            assert raw not in page.read_text(), (page.name, raw)


def test_home_order_is_by_gain_then_name_and_ranks_share_ties():
    summaries = [
        {"arch": "b", "gain": 1.0},
        {"arch": "none", "gain": None},
        {"arch": "a", "gain": 1.0},
        {"arch": "c", "gain": 2.5},
        {"arch": "d", "gain": -3.0},
    ]
    assert [s["arch"] for s in home_order(summaries)] == ["c", "a", "b", "d", "none"]
    assert rank_numbers(pd.DataFrame({"avg": [80.0, 70.0, 70.0, 60.0]})) == [1, 2, 2, 4]
