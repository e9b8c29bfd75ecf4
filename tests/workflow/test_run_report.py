"""What a finished run offers beyond its pages: progress lines in the job logs, and a Snakemake
report (`snakemake --report`) holding the main tables and charts. Both read the session's
complete micro run (tests/conftest.py micro_run); the report is built in a copy of it."""

import json
import shutil
import zipfile

import pandas as pd
import pytest

from model_recycling.naming import safe_name
from model_recycling.pages.model_cards import ordinal
from tests.support.workflow import snakemake

pytestmark = pytest.mark.slow


def test_job_logs_show_progress(micro_run):
    """Every finetuning cell's log and every successful probe's log holds progress lines."""
    workdir = micro_run[0]
    logs = workdir / "results/logs"
    cell_logs = sorted((logs / "finetune").rglob("seed*.log"))
    probe_logs = [
        logs / "probe" / path.parent.parent.name / f"{path.stem}.log"
        for path in sorted((workdir / "results/architectures").glob("*/probe/*.json"))
        if json.loads(path.read_text())["status"] == "ok"
    ]
    assert cell_logs and probe_logs
    for log, kind in [(log, "train") for log in cell_logs] + [(p, "features") for p in probe_logs]:
        lines = [ln for ln in log.read_text().splitlines() if ln.startswith("progress ")]
        assert lines and lines[0].startswith(f"progress {kind}: step 1/"), log
        assert all("examples/s" in ln and "ETA" in ln for ln in lines), log


def test_model_card_sections(micro_run):
    """One section per fully tested model: rank, average against the baseline, per-task table,
    the results' date (from the cells), the revision tested and a link to its page."""
    workdir, config, _ = micro_run
    cards = workdir / "results/model_cards"
    index = json.loads((cards / "index.json").read_text())
    for arch in config["architectures"]:
        ranking = pd.read_csv(workdir / f"results/architectures/{arch}/tables/ranking.csv")
        mine = [entry for entry in index if entry["arch"] == arch]
        assert [e["model_id"] for e in mine] == list(ranking.model_id)
        for entry, row in zip(mine, ranking.itertuples(), strict=True):
            section = (cards / entry["file"]).read_text()
            rank = 1 + int((ranking.avg > row.avg).sum())  # tied averages share a rank
            assert entry["file"] == f"{arch}/{safe_name(row.model_id)}.md"
            assert section.startswith("## Model Recycling\n")
            assert f"ranked {ordinal(rank)} among the {len(ranking)} fully tested" in section
            assert f"average score of {row.avg:.2f}" in section
            assert f"<code>{row.revision}</code>" in section
            assert f"(model_gain_chart/{arch}/{safe_name(row.model_id)}.html)" in section
            for task in config["targets"]:
                assert f"| {task} | {getattr(row, task):.2f} |" in section
            started = [
                json.loads(p.read_text())["started_at"][:10]
                for p in (workdir / f"results/architectures/{arch}/cells").glob(
                    f"{safe_name(row.model_id)}/*/seed*.json"
                )
            ]
            assert f"as of {max(started)}," in section
            assert entry["source_type"] == "local"


def test_snakemake_report_holds_tables_and_charts(micro_run, tmp_path):
    """`snakemake --report report.zip` on the finished run: the main tables per architecture
    and every gain chart, with their captions."""
    workdir = tmp_path / "fork"
    shutil.copytree(micro_run[0], workdir, symlinks=True)
    configfile = workdir / micro_run[2].name
    snakemake(workdir, configfile, "--report", "report.zip")
    with zipfile.ZipFile(workdir / "report.zip") as archive:
        # each result is stored as report/data/raw/<id>/<file name>
        names = [n for n in archive.namelist() if "/data/raw/" in n]
        html = archive.read("report/report.html").decode()
    stored = [name.rsplit("/", 1)[1] for name in names]
    archs = micro_run[1]["architectures"]
    for table in ("ranking.csv", "baseline.csv", "gains.csv"):
        assert stored.count(table) == len(archs), table
    for arch in archs:
        charts = sorted((workdir / "results/site/model_gain_chart" / arch).glob("*.svg"))
        assert charts and all(chart.name in stored for chart in charts)
    assert "Per-task gain of one fully tested model" in html
    assert "Fully tested models of architecture" in html
