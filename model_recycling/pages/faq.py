"""The FAQ page, generated from the configuration that ran: how models are chosen, the gain,
the hyperparameters, the protocol and every target task (a task that could not be prepared is
listed with its reason)."""

from __future__ import annotations

from model_recycling.pages.markdown import front_matter, md_table
from model_recycling.tasks.prepare import PROTOCOLS, resolve_protocol

DEV_METHOD_TEXT = {
    "stratified": "a seeded random sample in which each class keeps its share of train "
    "(regression: a plain seeded sample)",
    "ends": "half from each end of train (the reference's rule)",
}
INPUT_ENCODING_TEXT = {
    "segments": "the first input field is segment A and the other fields, joined by the "
    "tokenizer's separator, segment B; the longer one is cut first to fit `max_length` tokens",
    "joined": "all input fields are joined with the literal ` <SEP> ` into one sequence, cut at "
    "`max_length` tokens from the right (the reference's encoding)",
}


def _holdout_rule(rule: dict) -> str:
    return (
        f"{rule['large_size']:,} examples when train has at least {rule['large_threshold']:,} "
        f"examples, else {rule['small_fraction']:.0%} of it: {DEV_METHOD_TEXT[rule['method']]}"
    )


def _protocol_section(settings: dict) -> str:
    """What `protocol` ran and what it means; an explicit dev_holdout.method is named."""
    protocol = settings["protocol"]
    rule, encoding = resolve_protocol(protocol, settings["dev_holdout"])
    own_method = PROTOCOLS[protocol]["dev_method"]
    override = (
        f" (`dev_holdout.method: {rule['method']}` in the config, instead of the protocol's "
        f"`{own_method}`)"
        if rule["method"] != own_method
        else ""
    )
    meaning = (
        "the reference's choices, to reproduce its numbers"
        if protocol == "reference"
        else "where it differs from the reference on purpose, so that the dev set can select "
        "a checkpoint; `protocol: reference` reproduces the reference's choices"
    )
    return (
        f"## Which protocol ran?\n`protocol: {protocol}`: {meaning}.\n\n"
        f"- Dev set (early stopping, checkpoint choice): {_holdout_rule(rule)}{override}; a task "
        "that declares a dev split uses it. A classification dev set of a single class stops "
        "the task's preparation.\n"
        f"- Inputs: {INPUT_ENCODING_TEXT[encoding]}.\n\n"
    )


def _dev_cell(meta: dict) -> str:
    """Dev size, and per class in the task's label order (recorded at preparation)."""
    counts = (meta.get("label_counts") or {}).get("dev")
    per_class = f" ({' / '.join(str(n) for n in counts.values())})" if counts else ""
    return f"{meta['sizes']['dev']}{per_class}"


def _baseline_seeds_note(seeds) -> str:
    if isinstance(seeds, list):
        return f"the baseline with {len(seeds)} seeds {seeds}"
    return (
        f"the baseline with adaptive seeds: {seeds['min']} per task, then {seeds['step']} more "
        f"while the standard error of the task's baseline mean is above {seeds['target_se']} "
        f"points, at most {seeds['max']} (each task's count is on the baseline page)"
    )


def _racing_note(settings: dict) -> str:
    if "racing" not in settings:
        return ""
    rule = settings["racing"]
    return (
        f", unless racing stops them: the selected candidates run the tasks in one seeded order "
        f"(seed {rule['seed']}); after {rule['first_round']} tasks and then every "
        f"{rule['round']}, each is compared with the leader on the tasks both ran: one clearly "
        "behind is stopped, and once every one is within "
        f"{rule['epsilon']} points of the leader only the leader goes on (the chance of stopping "
        f"the best is at most {1 - rule['confidence']:.2g}); a stopped candidate is never ranked "
        "(the calibration sample runs every task)"
    )


def faq_page(settings: dict) -> str:
    hp, probe = settings["finetune"], settings["probe"]
    task_rows = []
    for task in settings["targets"]:
        meta = settings["task_meta"][task]
        spec = meta["spec"]
        if meta.get("status") == "failed":
            dataset = spec["dataset"] + (f" / {spec['config']}" if spec["config"] else "")
            task_rows.append([task, dataset, f"not prepared: {meta['reason']}", "", "", ""])
            continue
        split = (
            spec["eval_split"]
            if isinstance(spec["eval_split"], str)
            else "+".join(spec["eval_split"])
        )
        task_rows.append(
            [
                task,
                spec["dataset"] + (f" / {spec['config']}" if spec["config"] else ""),
                f"{split} ({meta['sizes']['eval']})",
                meta["sizes"]["train"],
                _dev_cell(meta),
                meta["metric"],
            ]
        )
    hp_rows = [[key, value] for key, value in sorted(hp.items())]
    return (
        front_matter("FAQ", 2)
        + "# FAQ\n\nEverything on this page is generated from the configuration that produced the "
        "results.\n\n"
        "## How are models chosen and ranked?\n"
        f"Each finetuned candidate of an architecture is scored by a linear probe: the encoder is "
        f"frozen, features are mean-pooled ({probe['pooling']}), and a logistic-regression head is "
        f"fitted on `{probe['task']}` and scored by accuracy on its evaluation split. The top "
        f"{settings['top_k']} candidates per architecture and the pretrained model are then fully "
        f"finetuned on every target task{_racing_note(settings)}. Candidates run with seeds "
        f"{settings['seeds']}; {_baseline_seeds_note(settings['baseline_seeds'])}.\n\n"
        "## What is the gain?\n"
        "`gain(m, t) = score(m, t) - mean baseline score(t)`; `avg` is the unweighted mean over "
        "the tasks, x100. Accuracy for classification, Spearman correlation for regression.\n\n"
        "## Finetuning hyperparameters\n"
        + md_table(["setting", "value"], hp_rows, ["l", "l"])
        + "\nAdamW with a linear schedule; early stopping on a dev set held out of the training "
        "split (see below); the best dev checkpoint is scored.\n\n"
        + _protocol_section(settings)
        + "## Tasks\n"
        + md_table(
            ["task", "dataset", "evaluated on (n)", "train", "dev (per class)", "metric"],
            task_rows,
            ["l", "l", "l", "r", "r", "l"],
        )
        + "\ndev (per class): the dev set's size, and its examples per class in the order of the "
        "task's labels.\n"
    )
