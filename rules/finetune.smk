# Finetuning: one job and one JSON file per (architecture, model, task, seed) cell.


rule finetune:
    input:
        model=lambda w: finetune_model_dir(w.arch, w.model),
        task=[f"results/tasks/{{task}}/{name}" for name in TASK_FILES],
    output:
        f"{ARCH}/cells/{{model}}/{{task}}/seed{{seed}}.json",
    log:
        "results/logs/finetune/{arch}/{model}/{task}/seed{seed}.log",
    retries: attempts("finetune") - 1
    conda:
        "../envs/workflow.yaml"
    threads: job_resources("finetune", "threads", 1)
    resources:
        gpu=job_resources("finetune", "gpu", 1),
        mem_mb=job_resources("finetune", "mem_mb", 16000),
        runtime=job_resources("finetune", "runtime", 240),
        attempt=this_attempt,
        attempts=attempts("finetune"),
    params:
        # --model-id, --revision and --role (one input function: each is evaluated for every
        # cell the plan holds, done or not)
        model=lambda w: model_options(w.arch, w.model, with_role=True),
        settings=as_json({**config["finetune"], "device": config["device"]}),
        task_dir=lambda w, input: os.path.dirname(input.task[0]),
        gpu_slot=GPU_SLOT,
    shell:
        # A candidate's cell that dies records its failure (model_recycling/guard.py); a
        # baseline cell that dies stops the run.
        "python -m model_recycling.guard --kind cell --attempt {resources.attempt} "
        "--attempts {resources.attempts} --log {log} -- "
        "{params.gpu_slot} python scripts/finetune.py --arch {wildcards.arch} "
        "{params.model} --model-dir {input.model:q} --task-dir {params.task_dir} "
        "--settings {params.settings:q} --seed {wildcards.seed} --threads {threads} "
        "--out {output} > {log} 2>&1"
