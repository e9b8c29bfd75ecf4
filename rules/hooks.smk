# Hooks: what the run says and checks around its jobs (before the first, after the last),
# and Snakemake's own cost per job kept down.


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
    it (inspect.signature, for every job in the plan: a large share of planning at the Hub's
    scale, BENCHMARKS.md). Record each function's parameters once, as Snakemake's own wrappers do
    (snakemake.common.overwrite_function_params)."""
    for each in rules:
        items = [*each.input, *each.params, *each.resources.values(), *each.log]
        for item in items:
            func = getattr(getattr(item, "_file", item), "callable", None) or item
            if inspect.isfunction(func) and not hasattr(
                func, FUNC_OVERWRITE_PARAMS_ATTR
            ):
                overwrite_function_params(func, inspect.signature(func).parameters)
