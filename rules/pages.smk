# Pages: every architecture's tables -> the site (markdown pages, charts, CSVs) -> the same
# site as HTML that opens from disk; the model-card sections, and proposing them on the Hub.


localrules:
    render,
    html_site,
    model_cards,
    propose_model_cards,


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
