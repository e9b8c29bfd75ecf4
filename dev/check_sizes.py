"""`make lint`: no module of the package longer than MAX_MODULE_LINES, no function longer than
MAX_FUNCTION_LINES, no rule file longer than MAX_RULE_FILE_LINES (a newcomer reads either in one
sitting). Arguments: the folders to check (.py files are modules, .smk files rule files)."""

import ast
import sys
from pathlib import Path

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_RULE_FILE_LINES = 300


def _too_long(path: Path, limit: int) -> list:
    lines = path.read_text(encoding="utf-8").count("\n")
    return [f"{path}: {lines} lines (at most {limit})"] if lines > limit else []


def problems(root: Path) -> list:
    found = []
    for path in sorted(root.rglob("*.smk")):
        found += _too_long(path, MAX_RULE_FILE_LINES)
    for path in sorted(root.rglob("*.py")):
        found += _too_long(path, MAX_MODULE_LINES)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(
                        f"{path}:{node.lineno}: {node.name} is {length} lines "
                        f"(at most {MAX_FUNCTION_LINES})"
                    )
    return found


if __name__ == "__main__":
    found = [p for root in sys.argv[1:] or ["model_recycling"] for p in problems(Path(root))]
    print("\n".join(found) or "sizes: every module, function and rule file within bounds")
    sys.exit(1 if found else 0)
