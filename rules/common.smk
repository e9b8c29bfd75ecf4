import copy
import dataclasses
import functools
import gc
import inspect
import itertools
import json
import os
import shlex
import sys

from snakemake.common import FUNC_OVERWRITE_PARAMS_ATTR, overwrite_function_params
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

# Planning 2,000 candidates per architecture makes about 16,000 jobs and millions of long-lived
# objects, which Python's cyclic garbage collector walked again and again at its default
# thresholds (5.5 s of a 39 s dry run). Collecting less often leaves the peak memory as it was.
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
from model_recycling.runtime import plan
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


def task_data_inputs(task):
    """A task's local data files, as inputs (a changed file prepares the task again). A missing
    file that no job builds is left out: the task's preparation then fails alone, naming it.
    """
    files = REGISTRY[task].local_data_files()
    built = ZOO.get("enabled") and ZOO_DIR
    return [f for f in files if os.path.exists(f) or (built and f.startswith(built))]


def check_paths():
    """Stop before anything runs when a configured folder does not exist, naming the key. A
    folder the demo zoo builds (when the config builds it) need not exist yet."""
    for arch, spec in config["architectures"].items():
        for key, path in (
            ("base_model.path", spec["base_model"].get("path")),
            ("source.path", spec["source"].get("path")),
        ):
            if not path or os.path.isdir(path) or path.rstrip("/") in zoo_folders():
                continue
            raise WorkflowError(
                f"config architectures.{arch}.{key}: {path} is not a folder "
                f"(from {os.getcwd()})"
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


def listing_file(arch):
    return plan.listing_file(config, arch)


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
    """The model's listing row; None for the base."""
    if is_base(arch, model):
        return None
    try:
        return listed_candidates(arch)[model]
    except KeyError:
        raise ValueError(f"{arch}: no usable candidate stored as '{model}'") from None


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
        listed = None if plan.local_base(config, arch) else base_row(arch).revision
        return plan.base_revision(config, arch, listed)
    return candidate(arch, model).revision


def model_id(arch, model):
    return base_id(arch) if is_base(arch, model) else candidate(arch, model).model_id


def base_listing_option(arch, model):
    """A baseline cell of a Hub base checks that the listing still pins the revision it was
    planned at (scripts/finetune.py --listing)."""
    if not is_base(arch, model) or plan.local_base(config, arch):
        return ""
    return f"--listing {listing_file(arch)}"


def model_dir(arch, model):
    """The folder holding a model's weights: a local folder, or the pinned Hub download."""
    revision = model_revision(arch, model)
    return plan.weights_folder(config, arch, model, revision, candidate(arch, model))


def probe_model_input(arch, model):
    """The probe's input folder; none when the probe fetches its candidate itself."""
    folder = model_dir(arch, model)
    row = candidate(arch, model)
    return [] if plan.fetches_in_probe(config, row, os.path.exists(folder)) else folder


def probe_options(wildcards, input):
    """The probe's options derived from its input, so none is a rerun trigger (probes made
    before one of them existed stay done): the folder it loads, its task, the tokenized cache,
    and fetching or deleting the weights. One params function rather than four: Snakemake calls
    each for every job in the plan, 12,000 probes at 2,000 candidates per architecture.
    """
    arch, model = wildcards.arch, wildcards.model
    folder = input.model or plan.scratch_folder(
        config, model, model_revision(arch, model)
    )
    options = [
        f"--model-dir {shlex.quote(folder)}",
        f"--task-dir {os.path.dirname(input.task[0])}",
        tokenized_cache(wildcards, input),
        plan.probe_weight_options(
            config, arch, candidate(arch, model), bool(input.model)
        ),
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
    """The folder a cell loads (plan.finetune_weights_folder)."""
    folder = model_dir(arch, model)
    usable = os.path.exists(folder) and not weights_deleted(folder)
    revision = model_revision(arch, model)
    return plan.finetune_weights_folder(
        config, folder, candidate(arch, model), revision, usable
    )


def download_source(model):
    """The source settings of the architecture that lists `model` (plan.download_source). A
    base's download reads no listing: asking a listing checkpoint from a params function that
    does not take its output as input is refused by Snakemake."""
    if any(is_base(arch, model) for arch in config["architectures"]):
        return plan.download_source(config, model, {})
    listed = {
        arch: listed_candidates(arch)
        for arch in config["architectures"]
        if os.path.exists(listing_file(arch))
    }
    return plan.download_source(config, model, listed)


def selected_models(arch):
    """The top-k and the calibration sample: every model the select checkpoint finetunes."""
    path = checkpoints.select.get(arch=arch).output.selection
    return [row["safe_name"] for row in read_selection(path) if finetuned(row)]


def probe_files(arch):
    return plan.probe_files(config, arch, listed_candidates(arch))


def baseline_cells(arch):
    """The baseline's cells: the configured seeds', or with adaptive seeds each task's final
    seeds file (rules/rounds.smk) and the cells of the rounds decided so far."""
    if not plan.adaptive_seeds(config):
        return plan.baseline_cells(config, arch)
    base, files = [plan.base_name(config, arch)], []
    for task in config["targets"]:
        files.append(plan.baseline_seeds_file(config, arch, task))
        files += plan.cells(
            config, arch, base, [task], decided_baseline_seeds(arch, task)
        )
    return files


def candidate_cells(arch):
    """Every finetuned candidate's cells; with racing, the calibration sample's on every task
    and the racing candidates' as far as the rounds so far asked."""
    if not plan.racing(config):
        return plan.candidate_cells(config, arch, selected_models(arch))
    return plan.candidate_cells(config, arch, calibration_only(arch)) + race(arch)[0]


# --- adaptive baseline seeds and racing: one checkpoint per round (rules/rounds.smk) ---------


def _walk_baseline_rounds(round_file):
    """(the seeds a task's baseline has been asked for, the round files read). Each round's
    decision names the seeds it wants; the last says no more. round_file(n): round n's file, or
    None where the walk stops before it."""
    seeds, files = plan.first_baseline_seeds(config), []
    for round_ in itertools.count():
        path = round_file(round_)
        if path is None:
            return seeds, files
        files.append(path)
        decision = read_json(path)
        if not decision["more"]:
            return seeds, files
        seeds = decision["seeds"]


def baseline_rounds(arch, task):
    """Every round of the task's baseline: waits on the next round (a checkpoint), so only the
    rule of one task's final seeds asks."""

    def round_file(n):
        return checkpoints.baseline_round.get(arch=arch, task=task, round=n).output[0]

    return _walk_baseline_rounds(round_file)


def baseline_round_rule(wildcards):
    """What a baseline round applies: the config's seeds rule, at the architecture's
    baseline_target_se where it sets one (others keep their rounds' params)."""
    target_se = plan.baseline_target_se(config, wildcards.arch)
    configured = RECORDED["baseline_seeds"]
    return as_json({**configured, "target_se": target_se} if target_se else configured)


def decided_baseline_seeds(arch, task):
    """The seeds of the rounds decided so far, from their files, never waiting: for the inputs
    that list every cell (a deleted cell is made again)."""

    def round_file(n):
        path = plan.baseline_round_file(config, arch, task, n)
        return path if os.path.exists(path) else None

    return _walk_baseline_rounds(round_file)[0]


def baseline_round_seeds(arch, task, round_):
    """The seeds a baseline round reads: the first round's, then what the last one asked."""
    if round_ == 0:
        return plan.first_baseline_seeds(config)
    previous = checkpoints.baseline_round.get(arch=arch, task=task, round=round_ - 1)
    return read_json(previous.output[0])["seeds"]


def seeds_files(arch, tasks):
    """With adaptive seeds, the tasks' final seeds files (else none)."""
    if not plan.adaptive_seeds(config):
        return []
    return [plan.baseline_seeds_file(config, arch, task) for task in tasks]


def calibration_only(arch):
    """The calibration sample: it runs every task (it measures the probe, so it never races)."""
    path = checkpoints.select.get(arch=arch).output.selection
    rows = read_selection(path)
    return [r["safe_name"] for r in rows if finetuned(r) and r["selected"] != "yes"]


def racers(arch):
    """The candidates the probe selected: they race."""
    path = checkpoints.select.get(arch=arch).output.selection
    return [r["safe_name"] for r in read_selection(path) if r["selected"] == "yes"]


def race_round_tasks(round_):
    """The tasks of the order a racing round decides on: those up to its checkpoint."""
    return plan.race_order(config)[: plan.race_points(config)[round_]]


def race_round_cells(wildcards):
    """A racing round reads its racers' cells up to its checkpoint (and, below, the baseline's
    seeds of those tasks)."""
    round_ = int(wildcards.round)
    if round_ == 0:
        racing = racers(wildcards.arch)
    else:
        previous = checkpoints.race_round.get(arch=wildcards.arch, round=round_ - 1)
        racing = read_json(previous.output[0])["racing"]
    tasks = race_round_tasks(round_)
    return plan.cells(config, wildcards.arch, racing, tasks, config["seeds"])


def race(arch):
    """(the racing cells asked for so far, the round files so far)."""
    order, points = plan.race_order(config), plan.race_points(config)
    racing, cells, files = racers(arch), {}, []
    for round_, point in enumerate(points):
        if not racing:
            break
        for f in plan.cells(config, arch, racing, order[:point], config["seeds"]):
            cells[f] = None
        files.append(checkpoints.race_round.get(arch=arch, round=round_).output[0])
        racing = read_json(files[-1])["racing"]
    return list(cells), files


def round_files(arch):
    """What the tables read besides the cells: each task's final baseline seeds and the last
    racing round (none without the rules)."""
    files = seeds_files(arch, config["targets"])
    return files + (race(arch)[1][-1:] if plan.racing(config) else [])


def round_options(wildcards, input):
    """The aggregate's --baseline-rounds and --racing, from its `rounds` input: derived, so not
    rerun triggers (a run without the rules gets none)."""
    seeds = [f for f in input.rounds if os.path.basename(f) == "seeds.json"]
    racing = [f for f in input.rounds if os.path.basename(f) != "seeds.json"]
    options = ["--baseline-rounds", *seeds] if seeds else []
    return shlex.join(options + (["--racing", *racing] if racing else []))


def all_baseline_cells():
    return [f for arch in config["architectures"] for f in baseline_cells(arch)]


def all_candidate_results():
    return [
        f
        for arch in config["architectures"]
        for f in probe_files(arch) + candidate_cells(arch)
    ]


def zoo_settings(*keys, **extra):
    zoo = RECORDED["demo_zoo"]
    return as_json({**{key: zoo[key] for key in keys}, **extra})


def zoo_models():
    """Every model folder the demo zoo builds (inputs of listing a source inside the zoo)."""
    if not ZOO.get("enabled"):
        return []
    names = [*ZOO["bases"], *ZOO["intermediates"], *DECOYS]
    return expand(f"{ZOO_DIR}/models/{{name}}", name=names)


def zoo_folders():
    """The demo zoo's models folder and each model folder it builds (none without a zoo)."""
    models = zoo_models()
    return [f"{ZOO_DIR}/models", *models] if models else []


def listing_inputs(arch):
    """What a local source's listing depends on: each model folder's defining files, so that
    adding, removing or changing a model lists the source again; in the demo zoo's folder, the
    folders the zoo builds (once built) beside any other model folder put there."""
    source = arch_config(arch)["source"]
    if source["type"] != "local":
        return []
    built = zoo_models() if source["path"].startswith(ZOO_DIR) else []
    if not os.path.isdir(source["path"]):
        return built
    added = [
        f for f in local_source_files(source["path"]) if os.path.dirname(f) not in built
    ]
    return built + added


check_paths()


def on_start():
    """Before any job runs: the SLURM profile's settings; pages of an earlier run set aside
    when new ones will be made (never shown as current)."""
    check_slurm_settings()
    if any(job.rule.name == "render" for job in workflow.dag.needrun_jobs()):
        for folder in set_aside_pages(RESULTS):
            logger.info(
                f"pages of an earlier run moved to {folder} until new ones are made"
            )


def on_end(success):
    """After the run: the failures it recorded and went on past, a full disk, and where the
    pages are (or why the earlier ones stayed set aside)."""
    for line in recorded_failures(RESULTS, BASE_NAMES, DECOYS):
        logger.warning(f"recorded: {line}")
    top_k = {arch: plan.top_k(config, arch) for arch in config["architectures"]}
    for line in short_selections(RESULTS, top_k) + unreadable_text(RESULTS, top_k):
        logger.warning(line)
    if not success:
        failed_job_lines()
        full = disk_full([RESULTS, ".snakemake"])
        if full:
            logger.error(full)
    if os.path.isdir(f"{RESULTS}/site_html"):
        drop_previous_pages(RESULTS)
        logger.info(f"pages: {RESULTS}/site_html/index.html (markdown: {RESULTS}/site)")
    elif os.path.isdir(f"{RESULTS}/site.previous"):
        logger.warning(
            f"no new pages: the pages in {RESULTS}/site.previous are from an earlier run"
        )


def failed_job_lines():
    """Each failed job's own error line, next to its log (Snakemake shows only the command)."""
    for job in getattr(workflow.scheduler, "failed", ()):
        for log in job.log:
            logger.error(
                f"{job.rule.name} failed: {error_line(log) or 'no error line'} ({log})"
            )


def warn_empty_sources():
    """A local source with no model folder besides the base compares nothing: said at once."""
    for arch, spec in config["architectures"].items():
        source = spec["source"]
        if source["type"] != "local" or source["path"].startswith(ZOO_DIR):
            continue
        base = os.path.realpath(spec["base_model"].get("path", ""))
        folders = [
            entry.path
            for entry in os.scandir(source["path"])
            if entry.is_dir() and not entry.name.startswith(".")
        ]
        if not [f for f in folders if os.path.realpath(f) != base]:
            logger.warning(
                f"config architectures.{arch}.source.path: {source['path']} holds no model "
                "folder besides the base: there is nothing to compare with it"
            )


warn_empty_sources()


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
