import dataclasses
import functools
import inspect
import json
import os
import shlex
import sys

from snakemake.common import FUNC_OVERWRITE_PARAMS_ATTR, overwrite_function_params
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

validate(config, "../schemas/config.schema.yaml")

# The workflow's package imports from this checkout, here and in every job, whatever the job's
# environment (venv, conda, container, SLURM node).
sys.path.insert(0, workflow.basedir)
shell.prefix(f"export PYTHONPATH={workflow.basedir!r}:$PYTHONPATH; ")

from model_recycling.disk import FETCH_ROOT, weights_deleted
from model_recycling.disk_budget import LEDGER
from model_recycling.naming import SAFE_NAME_PATTERN, model_id_from_safe_name, safe_name
from model_recycling.selection import finetuned, read_selection
from model_recycling.sources import read_candidates, usable_candidates
from model_recycling.tasks import load_registry

REGISTRY = load_registry(config["task_registries"])
for _key, _names in (
    ("probe.task", [config["probe"]["task"]]),
    ("targets", config["targets"]),
):
    for _name in _names:
        if _name not in REGISTRY:
            raise ValueError(
                f"config {_key}: task '{_name}' is not in the task registries "
                f"{config['task_registries']}"
            )

ARCH = "results/architectures/{arch}"
ZOO = config.get("demo_zoo", {})
ZOO_DIR = "results/demo_zoo"
DECOYS = (
    ["decoy-wider", "decoy-no-weights", "decoy-no-tokenizer"]
    if ZOO.get("decoys_of")
    else []
)
TASK_FILES = ["train.jsonl", "dev.jsonl", "eval.jsonl", "meta.json"]
DOWNLOADS = config["downloads"]
# Host download jobs take no core (they wait on the network or the disk budget); this many run
# at once unless --resources downloads=N says otherwise.
if "downloads" not in workflow.global_resources:
    workflow.register_resource("downloads", DOWNLOADS["parallel"])
# Local GPU jobs claim a free device (Snakemake's gpu resource only counts them).
GPU_SLOT = "python -m model_recycling.gpu_slots --"


wildcard_constraints:
    arch="|".join(config["architectures"]),
    model=SAFE_NAME_PATTERN,
    task=r"[A-Za-z0-9_.\-]+",
    seed=r"\d+",
    revision=r"[A-Za-z0-9._\-]+",


def as_json(obj):
    return json.dumps(obj, sort_keys=True)


def job_resources(kind, key, default):
    return config.get("resources", {}).get(kind, {}).get(key, default)


def attempts(kind):
    """Tries per candidate job (the rule's retries + 1): when the last one dies (out
    of memory, a signal, a time limit), model_recycling.guard records the failure."""
    return job_resources(kind, "attempts", 2)


def this_attempt(wildcards, attempt):
    """Snakemake passes the attempt number (from 1) only to resources callables."""
    return attempt


TOKENIZED_CACHE = config.get("tokenized_cache", True)


def tokenized_cache(wildcards, input):
    """A probe's or cell's --tokenized-cache (config tokenized_cache, default true). It never
    changes a score, so it is a derived param (it takes `input`): switching it reruns nothing.
    """
    return "--tokenized-cache results/tokenized" if TOKENIZED_CACHE else ""


def task_inputs(task):
    return [f"results/tasks/{task}/{name}" for name in TASK_FILES]


def arch_config(arch):
    return config["architectures"][arch]


def base_id(arch):
    return arch_config(arch)["base_model"]["id"]


def top_k(arch):
    return arch_config(arch).get("top_k", config["top_k"])


def calibration_k(arch):
    return arch_config(arch).get("calibration_k", config.get("calibration_k", 0))


def listing_file(arch):
    """Where the listing checkpoint writes the architecture's candidates.tsv."""
    return f"{ARCH}/candidates.tsv".format(arch=arch)


def listing_path(arch):
    """The architecture's candidates.tsv, once its listing checkpoint is done (asked once:
    input functions ask for every job, and a checkpoint done stays done in this process).
    """
    if arch not in _LISTED:
        _LISTED[arch] = checkpoints.list_candidates.get(arch=arch).output.candidates
    return _LISTED[arch]


_LISTED = {}


def listed_candidates(arch):
    """Candidates kept at listing, after the config's candidates.only / exclude filters, by
    folder name."""
    path = listing_path(arch)
    # Read each version of the listing once.
    return _usable_candidates(arch, path, os.stat(path).st_mtime_ns)


@functools.cache
def _usable_candidates(arch, path, mtime_ns):
    filters = arch_config(arch).get("candidates", {})
    kept = usable_candidates(_listing(path, mtime_ns), filters, arch, path)
    return {safe_name(m): c for m, c in kept.items()}


@functools.cache
def _listing(path, mtime_ns):
    return read_candidates(path)


def candidate(arch, model):
    try:
        return listed_candidates(arch)[model]
    except KeyError:
        raise ValueError(f"{arch}: no usable candidate stored as '{model}'") from None


@functools.cache
def base_name(arch):
    return safe_name(base_id(arch))


def is_base(arch, model):
    return model == base_name(arch)


def base_row(arch):
    """The base model's row in candidates.tsv (the Hub listing pins its revision there). Read
    without asking the listing checkpoint once the listing exists: asking it makes Snakemake
    build each of the 4,320 baseline cells twice. Should the listing be redone later in the same
    run and move the base, its baseline cells stop before training (base_listing_option) and the
    next run plans them at the new revision."""
    path = listing_file(arch)
    if not os.path.exists(path):
        path = listing_path(arch)
    row = _rows_by_id(path, os.stat(path).st_mtime_ns).get(base_id(arch))
    if row is None:
        raise ValueError(f"{arch}: base model {base_id(arch)} has no row in {path}")
    return row


@functools.cache
def _rows_by_id(path, mtime_ns):
    return {row.model_id: row for row in _listing(path, mtime_ns)}


def model_revision(arch, model):
    if is_base(arch, model):
        base = arch_config(arch)["base_model"]
        if base.get("path"):
            return base.get("revision", "auto")  # auto: the folder's content hash
        # The listing resolved the configured revision (a branch, tag or sha) to its commit.
        return base_row(arch).revision
    return candidate(arch, model).revision


def base_listing_option(arch, model):
    """A baseline cell of a Hub base checks that the listing still pins the revision it was
    planned at (scripts/finetune.py --listing)."""
    if not is_base(arch, model) or arch_config(arch)["base_model"].get("path"):
        return ""
    return f"--listing {listing_file(arch)}"


def model_dir(arch, model):
    """The folder holding a model's weights: a local folder, or the pinned Hub download."""
    if is_base(arch, model) and arch_config(arch)["base_model"].get("path"):
        return arch_config(arch)["base_model"]["path"]
    if not is_base(arch, model) and candidate(arch, model).path:
        return candidate(arch, model).path
    return f"results/models/{model}/{model_revision(arch, model)}"


def keeps_weights(arch, model):
    """Whether a probed model keeps its weights: the base, a local folder (never deleted), or
    every download with downloads.keep_unselected."""
    if is_base(arch, model) or DOWNLOADS["keep_unselected"]:
        return True
    return bool(candidate(arch, model).path)


def fetches_in_probe(arch, model):
    """downloads.fetch: probe: the probe downloads its candidate itself into a scratch folder and
    deletes it once scored, so the plan holds no download job per candidate. A folder a host
    download made (fetch: host, or a run from before) stays the probe's input: its finished
    probe is not planned again."""
    if DOWNLOADS["fetch"] != "probe" or keeps_weights(arch, model):
        return False
    return not os.path.exists(model_dir(arch, model))


def probe_model_input(arch, model):
    return [] if fetches_in_probe(arch, model) else model_dir(arch, model)


def probe_model_dir(arch, model, input):
    """The folder the probe loads: its input, or the scratch folder it fetches into."""
    if input.model:
        return input.model
    return f"{FETCH_ROOT}/{model}/{model_revision(arch, model)}"


def disk_budget_options():
    budget = DOWNLOADS["disk_budget_gb"]
    return f"--disk-budget-gb {budget} --disk-ledger {LEDGER}" if budget else ""


def download_budget_options(store, model):
    """A host download for probing counts against the disk budget; the base's and the selected
    candidates' (kept for their cells) do not."""
    if store != "models" or any(
        is_base(arch, model) for arch in config["architectures"]
    ):
        return ""
    return disk_budget_options()


def weight_options(arch, model, input):
    """The probe's options to fetch the weights (fetch: probe) or to delete them once probed,
    with what fetching them (again, for a probe that must run again) needs."""
    if keeps_weights(arch, model):
        return ""
    source = arch_config(arch)["source"]
    options = ["--delete-weights" if input.model else "--fetch"]
    options += ["--endpoint", source.get("endpoint", "")]
    options += ["--allow-pickle"] if source.get("allow_pickle") else []
    return f"{shlex.join(options)} {disk_budget_options()}".strip()


def probe_options(wildcards, input):
    """The probe's options derived from its input, so none is a rerun trigger (probes made
    before one of them existed stay done): the folder it loads, its task, the tokenized cache,
    and fetching or deleting the weights. One params function rather than four: Snakemake calls
    each for every job in the plan, 12,000 probes at 2,000 candidates per architecture.
    """
    arch, model = wildcards.arch, wildcards.model
    options = [
        f"--model-dir {shlex.quote(probe_model_dir(arch, model, input))}",
        f"--task-dir {os.path.dirname(input.task[0])}",
        tokenized_cache(wildcards, input),
        weight_options(arch, model, input),
    ]
    return " ".join(option for option in options if option)


def cell_options(wildcards, input):
    """A cell's options derived from its input, as probe_options: its task, the tokenized
    cache, and for a baseline cell the listing that pins its base."""
    options = [
        f"--task-dir {os.path.dirname(input.task[0])}",
        tokenized_cache(wildcards, input),
        base_listing_option(wildcards.arch, wildcards.model),
    ]
    return " ".join(option for option in options if option)


def finetune_model_dir(arch, model):
    """A selected candidate whose weights were deleted after probing, or fetched by its probe, is
    downloaded again (a folder that still has them, as in runs made before the deletion, is used
    as it is)."""
    folder = model_dir(arch, model)
    if keeps_weights(arch, model) or (
        os.path.exists(folder) and not weights_deleted(folder)
    ):
        return folder
    return f"results/selected/{model}/{model_revision(arch, model)}"


def download_source(model):
    """The source settings of the architecture that lists `model` (its base, or a candidate
    of a finished listing): downloads use its endpoint, as listing did."""
    for arch in config["architectures"]:
        if is_base(arch, model):
            return {**arch_config(arch)["source"], "allow_pickle": True}
    for arch in config["architectures"]:
        listing = listing_file(arch)
        if os.path.exists(listing) and model in listed_candidates(arch):
            return arch_config(arch)["source"]
    return {}


def selected_models(arch):
    """The top-k and the calibration sample: every model the select checkpoint finetunes."""
    path = checkpoints.select.get(arch=arch).output.selection
    return [row["safe_name"] for row in read_selection(path) if finetuned(row)]


def probe_files(arch):
    return expand(
        f"{ARCH}/probe/{{model}}.json",
        arch=arch,
        model=list(listed_candidates(arch)),
    )


def baseline_cells(arch):
    """Known before any probing: the baseline starts while candidates are still probed."""
    return expand(
        f"{ARCH}/cells/{{model}}/{{task}}/seed{{seed}}.json",
        arch=arch,
        model=safe_name(base_id(arch)),
        task=config["targets"],
        seed=config["baseline_seeds"],
    )


def candidate_cells(arch):
    """Known once the top-k and the calibration sample are drawn (a checkpoint)."""
    return expand(
        f"{ARCH}/cells/{{model}}/{{task}}/seed{{seed}}.json",
        arch=arch,
        model=selected_models(arch),
        task=config["targets"],
        seed=config["seeds"],
    )


def all_baseline_cells():
    return [f for arch in config["architectures"] for f in baseline_cells(arch)]


def all_candidate_results():
    return [
        f
        for arch in config["architectures"]
        for f in probe_files(arch) + candidate_cells(arch)
    ]


def zoo_settings(*keys, **extra):
    return as_json({**{key: ZOO[key] for key in keys}, **extra})


def zoo_models():
    """Every model folder the demo zoo builds (inputs of listing a source inside the zoo)."""
    if not ZOO.get("enabled"):
        return []
    names = [*ZOO["bases"], *ZOO["intermediates"], *DECOYS]
    return expand(f"{ZOO_DIR}/models/{{name}}", name=names)


def listing_inputs(arch):
    """A source inside the demo zoo is listed once the zoo is built."""
    in_zoo = arch_config(arch)["source"].get("path", "").startswith(ZOO_DIR)
    return zoo_models() if in_zoo else []


def check_slurm_settings():
    """Stop before submitting anything when the SLURM profile lacks a setting, naming it."""
    plugin = workflow.executor_plugin
    if plugin is None or plugin.name != "slurm":
        return
    partition = workflow.resource_settings.default_resources.get("slurm_partition")
    if not str(getattr(partition, "raw", "") or "").strip("'\" "):
        raise WorkflowError(
            "SLURM: default-resources slurm_partition is not set. Set it in "
            "profiles/slurm/config.yaml or pass --default-resources slurm_partition=NAME."
        )


def remember_signatures(rules):
    """Snakemake inspects an input, params or resources function's signature each time it calls
    it (inspect.signature: half a million times to plan 2,000 candidates per architecture, a
    sixth of the time). Record each function's parameters once, as Snakemake's own wrappers do
    (snakemake.common.overwrite_function_params)."""
    for each in rules:
        items = [*each.input, *each.params, *each.resources.values(), *each.log]
        for item in items:
            func = getattr(getattr(item, "_file", item), "callable", None) or item
            if inspect.isfunction(func) and not hasattr(
                func, FUNC_OVERWRITE_PARAMS_ATTR
            ):
                overwrite_function_params(func, inspect.signature(func).parameters)
