# Tables: an architecture's cells, probes and rounds -> its tables (rankings, baseline, gains,
# every candidate's outcome), read by the pages.


include: "functions/tables.smk"


localrules:
    aggregate,


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
        ranking=table_report("ranking"),
        baseline=table_report("baseline"),
        gains=table_report("gains"),
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
        base_revision=base_revision_param,
        base_dir=base_dir_param,
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
