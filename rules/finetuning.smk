# Finetuning: one job and one JSON file per (architecture, model, task, seed) cell.


include: "functions/finetuning.smk"


rule finetune:
    input:
        model=lambda w: finetune_model_dir(w.arch, w.model),
        task=[f"{TASKS}/{name}" for name in TASK_FILES],
    output:
        f"{ARCH}/cells/{{model}}/{{task}}/seed{{seed}}.json",
    log:
        f"{LOGS}/finetune/{{arch}}/{{model}}/{{task}}/seed{{seed}}.log",
    retries: attempts("finetune") - 1
    conda:
        "../envs/workflow.yaml"
    threads: job_resources("finetune", "threads")
    resources:
        gpu=job_resources("finetune", "gpu"),
        mem_mb=job_resources("finetune", "mem_mb"),
        runtime=job_resources("finetune", "runtime"),
        attempt=this_attempt,
        attempts=attempts("finetune"),
    params:
        model_id=lambda w: model_id(w.arch, w.model),
        role=lambda w: "baseline" if is_base(w.arch, w.model) else "candidate",
        revision=lambda w: model_revision(w.arch, w.model),
        settings=as_json({**RECORDED["finetune"], "device": config["device"]}),
        # The task, the tokenized cache, the listing a baseline checks: derived from the input,
        # so not rerun triggers (cell_options says more).
        options=cell_options,
        gpu_slot=GPU_SLOT,
    shell:
        # A candidate's cell that dies records its failure (model_recycling/runtime/guard.py); a
        # baseline cell that dies stops the run.
        "python -m model_recycling.guard --kind cell --attempt {resources.attempt} "
        "--attempts {resources.attempts} --log {log} -- "
        "{params.gpu_slot} python scripts/finetune.py --arch {wildcards.arch} "
        "--model-id {params.model_id:q} --role {params.role} --model-dir {input.model:q} "
        "--revision {params.revision:q} {params.options} "
        "--settings {params.settings:q} --seed {wildcards.seed} --threads {threads} "
        "--out {output} > {log} 2>&1"
