"""The "Demo zoo" page: what each intermediate model of the demo was trained on and how well it
learned it, read from the recycling_card.json that demo_zoo.build_intermediate writes. A reader
can then tell a candidate that learned something from a shuffled-label control."""

from __future__ import annotations

from pathlib import Path

from model_recycling.io import atomic_write_text, read_json
from model_recycling.pages.markdown import fmt, front_matter, md_table

PAGE = "demo_zoo.md"
# What counts as learned: 20 points above the majority class, or Spearman >= 0.5.
LEARNED_MARGIN = 0.20
LEARNED_SPEARMAN = 0.5


def learned(card: dict) -> bool:
    if card.get("majority_score") is None:  # regression
        return card["score"] >= LEARNED_SPEARMAN
    return card["score"] >= card["majority_score"] + LEARNED_MARGIN


def _row(name: str, spec: dict, card_path: Path) -> list:
    if not card_path.is_file():
        return [name, spec["base"], spec["task"], "", "", "", "no card (not built)"]
    card = read_json(card_path)
    shuffled = "shuffled" in spec["task"]
    verdict = "yes" if learned(card) else "no"
    return [
        name,
        card.get("base", spec["base"]),
        card["source_task"],
        card["metric"],
        fmt(card["score"], 3),
        fmt(card.get("majority_score"), 3),
        f"{verdict} (shuffled labels: a control)" if shuffled else verdict,
    ]


def _pretrain_steps(zoo: dict) -> str:
    """Per base: its own pretrain_steps, else the zoo-wide one."""
    default = zoo.get("pretrain_steps")
    return ", ".join(
        f"{name} {base.get('pretrain_steps', default)}"
        for name, base in sorted(zoo["bases"].items())
    )


def demo_page(settings: dict, models_dir) -> str:
    zoo = settings["demo_zoo"]
    rows = [
        _row(name, spec, Path(models_dir) / name / "recycling_card.json")
        for name, spec in sorted(zoo["intermediates"].items())
    ]
    table = md_table(
        ["model", "base", "source task", "metric", "score", "majority class", "learned"],
        rows,
        ["l", "l", "l", "l", "r", "r", "l"],
    )
    return (
        "# Demo zoo\n\n"
        "The demo's candidates are intermediate models the workflow built itself: each base "
        "finetuned on one synthetic source task. Below, each one's score on its source task's "
        "evaluation split (metric: accuracy, or Spearman for regression) next to always answering "
        "the most common label. *Learned* means at least "
        f"{LEARNED_MARGIN * 100:.0f} points above the majority class, or a Spearman of at least "
        f"{LEARNED_SPEARMAN}. Models trained on shuffled labels are controls: they should learn "
        "nothing, and a good proxy should not rank them high.\n\n"
        + table
        + f"\nPretraining steps of the bases: {_pretrain_steps(zoo)}; source tasks and "
        "sizes: `demo_zoo` in the config (see the FAQ).\n"
    )


def render_demo_page(out_dir, settings: dict, models_dir, nav_order: int = 90) -> bool:
    """Write demo_zoo.md when the demo zoo is enabled; returns whether it wrote the page."""
    if not settings.get("demo_zoo", {}).get("enabled"):
        return False
    page = front_matter("Demo zoo", nav_order) + demo_page(settings, models_dir)
    atomic_write_text(Path(out_dir) / PAGE, page)
    return True
