# Model recycling: which model should I start finetuning from?
# Stages per architecture: list candidates -> probe -> select top-k -> finetune cells ->
# aggregate -> render pages. See README.md.

from snakemake.utils import min_version

min_version("9.0")


# The image built from Dockerfile (same lock as `make run`), used with --sdm apptainer.
containerized: "docker://ghcr.io/model-recycling/model-recycling:0.1.0"


# config.yaml is the default; a --configfile replaces it instead of being merged into it.
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/hooks.smk"
include: "rules/demo_zoo.smk"
include: "rules/tasks.smk"
include: "rules/listing.smk"
include: "rules/probing.smk"
include: "rules/finetuning.smk"
include: "rules/rounds.smk"
include: "rules/tables.smk"
include: "rules/pages.smk"


onstart:
    on_start()


onsuccess:
    on_end(success=True)


onerror:
    on_end(success=False)


rule all:
    default_target: True
    input:
        f"{RESULTS}/site",
        f"{RESULTS}/site_html",
        f"{RESULTS}/model_cards",
        # Every probe result and cell is a target too: Snakemake 9 does not notice a deleted
        # file that only a rule behind a checkpoint asks for (tests/workflow/test_workflow.py checks).
        lambda w: all_baseline_cells(),
        lambda w: all_candidate_results(),


# Last: every rule is defined (rules/common.smk says why).
remember_signatures(workflow.rules)
