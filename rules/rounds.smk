# The adaptive rules' rounds (opt-in: `baseline_seeds` as a rule, a `racing` section). After each
# round a small host job reads the cells so far and writes what the rule decides next; being
# checkpoints, Snakemake then plans the next round's cells (the functions below read the chain).


include: "functions/rounds.smk"


localrules:
    baseline_round,
    baseline_seeds,
    race_round,


checkpoint baseline_round:
    input:
        cells=lambda w: plan.cells(
            config,
            w.arch,
            [BASE_NAMES[w.arch]],
            [w.task],
            baseline_round_seeds(w.arch, w.task, int(w.round)),
        ),
        meta=f"{TASKS}/meta.json",
    output:
        f"{ARCH}/rounds/baseline/{{task}}/round{{round}}.json",
    log:
        f"{LOGS}/baseline_round/{{arch}}/{{task}}/round{{round}}.log",
    conda:
        "../envs/workflow.yaml"
    params:
        rule=baseline_round_rule,
        base_id=lambda w: base_id(w.arch),
        base_revision=base_revision_param,
        base_dir=base_dir_param,
    shell:
        "python scripts/baseline_round.py --task-meta {input.meta} --cells {input.cells} "
        "--rule {params.rule:q} --base-id {params.base_id:q} "
        "--base-revision {params.base_revision:q} --base-dir {params.base_dir:q} "
        "--round {wildcards.round} --out {output} > {log} 2>&1"


# One per task, so that every task's rounds are planned at once (a function that waits on a
# checkpoint waits on one at a time): the task's last round, once no more seeds are asked.
rule baseline_seeds:
    input:
        last=lambda w: baseline_rounds(w.arch, w.task)[1][-1],
    output:
        f"{ARCH}/rounds/baseline/{{task}}/seeds.json",
    log:
        f"{LOGS}/baseline_seeds/{{arch}}/{{task}}.log",
    shell:
        "cp {input.last} {output} 2> {log}"


checkpoint race_round:
    input:
        cells=race_round_cells,
        baseline=lambda w: (
            baseline_cells(w.arch)
            if not plan.adaptive_seeds(config)
            else seeds_files(w.arch, race_round_tasks(int(w.round)))
        ),
        previous=lambda w: (
            [plan.race_round_file(config, w.arch, int(w.round) - 1)]
            if int(w.round)
            else []
        ),
        candidates=f"{ARCH}/candidates.tsv",
        selection=f"{ARCH}/selected.tsv",
        metas=expand(f"{RESULTS}/tasks/{{task}}/meta.json", task=config["targets"]),
    output:
        f"{ARCH}/rounds/racing/round{{round}}.json",
    log:
        f"{LOGS}/race_round/{{arch}}/round{{round}}.log",
    conda:
        "../envs/workflow.yaml"
    params:
        settings=as_json(
            {
                k: RECORDED[k]
                for k in ("targets", "seeds", "baseline_seeds", "racing")
                if k in RECORDED  # the rule is defined whether racing is on or not
            }
        ),
        base_id=lambda w: base_id(w.arch),
        base_revision=base_revision_param,
        base_dir=base_dir_param,
        arch_dir=lambda w, input: os.path.dirname(input.candidates),
        rounds=lambda w, input: (
            shlex.join(["--baseline-rounds", *input.baseline])
            if plan.adaptive_seeds(config)
            else ""
        ),
    shell:
        "python scripts/race_round.py --arch-dir {params.arch_dir} "
        "--base-id {params.base_id:q} --base-revision {params.base_revision:q} "
        "--base-dir {params.base_dir:q} --settings {params.settings:q} {params.rounds} "
        "--task-metas {input.metas} --candidates {input.candidates} "
        "--selection {input.selection} --round {wildcards.round} --out {output} > {log} 2>&1"
