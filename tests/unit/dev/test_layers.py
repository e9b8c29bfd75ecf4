"""`make lint`'s structure checks: the package's layers (import-linter, pyproject.toml) and the
size bounds (dev/check_sizes.py) pass on the package and fail on a planted breach."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.common import REPO

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def package_copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "model_recycling", tmp_path / "model_recycling")
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(root), "PATH": str(LINT_IMPORTS.parent)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True
    )


def test_the_package_keeps_its_layers_and_a_wrong_way_import_breaks_them(tmp_path):
    root = package_copy(tmp_path)
    assert lint_imports(root).returncode == 0
    registry = root / "model_recycling/tasks/registry.py"
    # a task module reading a page helper: a lower stage importing a later one
    registry.write_text(registry.read_text() + "\nfrom model_recycling.pages import markdown\n")
    broken = lint_imports(root)
    assert broken.returncode == 1
    assert "model_recycling.tasks.registry -> model_recycling.pages.markdown" in broken.stdout


def test_size_bounds_pass_on_the_package_and_fail_on_a_long_function(tmp_path):
    check = [sys.executable, str(REPO / "dev/check_sizes.py")]
    assert subprocess.run([*check, str(REPO / "model_recycling")]).returncode == 0
    long_function = "def f():\n" + "    x = 1\n" * 61
    (tmp_path / "long.py").write_text(long_function)
    found = subprocess.run([*check, str(tmp_path)], capture_output=True, text=True)
    assert found.returncode == 1 and "f is 62 lines" in found.stdout


def test_size_bounds_pass_on_the_rules_and_fail_on_a_long_rule_file(tmp_path):
    check = [sys.executable, str(REPO / "dev/check_sizes.py")]
    assert (
        subprocess.run([*check, str(REPO / "model_recycling"), str(REPO / "rules")]).returncode == 0
    )
    (tmp_path / "long.smk").write_text("# a rule file\n" * 301)
    found = subprocess.run([*check, str(REPO / "rules"), str(tmp_path)], capture_output=True,
                           text=True)  # fmt: skip
    assert found.returncode == 1 and "long.smk: 301 lines (at most 300)" in found.stdout
