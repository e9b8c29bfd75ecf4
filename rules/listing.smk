# Listing: a source's candidates (Hub or local folders), each pinned to a revision
# (checkpoint: the probes are planned from its candidates.tsv).


include: "functions/listing.smk"


# Listing needs the network: it runs on the submitting host, not compute nodes.
localrules:
    list_candidates,


checkpoint list_candidates:
    input:
        lambda w: listing_inputs(w.arch),
        base=lambda w: arch_config(w.arch)["base_model"].get("path", []),
    output:
        candidates=f"{ARCH}/candidates.tsv",
    log:
        f"{LOGS}/list_candidates/{{arch}}.log",
    conda:
        "../envs/workflow.yaml"
    params:
        # Filters (candidates.only / exclude) apply after listing, so editing them relists nothing.
        arch=lambda w: as_json(
            {k: RECORDED["architectures"][w.arch][k] for k in ("base_model", "source")}
        ),
        cache=f"{ARCH}/listing_cache.json",
    shell:
        "python scripts/list_candidates.py --arch {params.arch:q} --cache {params.cache} "
        "--out {output.candidates} > {log} 2>&1"
