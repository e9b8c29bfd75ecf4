"""The demo carries signal: on the demo's own settings (config.yaml), the tiny BERT base
learns every target (sentence pairs included) well above the majority class, on average below the
ceiling, an intermediate learns its pair source task and helps the probe, and an intermediate
trained on a related source task really helps a few-shot target. Scores are measured with the
real zoo code and training loop; the thresholds are on scores, never on timing. The T5 base is
left out to keep the test cheap (its pretraining is the slowest step of the zoo); the full run's
figures for both bases are in README's demo paragraph."""

from collections import Counter

import pytest
import torch
import yaml

from model_recycling.settings import fill_defaults
from tests.support.common import REPO

CONFIG = fill_defaults(yaml.safe_load((REPO / "config.yaml").read_text()))
ZOO = CONFIG["demo_zoo"]
TARGETS = CONFIG["targets"]
PAIR_SOURCE = "nli-tuned"  # the probe's kind of task
RELATED_SOURCE = "sentiment-tuned"  # sentiment is stance without the neutral class
RELATED_TARGET = "demo_stance"  # few-shot: 30 training examples
CPU = torch.device("cpu")
# One worker runs the module: its demo BERT and baseline scores are made once.
pytestmark = pytest.mark.xdist_group("demo_zoo")


@pytest.fixture(scope="module")
def demo_bert(tmp_path_factory):
    """The demo's tasks (all written, so each keeps its own seed), its BERT base and two
    intermediates (a pair source task, a related one), exactly as the workflow's rules build
    them. Yields the root, the base and the pair intermediate's card."""
    from model_recycling.demo import zoo as demo_zoo
    from model_recycling.tasks.prepare import prepare_task
    from model_recycling.tasks.registry import load_registry

    root = tmp_path_factory.mktemp("demo")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workflow's jobs run; less contention on a shared machine
    demo_zoo.write_tasks(root / "tasks", ZOO["tasks"], ZOO["seed"])
    registry_text = (REPO / "resources/tasks/demo.yaml").read_text()
    (root / "registry.yaml").write_text(
        registry_text.replace("results/demo_zoo/tasks", str(root / "tasks"))
    )
    registry = load_registry(root / "registry.yaml")
    sources = {name: ZOO["intermediates"][name] for name in (PAIR_SOURCE, RELATED_SOURCE)}
    source_tasks = [spec["task"] for spec in sources.values()]
    for name in [*TARGETS, *source_tasks, CONFIG["probe"]["task"]]:
        prepare_task(registry[name], root / "prepared" / name, CONFIG["dev_holdout"])
    base_name = sources[PAIR_SOURCE]["base"]
    base = root / "models" / base_name
    demo_zoo.build_base(
        base, root / "tasks/lexicon.json", ZOO["bases"][base_name], ZOO["pretrain_steps"],
        ZOO["seed"],
    )  # fmt: skip
    cards = {}
    for name, spec in sources.items():
        cards[name] = demo_zoo.build_intermediate(
            base, root / "prepared" / spec["task"], ZOO["finetune"], ZOO["seed"],
            root / "models" / name,
        )  # fmt: skip
    yield root, base, cards[PAIR_SOURCE]
    torch.set_num_threads(threads)


def test_pair_source_task_is_learned(demo_bert):
    _, _, card = demo_bert
    assert card["source_task"] == ZOO["intermediates"][PAIR_SOURCE]["task"]
    assert card["majority_score"] is not None
    assert card["score"] >= card["majority_score"] + 0.20, card


def _finetuned_score(model_dir, task) -> float:
    from model_recycling.finetuning.train import Hyperparameters, finetune
    from model_recycling.models.devices import seed_everything
    from model_recycling.models.loading import load_for_task, load_tokenizer

    seed_everything(0)
    model = load_for_task(model_dir, task, CPU)
    hp = Hyperparameters.from_config(CONFIG["finetune"])
    return finetune(model, load_tokenizer(model_dir), task, hp, 0, CPU)["score"]


@pytest.fixture(scope="module")
def baseline_scores(demo_bert):
    from model_recycling.tasks.prepare import load_prepared

    root, base, _ = demo_bert
    tasks = {name: load_prepared(root / "prepared" / name) for name in TARGETS}
    return {name: (_finetuned_score(base, task), task) for name, task in tasks.items()}


@pytest.mark.parametrize("target", TARGETS)
def test_base_learns_every_target(baseline_scores, target):
    from model_recycling.demo.zoo import majority_score

    score, task = baseline_scores[target]
    if task.is_regression:
        assert score >= 0.3, score
    else:
        assert score >= majority_score(task) + 0.10, score


def test_baseline_leaves_room_and_a_related_intermediate_fills_it(demo_bert, baseline_scores):
    """The effect the product is about: the baseline is below the ceiling on average, and the
    intermediate trained on a related source task beats it on the few-shot target. Measured on
    seed 0: average 0.909 (demo_same_stance is at the ceiling for BERT; it has 100 training
    examples so that the T5 base learns it too), demo_stance 0.857 for the base and 1.000 after
    sentiment."""
    root, _, _ = demo_bert
    average = sum(score for score, _ in baseline_scores.values()) / len(TARGETS)
    assert average <= 0.93, baseline_scores
    base_score, task = baseline_scores[RELATED_TARGET]
    assert base_score <= 0.90, base_score  # room left on the few-shot target
    assert _finetuned_score(root / "models" / RELATED_SOURCE, task) >= base_score + 0.05


def test_related_intermediate_probes_above_the_base(demo_bert):
    """The probe task has something to find: the intermediate trained on the probe's kind of
    task gets a clearly better linear probe than the base it came from."""
    from model_recycling.models.loading import load_encoder, load_tokenizer
    from model_recycling.probing.probe import run_probe
    from model_recycling.tasks.prepare import load_prepared

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
    from model_recycling.pages.demo import PAGE, render_demo_page

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
