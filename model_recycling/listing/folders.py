"""The files of a local source's model folders, read when the workflow is planned: cheap to
import (no Hub client, no torch)."""

from __future__ import annotations

from pathlib import Path

from model_recycling.listing.local import DEFINING_FILES


def local_source_files(root) -> list:
    """The files that define each model folder of a local source (config, weights, tokenizer):
    the listing's inputs, so that adding, removing or changing a model lists the source again."""
    folders = sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))
    return sorted(
        str(path)
        for folder in folders
        for pattern in DEFINING_FILES
        for path in folder.glob(pattern)
        if path.is_file()
    )
