# Report: cells -> tables per architecture -> the site (markdown pages, charts, CSVs) -> the
# same site as HTML that opens from disk.


localrules:
    aggregate,
    render,
    html_site,
    model_cards,
    propose_model_cards,


rule aggregate:
    input:
        baseline=lambda w: baseline_cells(w.arch),
        cells=lambda w: candidate_cells(w.arch),
        candidates=f"{ARCH}/candidates.tsv",
        selection=f"{ARCH}/selected.tsv",
        metas=expand(f"{RESULTS}/tasks/{{task}}/meta.json", task=config["targets"]),
        probe_meta=f"{RESULTS}/tasks/{config['probe']['task']}/meta.json",
        # With adaptive seeds or racing: the rounds' last decisions.
        rounds=lambda w: round_files(w.arch),
    output:
        # The main tables also go into `snakemake --report` (captions in report/).
        ranking=report(
            f"{ARCH}/tables/ranking.csv",
            caption="../report/ranking.rst",
            category="Tables",
            subcategory="{arch}",
            labels={"architecture": "{arch}", "table": "ranking"},
        ),
        baseline=report(
            f"{ARCH}/tables/baseline.csv",
            caption="../report/baseline.rst",
            category="Tables",
            subcategory="{arch}",
            labels={"architecture": "{arch}", "table": "baseline"},
        ),
        gains=report(
            f"{ARCH}/tables/gains.csv",
            caption="../report/gains.rst",
            category="Tables",
            subcategory="{arch}",
            labels={"architecture": "{arch}", "table": "gains"},
        ),
        tables=multiext(
            f"{ARCH}/tables/",
            "cells.csv",
            "probes.csv",
            "proxies.csv",
            "invalid.csv",
            "candidates.csv",
            "counts.json",
        ),
    log:
        f"{LOGS}/aggregate/{{arch}}.log",
    conda:
        "../envs/workflow.yaml"
    params:
        base_id=lambda w: base_id(w.arch),
        # Cells count only at the revision the run uses now (validation.py).
        base_revision=lambda w: model_revision(w.arch, plan.base_name(config, w.arch)),
        base_dir=lambda w: model_dir(w.arch, plan.base_name(config, w.arch)),
        arch_dir=lambda w, input: os.path.dirname(input.candidates),
        out_dir=lambda w, output: os.path.dirname(output.tables[0]),
        rounds=round_options,
        # baseline_min_seeds only when the config writes it (settings.RECORDED_AS_WRITTEN)
        settings=as_json(
            {
                k: RECORDED[k]
                for k in ("targets", "seeds", "baseline_seeds", "baseline_min_seeds")
                if k in RECORDED
            }
        ),
    shell:
        "python scripts/aggregate.py --arch-dir {params.arch_dir} "
        "--base-id {params.base_id:q} --base-revision {params.base_revision:q} "
        "--base-dir {params.base_dir:q} --settings {params.settings:q} "
        "--task-metas {input.metas} --probe-meta {input.probe_meta} "
        "--candidates {input.candidates} "
        "--selection {input.selection} --out-dir {params.out_dir} {params.rounds} "
        "> {log} 2>&1"


rule render:
    input:
        tables=expand(f"{ARCH}/tables/counts.json", arch=config["architectures"]),
        metas=expand(f"{RESULTS}/tasks/{{task}}/meta.json", task=config["targets"]),
        # The demo zoo's page reads each intermediate's recycling_card.json.
        zoo=(
            expand(f"{ZOO_DIR}/models/{{name}}", name=ZOO.get("intermediates", {}))
            if ZOO.get("enabled")
            else []
        ),
    output:
        report(
            directory(f"{RESULTS}/site"),
            patterns=["model_gain_chart/{arch}/{model}.svg"],
            caption="../report/gain_chart.rst",
            category="Gain charts",
            subcategory="{arch}",
            labels={"architecture": "{arch}", "model": "{model}"},
        ),
    log:
        f"{LOGS}/render.log",
    conda:
        "../envs/workflow.yaml"
    params:
        tables=lambda w, input: [
            f"{arch}={os.path.dirname(path)}"
            for arch, path in zip(config["architectures"], input.tables)
        ],
        settings=as_json(RECORDED),
        zoo=f"--zoo-models {ZOO_DIR}/models" if ZOO.get("enabled") else "",
    shell:
        "python scripts/render.py --settings {params.settings:q} --tables {params.tables} "
        "--task-metas {input.metas} {params.zoo} --out-dir {output} > {log} 2>&1"


rule html_site:
    input:
        f"{RESULTS}/site",
    output:
        directory(f"{RESULTS}/site_html"),
    log:
        f"{LOGS}/html_site.log",
    conda:
        "../envs/workflow.yaml"
    shell:
        "python scripts/render_html.py --site {input} --out-dir {output} > {log} 2>&1"


rule model_cards:
    input:
        tables=expand(f"{ARCH}/tables/counts.json", arch=config["architectures"]),
    output:
        directory(f"{RESULTS}/model_cards"),
    log:
        f"{LOGS}/model_cards.log",
    conda:
        "../envs/workflow.yaml"
    params:
        tables=lambda w, input: [
            f"{arch}={os.path.dirname(path)}"
            for arch, path in zip(config["architectures"], input.tables)
        ],
        settings=as_json(RECORDED),
    shell:
        "python scripts/model_cards.py --settings {params.settings:q} --tables {params.tables} "
        "--out-dir {output} > {log} 2>&1"


# Opt-in, never part of `all`: proposes each card section as a Hub pull request. Dry run unless
# card_pr.dry_run is false (see README, "Model-card sections").
rule propose_model_cards:
    input:
        f"{RESULTS}/model_cards",
    log:
        f"{LOGS}/propose_model_cards.log",
    conda:
        "../envs/workflow.yaml"
    params:
        settings=as_json(config["card_pr"]),
        site_url=config["site_url"],
    shell:
        # printed and logged; pipefail: the job fails when the script does
        "set -o pipefail; python scripts/propose_model_cards.py --cards {input} "
        "--settings {params.settings:q} --site-url={params.site_url:q} 2>&1 | tee {log}"
