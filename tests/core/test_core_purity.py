"""poller/core is pure: stdlib and poller.core imports only, no clock, no files (DESIGN §5 rule)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import poller.core

CORE = Path(poller.core.__file__).parent
FILES = sorted(CORE.rglob("*.py"))
FORBIDDEN_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
                   ("time", "time"), ("time", "monotonic"), ("time", "time_ns"), ("time", "sleep")}
FORBIDDEN_NAMES = {"open", "input", "print", "exec", "eval", "__import__"}


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "use absolute poller.core imports"
            names.append(node.module or "")
    return names


def _allowed(module: str) -> bool:
    return module == "poller.core" or module.startswith("poller.core.") or \
        module.split(".")[0] in sys.stdlib_module_names or module == "__future__"


def test_core_files_found():
    assert len(FILES) > 10


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_imports_only_stdlib_and_core(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = [m for m in _imported(tree) if not _allowed(m)]
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_no_clock_and_no_io(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            assert func.id not in FORBIDDEN_NAMES, f"{path.name}:{node.lineno} calls {func.id}()"
        elif isinstance(func, ast.Attribute):
            owner = func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            assert (owner_name, func.attr) not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} reads the clock"
            assert func.attr not in {"read_text", "write_text", "open"}, f"{path.name}:{node.lineno} does I/O"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_one_line_module_docstring(path):
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc and "\n" not in doc.strip(), f"{path.name} needs a one-line module docstring"
