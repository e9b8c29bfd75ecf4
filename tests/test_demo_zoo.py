"""The demo carries signal (issue 8): on the demo's own settings (config.yaml), the tiny BERT base
learns the sentence-pair targets, and an intermediate learns its pair source task, both well
above the majority class. Scores are measured with the real zoo code and training loop; the
thresholds are on scores, never on timing. The T5 base is left out to keep the test cheap."""

from collections import Counter

import pytest
import torch
import yaml

from tests.conftest import REPO

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
ZOO = CONFIG["demo_zoo"]
PAIR_TARGETS = ["demo_same_topic", "demo_same_stance", "demo_similarity"]
PAIR_SOURCE = "nli-tuned"
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def demo_bert(tmp_path_factory):
    """The demo's tasks (all written, so each keeps its own seed), its BERT base and one
    intermediate trained on a pair task, exactly as the workflow's rules build them."""
    from model_recycling import demo_zoo
    from model_recycling.tasks import load_registry, prepare_task

    root = tmp_path_factory.mktemp("demo")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workflow's jobs run; less contention on a shared machine
    demo_zoo.write_tasks(root / "tasks", ZOO["tasks"], ZOO["seed"])
    registry_text = (REPO / "resources/tasks/demo.yaml").read_text()
    (root / "registry.yaml").write_text(
        registry_text.replace("results/demo_zoo/tasks", str(root / "tasks"))
    )
    registry = load_registry(root / "registry.yaml")
    source = ZOO["intermediates"][PAIR_SOURCE]
    for name in [*PAIR_TARGETS, source["task"], CONFIG["probe"]["task"]]:
        prepare_task(registry[name], root / "prepared" / name, CONFIG["dev_holdout"])
    base = root / "models" / source["base"]
    demo_zoo.build_base(
        base, root / "tasks/lexicon.json", ZOO["bases"][source["base"]], ZOO["pretrain_steps"],
        ZOO["seed"],
    )  # fmt: skip
    card = demo_zoo.build_intermediate(
        base, root / "prepared" / source["task"], ZOO["finetune"], ZOO["seed"],
        root / "models" / PAIR_SOURCE,
    )  # fmt: skip
    yield root, base, card
    torch.set_num_threads(threads)


def test_pair_source_task_is_learned(demo_bert):
    _, _, card = demo_bert
    assert card["source_task"] == ZOO["intermediates"][PAIR_SOURCE]["task"]
    assert card["majority_score"] is not None
    assert card["score"] >= card["majority_score"] + 0.20, card


@pytest.mark.parametrize("target", PAIR_TARGETS)
def test_base_learns_pair_targets(demo_bert, target):
    from model_recycling.demo_zoo import majority_score
    from model_recycling.modeling import load_for_task, load_tokenizer
    from model_recycling.tasks import load_prepared
    from model_recycling.train import Hyperparameters, finetune, seed_everything

    root, base, _ = demo_bert
    task = load_prepared(root / "prepared" / target)
    seed_everything(0)
    model = load_for_task(base, task, CPU)
    hp = Hyperparameters.from_config(CONFIG["finetune"])
    result = finetune(model, load_tokenizer(base), task, hp, 0, CPU)
    if task.is_regression:
        assert result["score"] >= 0.3, result["score"]
    else:
        assert result["score"] >= majority_score(task) + 0.10, result["score"]


def test_related_intermediate_probes_above_the_base(demo_bert):
    """The probe task has something to find: the intermediate trained on the probe's kind of
    task gets a clearly better linear probe than the base it came from."""
    from model_recycling.modeling import load_encoder, load_tokenizer
    from model_recycling.probe import run_probe
    from model_recycling.tasks import load_prepared

    root, base, _ = demo_bert
    task = load_prepared(root / "prepared" / CONFIG["probe"]["task"])
    scores = {}
    for model_dir in (base, root / "models" / PAIR_SOURCE):
        encoder, tokenizer = load_encoder(model_dir, CPU), load_tokenizer(model_dir)
        scores[model_dir.name] = run_probe(encoder, tokenizer, task, CONFIG["probe"], CPU)
    majority = max(Counter(ex["label"] for ex in task.eval).values()) / len(task.eval)
    assert scores[base.name]["score"] >= majority + 0.10  # the base's features are not noise
    assert scores[PAIR_SOURCE]["score"] >= scores[base.name]["score"] + 0.02, scores


def test_demo_page_shows_source_task_and_score(demo_bert, tmp_path):
    from model_recycling.demo_page import PAGE, render_demo_page

    root, _, card = demo_bert
    intermediates = {
        PAIR_SOURCE: ZOO["intermediates"][PAIR_SOURCE],
        "never-built": {"base": "tiny-bert-base", "task": "src_topic_shuffled"},
    }
    settings = {"demo_zoo": {**ZOO, "intermediates": intermediates}}
    assert render_demo_page(tmp_path, settings, root / "models")
    rows = {
        line.split(" | ")[0].strip("| "): line
        for line in (tmp_path / PAGE).read_text().splitlines()
        if line.startswith("| ")
    }
    source = rows[PAIR_SOURCE]
    assert f"| {card['source_task']} |" in source and f"| {card['score']:.3f} |" in source
    assert f"| {card['majority_score']:.3f} | yes |" in source
    assert "no card (not built)" in rows["never-built"]
    assert not render_demo_page(tmp_path / "off", {"demo_zoo": {"enabled": False}}, root)
