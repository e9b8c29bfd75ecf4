"""Each default is stated once, in the schema: a config that writes only what differs from the
defaults plans the same jobs, each told the same settings, as one that spells out every
default."""

import json
import re
import shlex

from model_recycling.settings import default, fill_defaults, with_defaults
from tests.support.workflow import copy_workflow, load_config, snakemake, write_config


def strip(config: dict) -> dict:
    """Drop, one key at a time, whatever fill_defaults puts back as it was."""
    full = fill_defaults(config)
    stripped = json.loads(json.dumps(config))

    def walk(node, path):
        for key in list(node):
            if isinstance(node[key], dict):
                walk(node[key], (*path, key))
            held = node.pop(key)
            refilled = fill_defaults(stripped)
            for part in path:
                refilled = refilled.get(part, {})
            if refilled.get(key, object()) != held:
                node[key] = held

    walk(stripped, ())
    assert fill_defaults(stripped) == full
    return stripped


def planned(workdir, configfile) -> list:
    """(rule, outputs, shell command) of every job a dry run plans, settings completed."""
    text = snakemake(workdir, configfile, "-n", "-p").stdout
    jobs = []
    for block in text.split("\n\n"):
        rule = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        if rule:
            output = re.search(r"^\s+output: (.*)$", block, re.M)
            shell = block.strip().splitlines()[-1]
            jobs.append((rule.group(1), output.group(1) if output else "", completed(shell)))
    return sorted(jobs)


def completed(shell: str) -> str:
    """The shell command with its --settings JSON completed from the schema: the whole config
    (the pages), the aggregate's, a cell's hyperparameters, the demo zoo's."""
    if "--settings" not in shell:
        return shell
    words = shlex.split(shell)
    at = words.index("--settings") + 1
    settings = json.loads(words[at])
    if "architectures" in settings:
        settings = fill_defaults(settings)
    elif "targets" in settings:  # the aggregate's: it reads the default it is not told
        settings.setdefault("baseline_min_seeds", default("baseline_min_seeds"))
    elif "finetune" in settings:
        settings["finetune"] = with_defaults(settings["finetune"], "hyperparameters")
    elif "pooling" not in settings and "device" in settings:
        settings = with_defaults(settings, "hyperparameters")
    words[at] = json.dumps(settings, sort_keys=True)
    return shlex.join(words)


def test_a_config_without_its_defaults_plans_as_one_spelling_them_out(tmp_path):
    config = load_config()
    minimal, spelled = strip(config), fill_defaults(config)
    assert len(json.dumps(minimal)) < len(json.dumps(spelled)) - 500  # many defaults left out
    copy_workflow(tmp_path)
    jobs = planned(tmp_path, write_config(tmp_path, minimal, "minimal.yaml"))
    assert jobs and jobs == planned(tmp_path, write_config(tmp_path, spelled, "spelled.yaml"))
