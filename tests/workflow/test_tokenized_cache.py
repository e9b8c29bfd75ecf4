"""The tokenized cache in a real run: the micro run's probes and cells share entries."""

import re


def entries(root, task) -> list:
    return sorted(p for p in (root / task).iterdir() if p.is_dir())


def test_the_workflow_builds_each_entry_once(micro_run):
    """The micro run (shared fixture): probes and cells of one tokenizer share an entry, and no
    split was built twice however the jobs overlapped."""
    workdir = micro_run[0]
    cache = workdir / "results/tokenized"
    # demo_nli is probed with the BERT and the T5 tokenizers: one entry each.
    assert len(entries(cache, "demo_nli")) == 2
    logs = [p.read_text() for p in (workdir / "results/logs").rglob("*.log")]
    built = re.findall(r"tokenized cache: (?:re)?built (\S+)", "\n".join(logs))
    reads = sum(log.count("tokenized cache: read") for log in logs)
    assert built and len(built) == len(set(built)) and reads > len(built)
    stored = {str(p.with_suffix("").relative_to(workdir)) for p in cache.rglob("*.npz")}
    assert set(built) == stored
