# The finetuning stage's input and params functions (its rules: rules/finetuning.smk).


def base_listing_option(arch, model):
    """A baseline cell of a Hub base checks that the listing still pins the revision it was
    planned at (scripts/finetune.py --listing)."""
    if not is_base(arch, model) or plan.local_base(config, arch):
        return ""
    return f"--listing {listing_file(arch)}"


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


def baseline_cells(arch):
    """The baseline's cells: the configured seeds', or with adaptive seeds each task's final
    seeds file (rules/rounds.smk) and the cells of the rounds decided so far."""
    if not plan.adaptive_seeds(config):
        return plan.baseline_cells(config, arch)
    base, files = [BASE_NAMES[arch]], []
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


def all_baseline_cells():
    return [f for arch in config["architectures"] for f in baseline_cells(arch)]


def all_candidate_results():
    return [
        f
        for arch in config["architectures"]
        for f in probe_files(arch) + candidate_cells(arch)
    ]
