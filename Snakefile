# Model recycling: which model should I start finetuning from?
# Stages per architecture: list candidates -> probe -> select top-k -> finetune cells ->
# aggregate -> render pages. See README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/demo_zoo.smk"
include: "rules/tasks.smk"
include: "rules/candidates.smk"
include: "rules/finetune.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        "results/site",
