"""The planning policy: pure functions of the validated config and a listing that say which folder
holds a model's weights, who fetches them, what is deleted when, which models and seeds are
finetuned and what each job is told. The rules (rules/*.smk) and the cost estimate (cost.py)
both call them, so the estimate cannot drift from the plan.

Nothing here reads the disk: where a decision depends on what a run left behind (a folder a host
download made, weights deleted after probing), the caller says so in an argument.
"""

from __future__ import annotations

import itertools
import shlex
from pathlib import Path

import yaml

from model_recycling.listing.candidates import Candidate
from model_recycling.naming import safe_name
from model_recycling.rounds.racing import baseline_rule, checkpoints, racing_rule, task_order

# Shared by every config of a checkout: the demo zoo (the demo registry names its task files)
# and the tokenized cache (keyed by content).
ZOO_DIR = "results/demo_zoo"
TOKENIZED_CACHE = "results/tokenized"


def resolve_results_dir(config: dict, configfiles) -> str:
    """Where a config's run writes: its `results_dir`, else results/<config file name>, so that
    two configs never write over each other's results."""
    if config.get("results_dir"):
        return config["results_dir"]
    name = Path(configfiles[-1]).stem if configfiles else "config"
    return f"results/{name}"


def results_dir_of(config_file) -> str:
    """The results folder of a config file's run (outside Snakemake: archives, cost)."""
    config = yaml.safe_load(Path(config_file).read_text(encoding="utf-8")) or {}
    return resolve_results_dir(config, [config_file])


def needs_network(config: dict, registry: dict) -> bool:
    """Whether a run of the config reaches the network: a Hub source or base, or a task whose
    dataset is not in local files (registry: task name -> TaskSpec)."""
    hub = any(
        arch["source"]["type"] == "hub" or not arch["base_model"].get("path")
        for arch in config["architectures"].values()
    )
    tasks = [config["probe"]["task"], *config["targets"]]
    return hub or any(not registry[task].data_files for task in tasks)


def arch_dir(config: dict, arch: str) -> str:
    return f"{config['results_dir']}/architectures/{arch}"


def task_dir(config: dict, task: str) -> str:
    return f"{config['results_dir']}/tasks/{task}"


def ledger(config: dict) -> str:
    """The disk budget's ledger of reserved download bytes (fetching/budget.py)."""
    return f"{config['results_dir']}/downloads/ledger.json"


def arch_config(config: dict, arch: str) -> dict:
    return config["architectures"][arch]


def base_id(config: dict, arch: str) -> str:
    return arch_config(config, arch)["base_model"]["id"]


def base_name(config: dict, arch: str) -> str:
    """The base's folder name."""
    return safe_name(base_id(config, arch))


def is_base(config: dict, arch: str, model: str) -> bool:
    return model == base_name(config, arch)


def local_base(config: dict, arch: str) -> bool:
    """A base given as a local folder (else downloaded from the Hub at its listed revision)."""
    return bool(arch_config(config, arch)["base_model"].get("path"))


def top_k(config: dict, arch: str) -> int:
    return arch_config(config, arch).get("top_k", config["top_k"])


def calibration_k(config: dict, arch: str) -> int:
    return arch_config(config, arch).get("calibration_k", config["calibration_k"])


def listing_file(config: dict, arch: str) -> str:
    """Where the listing checkpoint writes the architecture's candidates.tsv."""
    return f"{arch_dir(config, arch)}/candidates.tsv"


# --- revisions and folders -------------------------------------------------------------------


def base_revision(config: dict, arch: str, listed_revision: str | None) -> str:
    """A local base: its configured revision, or "auto" (the folder's content hash, computed by
    the job). A Hub base: the commit its configured revision resolved to at listing
    (`listed_revision`, the base's row in candidates.tsv)."""
    base = arch_config(config, arch)["base_model"]
    if base.get("path"):
        return base.get("revision", "auto")
    return listed_revision


def weights_folder(config: dict, arch: str, model: str, revision: str, candidate=None) -> str:
    """The folder holding a model's weights: a local folder, or the pinned Hub download.
    candidate: the model's listing row (None for the base)."""
    if candidate is None and local_base(config, arch):
        return arch_config(config, arch)["base_model"]["path"]
    if candidate is not None and candidate.path:
        return candidate.path
    return f"{config['results_dir']}/models/{model}/{revision}"


def keeps_weights(config: dict, candidate: Candidate | None) -> bool:
    """Whether a probed model keeps its weights: the base (candidate None), a local folder (never
    deleted), or every download with downloads.keep_unselected."""
    if candidate is None or config["downloads"]["keep_unselected"]:
        return True
    return bool(candidate.path)


def fetches_in_probe(config: dict, candidate: Candidate | None, downloaded: bool) -> bool:
    """downloads.fetch: probe: the probe downloads its candidate itself into a scratch folder
    and deletes it once scored, so the plan holds no download job per candidate. A folder a host
    download made (`downloaded`: fetch: host, or a run from before) stays the probe's input: its
    finished probe is not planned again."""
    if config["downloads"]["fetch"] != "probe" or keeps_weights(config, candidate):
        return False
    return not downloaded


def scratch_folder(config: dict, model: str, revision: str) -> str:
    """Where a fetching probe downloads its candidate (below a folder named fetching/, the only
    kind fetching/disk.py deletes)."""
    return f"{config['results_dir']}/fetching/{model}/{revision}"


def finetune_weights_folder(
    config: dict, folder: str, candidate: Candidate | None, revision: str, usable: bool
) -> str:
    """The folder a cell loads. A selected candidate whose weights were deleted after probing,
    or fetched by its probe (`usable` False: the probe's folder is gone or holds no weights), is
    downloaded again into <results>/selected/; a folder that still has them is used as it is."""
    if keeps_weights(config, candidate) or usable:
        return folder
    return f"{config['results_dir']}/selected/{safe_name(candidate.model_id)}/{revision}"


# --- job options -----------------------------------------------------------------------------


def disk_budget_options(config: dict) -> str:
    budget = config["downloads"]["disk_budget_gb"]
    return f"--disk-budget-gb {budget} --disk-ledger {ledger(config)}" if budget else ""


def download_budget_options(config: dict, store: str, model: str) -> str:
    """A host download for probing counts against the disk budget; the base's and the selected
    candidates' (kept for their cells) do not."""
    if store != "models" or any(is_base(config, arch, model) for arch in config["architectures"]):
        return ""
    return disk_budget_options(config)


def probe_weight_options(config: dict, arch: str, candidate: Candidate, has_input: bool) -> str:
    """The probe's options to fetch the weights (no input folder: fetch: probe) or to delete
    them once probed, with what fetching them (again, for a probe that must run again) needs."""
    if keeps_weights(config, candidate):
        return ""
    source = arch_config(config, arch)["source"]
    options = ["--delete-weights" if has_input else "--fetch"]
    options += ["--endpoint", source.get("endpoint", "")]
    options += ["--allow-pickle"] if source["allow_pickle"] else []
    return f"{shlex.join(options)} {disk_budget_options(config)}".strip()


def download_source(config: dict, model: str, listed: dict) -> dict:
    """The source settings a download of `model` uses (its architecture's endpoint, as listing
    did): the base's (trusted with pickle weights), or those of the architecture whose listing
    holds it. listed: architecture -> the folder names of its usable candidates, for the
    architectures listed so far."""
    for arch in config["architectures"]:
        if is_base(config, arch, model):
            return {**arch_config(config, arch)["source"], "allow_pickle": True}
    for arch, names in listed.items():
        if model in names:
            return arch_config(config, arch)["source"]
    return {}


# --- what is finetuned -----------------------------------------------------------------------


def probe_files(config: dict, arch: str, models) -> list:
    folder = arch_dir(config, arch)
    return [f"{folder}/probe/{model}.json" for model in models]


def cells(config: dict, arch: str, models, tasks, seeds) -> list:
    folder = arch_dir(config, arch)
    return [
        f"{folder}/cells/{model}/{task}/seed{seed}.json"
        for model in models
        for task in tasks
        for seed in seeds
    ]


def baseline_cells(config: dict, arch: str) -> list:
    """Known before any probing: the baseline starts while candidates are still probed (with
    adaptive seeds, its first round)."""
    models = [base_name(config, arch)]
    return cells(config, arch, models, config["targets"], first_baseline_seeds(config))


# --- adaptive baseline seeds and racing (rounds/racing.py decides, rounds/jobs.py records) ---


def adaptive_seeds(config: dict, arch: str | None = None) -> dict | None:
    """The adaptive seeds rule when `baseline_seeds` is one, else None (a list of seeds); with
    `arch`, at that architecture's baseline_target_se where it sets one."""
    seeds = config["baseline_seeds"]
    if not isinstance(seeds, dict):
        return None
    target_se = baseline_target_se(config, arch) if arch else None
    return baseline_rule({**seeds, "target_se": target_se} if target_se else seeds)


def baseline_target_se(config: dict, arch: str) -> float | None:
    """The architecture's own target_se for the adaptive seeds rule, when it sets one."""
    return arch_config(config, arch).get("baseline_target_se")


def first_baseline_seeds(config: dict) -> list:
    """The seeds every task's baseline runs: the list, or the rule's first round."""
    rule = adaptive_seeds(config)
    return list(range(rule["min"])) if rule else list(config["baseline_seeds"])


def most_baseline_seeds(config: dict) -> int:
    """Seeds per task at most: the list's, or the adaptive rule's `max`."""
    rule = adaptive_seeds(config)
    return rule["max"] if rule else len(config["baseline_seeds"])


def racing(config: dict) -> dict | None:
    """The racing rule when the config has a `racing` section (opt-in), else None."""
    return racing_rule(config["racing"]) if "racing" in config else None


def race_order(config: dict) -> list:
    """The targets in the order every racing candidate runs them."""
    return task_order(config["targets"], racing(config)["seed"])


def race_points(config: dict) -> list:
    """After how many tasks of the order each racing round decides."""
    return checkpoints(len(config["targets"]), racing(config))


def baseline_round_file(config: dict, arch: str, task: str, round_: int) -> str:
    return f"{arch_dir(config, arch)}/rounds/baseline/{task}/round{round_}.json"


def baseline_seeds_file(config: dict, arch: str, task: str) -> str:
    """A task's final baseline seeds: a copy of its last round's decision."""
    return f"{arch_dir(config, arch)}/rounds/baseline/{task}/seeds.json"


def race_round_file(config: dict, arch: str, round_: int) -> str:
    return f"{arch_dir(config, arch)}/rounds/racing/round{round_}.json"


def candidate_cells(config: dict, arch: str, selected: list) -> list:
    """Known once the top-k and the calibration sample are drawn (selected: their folder
    names)."""
    return cells(config, arch, selected, config["targets"], config["seeds"])


def finetuned_count(config: dict, arch: str, usable: int) -> int:
    """How many candidates the select step picks: the top-k and the calibration sample."""
    return min(top_k(config, arch) + calibration_k(config, arch), usable)


def job_counts(config: dict, arch: str, usable: list) -> dict:
    """The jobs a first run of `arch` plans, by stage, for its usable candidates (`usable`:
    listing rows; placeholders without a path for an architecture not listed yet)."""
    host = [c for c in usable if not c.path and not fetches_in_probe(config, c, downloaded=False)]
    in_probes = [c for c in usable if fetches_in_probe(config, c, downloaded=False)]
    deleted = [c for c in usable if not keeps_weights(config, c)]
    picked = finetuned_count(config, arch, len(usable))
    again = min(picked, len(deleted))  # selected ones fetched again into <results>/selected/
    hub_base = 0 if local_base(config, arch) else 1
    return {
        "downloads": len(host) + len(in_probes) + hub_base + again,
        "download_jobs": len(host) + hub_base + again,
        "probes": len(usable),
        "baseline_cells": len(config["targets"]) * most_baseline_seeds(config),
        "candidate_cells": len(config["targets"]) * len(config["seeds"]) * picked,
    }


def walk_baseline_rounds(config: dict, round_file, read) -> tuple[list, list]:
    """(the seeds a task's baseline has been asked for, the round files read). Each round's
    decision names the seeds it wants; the last says no more. round_file(n): round n's file, or
    None where the walk stops before it; read(path): its decision."""
    seeds, files = first_baseline_seeds(config), []
    for round_ in itertools.count():
        path = round_file(round_)
        if path is None:
            break
        files.append(path)
        decision = read(path)
        if not decision["more"]:
            break
        seeds = decision["seeds"]
    return seeds, files


def walk_race(config: dict, arch: str, racers: list, round_file, read) -> tuple[list, list]:
    """(the racing cells asked for so far, the round files so far): each round runs its racers
    on the task order up to its checkpoint, and its decision names who races on. round_file(n):
    round n's file (asking for it may wait on that round); read(path): its decision."""
    order, points = race_order(config), race_points(config)
    cells_asked, files = {}, []
    for round_, point in enumerate(points):
        if not racers:
            break
        for path in cells(config, arch, racers, order[:point], config["seeds"]):
            cells_asked[path] = None
        files.append(round_file(round_))
        racers = read(files[-1])["racing"]
    return list(cells_asked), files
