"""A folder of model folders served as Hub repositories by the stand-in (hub_server.py): the
demo zoo's models as `<owner>/<folder>`, each tagged the way the Hub tags a finetune of the base
(its model_type, `base_model:finetune:<base>`), so that a Hub config lists, probes, downloads and
finetunes them through the real client."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.hub_server import FakeHub


def serve_models(hub: FakeHub, models_dir: Path, names: list, owner: str, base: str) -> dict:
    """Serve each folder of `names` as <owner>/<name>; returns {name: repo id}. The base is
    served too, untagged as a finetune."""
    repos = {}
    base_id = f"{owner}/{base}"
    for downloads, name in enumerate(reversed(names), start=10):
        folder = Path(models_dir) / name
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        config = json.loads(files["config.json"]) if "config.json" in files else {}
        tags = [config.get("model_type", "")]
        tags += [] if name == base else [f"base_model:finetune:{base_id}"]
        repo_id = f"{owner}/{name}"
        hub.add_repo(repo_id, files, [t for t in tags if t], downloads=downloads, config=config)
        repos[name] = repo_id
    return repos
