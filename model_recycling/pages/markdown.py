"""The pieces every page is made of: numbers, tables and front matter in the reference site's
Jekyll format (theme just-the-docs), and where a model's page lives. Text from models and config
is escaped here (escaping.py), so no page module can forget it."""

from __future__ import annotations

import pandas as pd

from model_recycling.naming import safe_name
from model_recycling.pages.escaping import front_matter_value, text


def fmt(value, digits=2) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def md_table(header: list, rows: list, align: list) -> str:
    """align: 'l' or 'r' per column. Every cell is escaped (escaping.text) unless it is Markup
    (a link built with escaping.link, say)."""
    marks = {"l": ":---", "r": "---:"}
    lines = [
        "| " + " | ".join(map(text, header)) + " |",
        "|" + "|".join(marks[a] for a in align) + "|",
    ]
    lines += ["| " + " | ".join(map(text, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def front_matter(
    title: str,
    nav_order: int,
    parent: str | None = None,
    extra: str = "",
    grand_parent: str | None = None,
) -> str:
    """Title and parents escaped; a parent must be the (unescaped) title of the parent page,
    and a third-level page names its grand_parent too (just-the-docs navigation)."""
    parent_line = f"parent: {front_matter_value(parent)}\n" if parent else ""
    if grand_parent:
        parent_line += f"grand_parent: {front_matter_value(grand_parent)}\n"
    head = f"---\nlayout: default\ntitle: {front_matter_value(title)}\n{parent_line}"
    return head + f"nav_order: {nav_order}\n{extra}---\n"


def gain_page_path(arch: str, model_id: str) -> str:
    return f"model_gain_chart/{arch}/{safe_name(model_id)}.md"


def arch_page_front_matter(arch: str, title: str, nav_order: int) -> str:
    """A page under an architecture's ranking page (Rankings > arch > title in the navigation)."""
    return front_matter(title, nav_order, parent=arch, grand_parent="Rankings")
