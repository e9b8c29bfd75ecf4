"""What a run produced, as one digest per file: pages, tables, cells, probes, listings, tasks.
Timings, the code's own hash and a model card's date (the day of its newest cell) are left out
(they differ between two runs of the same code, or between two versions of code that compute the
same thing); everything else must be equal byte for byte. Training on another CPU gives other
floating-point results, so the record holds for the machine it was made on.

    python -m tests.support.run_digest RUN_FOLDER > tests/support/recorded/micro_run_digest.json
records a run (the micro run of tests/workflow/test_previous_results.py) after a change that is
meant to change what the workflow produces."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

FOLDERS = ("site", "site_html", "model_cards", "architectures", "tasks")
VOLATILE = {"started_at", "finished_at", "code_version", "train_examples_per_second"}


def _content(path: Path) -> bytes:
    """The file as compared: a cell or probe record without its timings, the manifest without
    the code's hash, a model card without its date, anything else as it is."""
    in_records = "cells" in path.parts or "probe" in path.parts
    if path.suffix == ".json" and (in_records or path.name == "manifest.json"):
        record = json.loads(path.read_text())
        kept = {
            key: value
            for key, value in record.items()
            if key not in VOLATILE and not key.endswith("_seconds")
        }
        return json.dumps(kept, sort_keys=True).encode()
    if "model_cards" in path.parts and path.suffix == ".md":
        return re.sub(rb"as of \d{4}-\d{2}-\d{2}", b"as of <date>", path.read_bytes())
    return path.read_bytes()


def digest(workdir: Path, results_dir: str = "results") -> dict:
    """Relative path -> sha256 of its content as compared."""
    results = Path(workdir) / results_dir
    files = {}
    for folder in FOLDERS:
        for path in sorted((results / folder).rglob("*")):
            if path.is_file() and path.name != "listing_cache.json":
                name = path.relative_to(workdir).as_posix()
                files[name] = hashlib.sha256(_content(path)).hexdigest()
    return files


if __name__ == "__main__":
    print(json.dumps(digest(Path(sys.argv[1])), indent=1, sort_keys=True))
