# Probing and selection: each candidate scored (one job per model), then the top-k and a
# calibration sample chosen (checkpoint); the downloads they need.


include: "functions/probing.smk"


# Downloads and selection run on the submitting host (downloads need the network).
localrules:
    download_model,
    select,


rule probe:
    input:
        model=lambda w: probe_model_input(w.arch, w.model),
        task=task_inputs(config["probe"]["task"]),
    output:
        f"{ARCH}/probe/{{model}}.json",
    log:
        f"{LOGS}/probe/{{arch}}/{{model}}.log",
    retries: attempts("probe") - 1
    conda:
        "../envs/workflow.yaml"
    threads: job_resources("probe", "threads")
    resources:
        gpu=job_resources("probe", "gpu"),
        mem_mb=job_resources("probe", "mem_mb"),
        runtime=job_resources("probe", "runtime"),
        attempt=this_attempt,
        attempts=attempts("probe"),
    params:
        model_id=lambda w: candidate(w.arch, w.model).model_id,
        revision=lambda w: model_revision(w.arch, w.model),
        # The folder loaded, the task, the tokenized cache, fetching or deleting the weights:
        # derived from the input, so not rerun triggers (probe_options says more).
        options=probe_options,
        # rank_by only orders the probes' results: changing it reprobes nothing. train_size null
        # (the whole split) is left out: the settings of probes made before it existed stay.
        settings=as_json(
            {
                **{
                    k: v
                    for k, v in config["probe"].items()
                    if k != "rank_by" and not (k == "train_size" and v is None)
                },
                "device": config["device"],
            }
        ),
        gpu_slot=GPU_SLOT,
    shell:
        "python -m model_recycling.guard --kind probe --attempt {resources.attempt} "
        "--attempts {resources.attempts} --log {log} -- "
        "{params.gpu_slot} python scripts/probe.py --model-id {params.model_id:q} "
        "--revision {params.revision:q} {params.options} "
        "--settings {params.settings:q} --threads {threads} --out {output} > {log} 2>&1"


checkpoint select:
    input:
        probes=lambda w: probe_files(w.arch),
        candidates=f"{ARCH}/candidates.tsv",
    output:
        selection=f"{ARCH}/selected.tsv",
    log:
        f"{LOGS}/select/{{arch}}.log",
    conda:
        "../envs/workflow.yaml"
    params:
        top_k=lambda w: plan.top_k(config, w.arch),
        rank_by=config["probe"]["rank_by"],
        calibration_k=lambda w: plan.calibration_k(config, w.arch),
        calibration_seed=config["calibration_seed"],
        # The script finds the probe files of the usable candidates itself: thousands of paths
        # overflow one shell command. Derived from the inputs (the probe list), so not a rerun trigger.
        probe_dir=lambda w, output: os.path.join(
            os.path.dirname(output.selection), "probe"
        ),
        filters=lambda w, input: as_json(arch_config(w.arch).get("candidates", {})),
        # Probes are checked as the tables check them (validation.py) before any is ranked.
        probe_meta=lambda w, input: os.path.join(
            plan.task_dir(config, config["probe"]["task"]), "meta.json"
        ),
    shell:
        "python scripts/select_top_k.py --probe-dir {params.probe_dir} "
        "--candidates {input.candidates} --filters {params.filters:q} --arch {wildcards.arch} "
        "--top-k {params.top_k} --probe-meta {params.probe_meta} "
        "--rank-by {params.rank_by} --calibration-k {params.calibration_k} "
        "--calibration-seed {params.calibration_seed} --out {output.selection} > {log} 2>&1"


# models/: for probing (and the base); selected/: a selected candidate's weights fetched again
# for finetuning when its first download was deleted after probing (model_recycling/fetching/disk.py).
rule download_model:
    output:
        directory(f"{RESULTS}/{{store}}/{{model}}/{{revision}}"),
    log:
        f"{LOGS}/download_model/{{store}}/{{model}}/{{revision}}.log",
    wildcard_constraints:
        store="models|selected",
    retries: attempts("download") - 1
    conda:
        "../envs/workflow.yaml"
    # No core: a download waits on the network or the disk budget, never on a probe's core.
    threads: 0
    resources:
        downloads=1,
        attempt=this_attempt,
        attempts=attempts("download"),
    params:
        model_id=lambda w: model_id_from_safe_name(w.model),
        endpoint=lambda w: download_source(w.model).get("endpoint", ""),
        # The configured base is trusted with pickle weights (loaded with weights_only=True).
        pickle=lambda w: (
            "--allow-pickle" if download_source(w.model).get("allow_pickle") else ""
        ),
        # Only candidates' downloads for probing count against downloads.disk_budget_gb. Not a
        # rerun trigger (it takes the output): changing the budget redoes nothing.
        budget=lambda w, output: plan.download_budget_options(config, w.store, w.model),
    shell:
        # The last failed try leaves FAILED.json in the folder; the probe reports it.
        "python -m model_recycling.guard --kind download --attempt {resources.attempt} "
        "--attempts {resources.attempts} --log {log} -- "
        "python scripts/download_model.py --model-id {params.model_id:q} "
        "--revision {wildcards.revision} --endpoint {params.endpoint:q} {params.pickle} {params.budget} "
        "--out {output} > {log} 2>&1"
