"""Pin a task registry's Hub datasets to commits, online.

Every entry whose `revision` is null with a "TODO pin" comment gets the commit its dataset's main
branch points to now, or, for a dataset that still ships a loading script (which datasets>=4
cannot run), the commit of its parquet conversion (refs/convert/parquet). The line is rewritten
in place, comments elsewhere kept; an entry that cannot be resolved stays as it was and is
reported. Local files (csv, json) are pinned by content in meta.json instead.

    .venv/bin/python dev/pin_datasets.py resources/tasks/protocol.yaml [--endpoint URL]
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

PARQUET = "refs/convert/parquet"
TODO = re.compile(r"^(?P<indent>\s+)revision: null\s+# TODO pin.*$")


def resolve(api: HfApi, dataset: str) -> tuple[str, str]:
    """(commit sha, the branch it is from)."""
    info = api.dataset_info(dataset)
    scripts = [s.rfilename for s in info.siblings or [] if re.fullmatch(r"[^/]+\.py", s.rfilename)]
    if scripts:
        return api.dataset_info(dataset, revision=PARQUET).sha, PARQUET
    return info.sha, "main"


def pin(path: Path, api: HfApi) -> list:
    """Rewrite the registry at `path`; one line per entry: pinned, or why not."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    lines, task, report = path.read_text(encoding="utf-8").splitlines(keepends=True), None, []
    today = datetime.now(UTC).date().isoformat()
    for i, line in enumerate(lines):
        top = re.match(r"^([A-Za-z0-9_.\-]+):", line)
        task = top.group(1) if top else task
        found = TODO.match(line.rstrip("\n"))
        if not found or task not in entries:
            continue
        dataset = entries[task]["dataset"]
        try:
            sha, branch = resolve(api, dataset)
        except (HfHubHTTPError, OSError) as err:
            report.append(f"{task}: {dataset} not pinned ({type(err).__name__}: {err})")
            continue
        lines[i] = f"{found.group('indent')}revision: {sha}  # {dataset} {branch} on {today}\n"
        report.append(f"{task}: {dataset} pinned at {sha} ({branch})")
    path.write_text("".join(lines), encoding="utf-8")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry", type=Path)
    parser.add_argument("--endpoint", help="a Hub mirror (default: huggingface.co)")
    args = parser.parse_args()
    report = pin(args.registry, HfApi(endpoint=args.endpoint))
    print("\n".join(report) or "nothing to pin")
    return 1 if any("not pinned" in line for line in report) else 0


if __name__ == "__main__":
    sys.exit(main())
