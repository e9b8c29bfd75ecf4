import copy
import dataclasses
import functools
import gc
import inspect
import json
import os
import shlex
import sys

from snakemake.common import FUNC_OVERWRITE_PARAMS_ATTR, overwrite_function_params
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

# Planning thousands of candidates per architecture makes tens of thousands of jobs and millions
# of long-lived objects, which Python's cyclic garbage collector walks again and again at its
# default thresholds (BENCHMARKS.md). Collecting less often leaves the peak memory as it was.
gc.set_threshold(100_000, 50, 50)

# A duplicate key or malformed YAML stops here naming file and line (Snakemake's own loader keeps
# the last of two equal keys).
sys.path.insert(0, workflow.basedir)
from model_recycling.config_file import (
    ConfigFileError,
    check_config_files,
    schema_problem,
)

try:
    check_config_files(workflow.config_settings.configfiles or ["config.yaml"])
except ConfigFileError as err:
    raise WorkflowError(str(err)) from None
# A config off the schema: one line naming the key, before validate()'s longer messages.
if schema_problem(config):
    raise WorkflowError(schema_problem(config))

# Before validate() fills in the schema's defaults: what the config writes (settings.as_recorded).
CONFIG_AS_WRITTEN = copy.deepcopy(config)
validate(config, "../schemas/config.schema.yaml")

# The workflow's package imports from this checkout, here and in every job, whatever the job's
# environment (venv, conda, container, SLURM node): sys.path above, PYTHONPATH in jobs below.

from model_recycling.fetching.disk import weights_deleted
from model_recycling.io import read_json
from model_recycling.listing.candidates import read_candidates, usable_candidates
from model_recycling.listing.folders import local_source_files
from model_recycling.naming import SAFE_NAME_PATTERN, model_id_from_safe_name, safe_name
from model_recycling.probing.selection import finetuned, read_selection
from model_recycling.planning import plan
from model_recycling.runtime.resume import interpreter_first_on_path
from model_recycling.runtime.summary import (
    disk_full,
    drop_previous_pages,
    error_line,
    read_only,
    recorded_failures,
    set_aside_pages,
    short_selections,
    unreadable_text,
)
from model_recycling.settings import as_recorded
from model_recycling.tasks.registry import load_registry

# Where this config's run writes (results/<config name> unless results_dir says).
RESULTS = config["results_dir"] = plan.resolve_results_dir(
    config, workflow.config_settings.configfiles
)
if read_only(RESULTS):
    raise WorkflowError(read_only(RESULTS))
# What jobs are told (their params): the config, less where its results go and the defaults it
# leaves to the schema that were added after results were recorded (settings.as_recorded).
RECORDED = as_recorded(config, CONFIG_AS_WRITTEN)
try:
    REGISTRY = load_registry(config["task_registries"])
except ValueError as err:  # a registry's mistake, in one line naming file and line
    raise WorkflowError(str(err)) from None
for _key, _names in (
    ("probe.task", [config["probe"]["task"]]),
    ("targets", config["targets"]),
):
    for _name in _names:
        if _name not in REGISTRY:
            raise WorkflowError(
                f"config {_key}: task '{_name}' is not in the task registries "
                f"{config['task_registries']}"
            )
if REGISTRY[config["probe"]["task"]].is_regression:
    raise WorkflowError(
        f"config probe.task: '{config['probe']['task']}' is a regression task; the linear "
        "probe is a classifier and needs a classification task (one with labels)"
    )

# Jobs import the workflow's package from this checkout; a config that needs no network (the
# demo) runs offline, so that nothing in it can reach the Hub.
OFFLINE = (
    ""
    if plan.needs_network(config, REGISTRY)
    else "export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1; "
)
shell.prefix(f"export PYTHONPATH={workflow.basedir!r}:$PYTHONPATH; {OFFLINE}")
# `.venv/bin/snakemake` without activating the venv: its jobs run in the venv too.
interpreter_first_on_path()
ARCH = f"{RESULTS}/architectures/{{arch}}"
TASKS = f"{RESULTS}/tasks/{{task}}"
LOGS = f"{RESULTS}/logs"
ZOO = config.get("demo_zoo", {})  # no section: no demo zoo
ZOO_DIR = plan.ZOO_DIR
DECOYS = (
    ["decoy-wider", "decoy-no-weights", "decoy-no-tokenizer"]
    if ZOO.get("decoys_of")
    else []
)
TASK_FILES = ["train.jsonl", "dev.jsonl", "eval.jsonl", "meta.json"]
# Host download jobs take no core (they wait on the network or the disk budget); this many run
# at once unless --resources downloads=N says otherwise.
if "downloads" not in workflow.global_resources:
    workflow.register_resource("downloads", config["downloads"]["parallel"])
# Local GPU jobs claim a free device (Snakemake's gpu resource only counts them).
GPU_SLOT = "python -m model_recycling.gpu_slots --"


wildcard_constraints:
    arch="|".join(config["architectures"]),
    model=SAFE_NAME_PATTERN,
    task=r"[A-Za-z0-9_.\-]+",
    seed=r"\d+",
    round=r"\d+",
    revision=r"[A-Za-z0-9._\-]+",


def as_json(obj):
    return json.dumps(obj, sort_keys=True)


def job_resources(kind, key):
    return config["resources"][kind][key]


def attempts(kind):
    """Tries per candidate job (the rule's retries + 1): when the last one dies (out
    of memory, a signal, a time limit), model_recycling.guard records the failure."""
    return job_resources(kind, "attempts")


def this_attempt(wildcards, attempt):
    """Snakemake passes the attempt number (from 1) only to resources callables."""
    return attempt


def tokenized_cache(wildcards, input):
    """A probe's or cell's --tokenized-cache. It never changes a score, so it is a derived
    param (it takes `input`): switching it reruns nothing."""
    return (
        f"--tokenized-cache {plan.TOKENIZED_CACHE}" if config["tokenized_cache"] else ""
    )


def task_inputs(task):
    return [f"{plan.task_dir(config, task)}/{name}" for name in TASK_FILES]


def arch_config(arch):
    return config["architectures"][arch]


def base_id(arch):
    return plan.base_id(config, arch)


# plan.base_name, derived once per architecture: input functions ask for every job.
BASE_NAMES = {arch: plan.base_name(config, arch) for arch in config["architectures"]}


def is_base(arch, model):
    return model == BASE_NAMES[arch]
