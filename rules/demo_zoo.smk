# The demo zoo: synthetic tasks, a tiny base model and intermediate models finetuned from it,
# built by the workflow itself (offline, deterministic). Enabled by demo_zoo.enabled.


include: "functions/demo_zoo.smk"


if ZOO.get("enabled"):

    # The demo zoo is small: built on the submitting host, never queued on a cluster.
    localrules:
        demo_tasks,
        demo_base,
        demo_intermediate,

    rule demo_tasks:
        output:
            lexicon=f"{ZOO_DIR}/tasks/lexicon.json",
            files=expand(
                f"{ZOO_DIR}/tasks/{{name}}/{{split}}.jsonl",
                name=ZOO["tasks"],
                split=["train", "test"],
            ),
        log:
            f"{LOGS}/demo_tasks.log",
        conda:
            "../envs/workflow.yaml"
        params:
            settings=zoo_settings("tasks", "seed"),
            out_dir=lambda w, output: os.path.dirname(output.lexicon),
        shell:
            "python scripts/build_demo_zoo.py tasks --settings {params.settings:q} "
            "--out {params.out_dir} > {log} 2>&1"

    rule demo_base:
        input:
            lexicon=rules.demo_tasks.output.lexicon,
        output:
            directory(f"{ZOO_DIR}/models/{{base}}"),
        log:
            f"{LOGS}/demo_base/{{base}}.log",
        wildcard_constraints:
            base="|".join(ZOO["bases"]),
        conda:
            "../envs/workflow.yaml"
        params:
            settings=lambda w: zoo_settings(
                "pretrain_steps", "seed", base_model=ZOO["bases"][w.base]
            ),
        shell:
            "python scripts/build_demo_zoo.py base --settings {params.settings:q} "
            "--lexicon {input.lexicon} --out {output} > {log} 2>&1"

    rule demo_intermediate:
        input:
            base=lambda w: f"{ZOO_DIR}/models/{ZOO['intermediates'][w.name]['base']}",
            task=lambda w: task_inputs(ZOO["intermediates"][w.name]["task"]),
        output:
            directory(f"{ZOO_DIR}/models/{{name}}"),
        log:
            f"{LOGS}/demo_intermediate/{{name}}.log",
        wildcard_constraints:
            name="|".join(ZOO["intermediates"]),
        conda:
            "../envs/workflow.yaml"
        params:
            settings=zoo_settings("finetune", "seed"),
            task_dir=lambda w, input: os.path.dirname(input.task[0]),
        shell:
            "python scripts/build_demo_zoo.py intermediate --settings {params.settings:q} "
            "--base {input.base} --task-dir {params.task_dir} --out {output} > {log} 2>&1"


if ZOO.get("enabled") and DECOYS:

    localrules:
        demo_decoys,

    rule demo_decoys:
        input:
            base=f"{ZOO_DIR}/models/{ZOO['decoys_of']}",
        output:
            [directory(f"{ZOO_DIR}/models/{name}") for name in DECOYS],
        log:
            f"{LOGS}/demo_decoys.log",
        conda:
            "../envs/workflow.yaml"
        params:
            settings=zoo_settings("seed"),
            out_dir=lambda w, output: os.path.dirname(output[0]),
        shell:
            "python scripts/build_demo_zoo.py decoys --settings {params.settings:q} "
            "--base {input.base} --out {params.out_dir} > {log} 2>&1"
