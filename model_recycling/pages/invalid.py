"""The refused records of an architecture, one row per model (records that failed the checks of
validation.py: schema, ranges, counts, evaluation size, task data, revision, plausibility). At
the reference's scale a model can have dozens; the ranking page says how many models, this page
which ones and why, invalid.csv every record."""

from __future__ import annotations

import pandas as pd

from model_recycling.pages.escaping import link, text
from model_recycling.pages.markdown import arch_page_front_matter, md_table

SHOWN_REASONS = 2  # distinct reasons shown per model; the rest are in invalid.csv


def invalid_page_path(arch: str) -> str:
    return f"{arch}_invalid.md"


def invalid_line(arch: str, invalid: pd.DataFrame) -> str:
    """The ranking page's one line about refused records ('' when there are none)."""
    if not len(invalid):
        return ""
    models = invalid.model_id.nunique()
    return (
        f"\n{len(invalid)} record{'s' if len(invalid) != 1 else ''} of {models} "
        f"model{'s' if models != 1 else ''} failed the "
        f"checks and count nowhere: {link('invalid records', invalid_page_path(arch))} "
        f"({link('invalid.csv', f'data/{arch}/invalid.csv')}).\n"
    )


def _reasons(group: pd.DataFrame) -> str:
    """The first SHOWN_REASONS distinct reasons, each after its kind (cell, probe)."""
    distinct = group.drop_duplicates("reason")
    shown = [f"{row.kind}: {row.reason}" for row in distinct.head(SHOWN_REASONS).itertuples()]
    more = len(distinct) - SHOWN_REASONS
    return "; ".join(shown) + (
        f"; and {more} other reason{'s' if more != 1 else ''}" if more > 0 else ""
    )


def invalid_page(arch: str, base_id: str, invalid: pd.DataFrame) -> str:
    """One row per model: how many records were refused (cells, probe) and the first reasons."""
    rows = []
    for model_id, group in invalid.groupby("model_id", sort=True):
        kinds = group.kind.value_counts()
        counted = ", ".join(
            f"{kinds[k]} {k}{'s' if kinds[k] != 1 else ''}" for k in sorted(kinds.index)
        )
        rows.append([model_id, counted, _reasons(group)])
    body = (
        md_table(["model", "refused records", "first reasons"], rows, "lll") if rows else "None.\n"
    )
    return (
        arch_page_front_matter(arch, f"{arch} invalid records", 5)
        + f"# {text(arch)}: invalid records\n\n"
        f"Base model: {text(base_id)}. Result files that failed the checks (schema, score range, "
        "counts behind an accuracy, evaluation size, task data, model revision, plausibility of "
        "a probe) count nowhere on these pages: a model with a refused probe is never selected, "
        "one with a refused cell is not fully tested. One row per model; every record is in "
        f"{link('invalid.csv', f'data/{arch}/invalid.csv')}.\n\n" + body
    )
