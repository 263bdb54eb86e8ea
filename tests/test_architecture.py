"""The import rules of DESIGN section 10 that ``import-linter`` cannot state.

``make test`` runs ``lint-imports`` for the floors (``pyproject.toml``); these tests hold
the rest: no private name is imported from another module, and an import inside a function
is there only for a stated reason (a ``# Deferred:`` comment just above it).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lamina"


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _lamina_imports(path: Path) -> list[tuple[ast.ImportFrom | ast.Import, bool]]:
    """(import node, whether it sits inside a function) for every import of lamina."""
    tree = ast.parse(path.read_text())
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(id(sub) for sub in ast.walk(node)
                          if isinstance(sub, (ast.Import, ast.ImportFrom)))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lamina"):
            found.append((node, id(node) in inside))
        elif isinstance(node, ast.Import) and any(a.name.startswith("lamina")
                                                  for a in node.names):
            found.append((node, id(node) in inside))
    return found


FILES = sorted(PACKAGE.rglob("*.py"))


def test_no_private_name_is_imported_from_another_module() -> None:
    offenders = []
    for path in FILES:
        for node, _ in _lamina_imports(path):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names
                           if a.name.startswith("_") and not a.name.startswith("__")]
                if private and node.module != _module_of(path):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {private}")
    assert offenders == []


def test_imports_inside_functions_say_why() -> None:
    offenders = []
    for path in FILES:
        lines = path.read_text().splitlines()
        for node, in_function in _lamina_imports(path):
            if not in_function:
                continue
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            previous = [line.strip() for line in lines[max(0, node.lineno - 4):node.lineno - 1]]
            if not (above.startswith("# Deferred:") or any(
                    line.startswith("# Deferred:") for line in previous)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_the_rules_see_what_they_check() -> None:
    """The scan finds the deferred imports that exist (so an empty result means something)."""
    deferred = [(path.name, node.lineno) for path in FILES
                for node, inside in _lamina_imports(path) if inside]
    assert ("model.py" in {name for name, _ in deferred}
            and "cli.py" in {name for name, _ in deferred})


@pytest.mark.skipif(shutil.which("lint-imports", path=str(Path(sys.executable).parent)) is None,
                    reason="import-linter is installed by `make test` (the dev extra)")
def test_the_import_floors_hold() -> None:
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    result = subprocess.run([linter, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
