# Tasks: any registry entry -> train/dev/eval example files + meta.json (fingerprint, sizes).
# Runs on the submitting host (it may download datasets).


include: "functions/tasks.smk"


localrules:
    prepare_task,


rule prepare_task:
    input:
        lambda w: task_data_inputs(w.task),
    output:
        [f"{TASKS}/{name}" for name in TASK_FILES],
    log:
        f"{LOGS}/prepare_task/{{task}}.log",
    conda:
        "../envs/workflow.yaml"
    params:
        spec=lambda w: as_json(dataclasses.asdict(REGISTRY[w.task])),
        registries=config["task_registries"],
        dev_holdout=as_json(config["dev_holdout"]),
        protocol=config["protocol"],
        out_dir=lambda w, output: os.path.dirname(output[0]),
    shell:
        "python scripts/prepare_task.py --registry {params.registries} --task {wildcards.task} "
        "--dev-holdout {params.dev_holdout:q} --protocol {params.protocol} "
        "--out-dir {params.out_dir} "
        "> {log} 2>&1"
