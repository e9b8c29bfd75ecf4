# The listing stage's input and params functions (its rules: rules/listing.smk).


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
    build each baseline cell twice. Should the listing be redone later in the same
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


check_paths()
# Once every configured folder is known to exist: a source with nothing to compare with.
warn_empty_sources()
