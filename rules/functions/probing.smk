# The probing stage's input and params functions (its rules: rules/probing.smk).


def model_dir(arch, model):
    """The folder holding a model's weights: a local folder, or the pinned Hub download."""
    revision = model_revision(arch, model)
    return plan.weights_folder(config, arch, model, revision, candidate(arch, model))


def base_revision_param(wildcards):
    """The base's revision (a params value: cells count only at the revision the run uses)."""
    return model_revision(wildcards.arch, BASE_NAMES[wildcards.arch])


def base_dir_param(wildcards):
    """The base's weights folder (a params value)."""
    return model_dir(wildcards.arch, BASE_NAMES[wildcards.arch])


def probe_model_input(arch, model):
    """The probe's input folder; none when the probe fetches its candidate itself."""
    folder = model_dir(arch, model)
    row = candidate(arch, model)
    return [] if plan.fetches_in_probe(config, row, os.path.exists(folder)) else folder


def probe_options(wildcards, input):
    """The probe's options derived from its input, so none is a rerun trigger (probes made
    before one of them existed stay done): the folder it loads, its task, the tokenized cache,
    and fetching or deleting the weights. One params function rather than four: Snakemake calls
    each for every job in the plan, and a plan at the Hub's scale holds thousands of probes.
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
