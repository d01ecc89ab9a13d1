"""The house plan, checked from the code's own imports: no cycles, no upward edges, SQL only in the store, one clock,
delivery written against the Sink interface alone, and every module and package saying its one job."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

import poller

ROOT = Path(poller.__file__).parent
# Bottom to top: a module may import its own layer and the layers below it, never one above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("poller.core",)),  # pure: data in, data out
    ("foundation", ("poller", "poller.errors", "poller.clock", "poller.redaction", "poller.terminal", "poller.logs",
                    "poller.stopping", "poller.retry")),
    ("simulators", ("poller.simulators",)),  # stand-ins for the remote systems: they know nothing of the product
    ("config", ("poller.config",)),
    ("templates", ("poller.templates",)),  # the notification templates, loaded and checked at start-up
    ("store", ("poller.store",)),
    ("budget", ("poller.budget",)),
    ("delivery", ("poller.delivery",)),
    ("adapters", ("poller.partner_central", "poller.hubspot", "poller.slack", "poller.sns")),
    ("app", ("poller.app",)),
    ("run", ("poller.run",)),
    ("library", ("poller.notification_service", "poller.integration", "poller.eventbridge")),  # the seed's API, Lambda
    ("demo", ("poller.demo",)),
    ("commands", ("poller.commands",)),
    ("cli", ("poller.cli", "poller.__main__")),
)
SQL = re.compile(r"^\s*(SELECT\b|INSERT\s+(OR\s+\w+\s+)?INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b|CREATE\s+"
                 r"(TABLE|VIEW|INDEX|UNIQUE)\b|DROP\s+(TABLE|VIEW|INDEX)\b|ALTER\s+TABLE\b|PRAGMA\b|BEGIN\b|COMMIT\b"
                 r"|ROLLBACK\b)")
DATABASE_CALLS = {"execute", "executemany", "executescript", "query"}
DATABASE_OBJECTS = {"db", "conn", "connection", "cursor", "database"}  # what those calls are made on
CLOCK_READS = {("time", "time"), ("time", "monotonic"), ("time", "perf_counter"), ("time", "time_ns"),
               ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = ("poller", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)


FILES = sorted(ROOT.rglob("*.py"))
MODULES = {module_name(p): p for p in FILES}


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def imported(name: str) -> Iterator[tuple[str, int]]:
    """(module imported, line) for every import in a module: at the top, in functions, under TYPE_CHECKING."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield (submodule if submodule in MODULES else base), node.lineno


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for target, _line in imported(name):
            if target in MODULES and target != name:
                graph[name].add(target)
    return graph


def layer_of(name: str) -> int:
    best = max(((i, prefix) for i, (_label, prefixes) in enumerate(LAYERS) for prefix in prefixes
                if name == prefix or name.startswith(prefix + ".")), key=lambda found: len(found[1]), default=None)
    assert best is not None, f"{name} is in no layer: add it to LAYERS"
    return best[0]


def test_every_module_is_in_a_layer():
    assert len(MODULES) > 60
    for name in MODULES:
        layer_of(name)


def test_no_import_cycles():
    graph = edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" ↔ ".join(c) for c in cycles)


def test_no_upward_imports():
    upward = [f"{name}:{line} imports {target} ({LAYERS[layer_of(target)][0]} is above {LAYERS[layer_of(name)][0]})"
              for name in MODULES for target, line in imported(name)
              if target in MODULES and layer_of(target) > layer_of(name)]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize(("importer", "forbidden", "why"), [
    ("poller.delivery", "poller.hubspot", "the outbox protocol knows sinks only through the Sink interface"),
    ("poller.delivery", "hubspot", "the outbox protocol knows sinks only through the Sink interface"),
    ("poller.partner_central", "poller.hubspot", "adapters do not know each other"),
    ("poller.hubspot", "poller.partner_central", "adapters do not know each other"),
    ("poller.simulators", "poller.", "the simulators stand in for the remote systems (clock and core aside)"),
])
def test_walls(importer, forbidden, why):
    allowed = ("poller.simulators", "poller.clock", "poller.core") if importer == "poller.simulators" else ()
    found = [f"{name}:{line} imports {target}" for name, path in MODULES.items()
             if name == importer or name.startswith(importer + ".")
             for target, line in imported(name)
             if (target == forbidden or target.startswith(forbidden if forbidden.endswith(".") else forbidden + "."))
             and not target.startswith(allowed)]
    assert not found, f"{why}:\n" + "\n".join(found)


def test_only_the_demo_and_the_commands_start_simulators():
    found = [f"{name}:{line}" for name in MODULES for target, line in imported(name)
             if target.startswith("poller.simulators") and not name.startswith(
                 ("poller.simulators", "poller.demo", "poller.commands"))]
    assert not found, "\n".join(found)


def _outside(prefix: str) -> list[tuple[str, Path]]:
    return [(name, path) for name, path in MODULES.items() if not (name == prefix or name.startswith(prefix + "."))]


def _last_name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def test_sql_lives_in_the_store():
    found = []
    for name, path in _outside("poller.store"):
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found += [f"{name}:{node.lineno} imports {m}" for m in modules
                          if m.split(".")[0] in ("sqlite3", "sqlite_utils")]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DATABASE_CALLS
                  and _last_name(node.func.value) in DATABASE_OBJECTS):
                found.append(f"{name}:{node.lineno} calls .{node.func.attr}() on a database")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
                found.append(f"{name}:{node.lineno} holds SQL: {node.value[:40]!r}")
    assert not found, "\n".join(found)


def test_one_clock():
    """Wall and monotonic time are read in poller/clock.py only (the simulators keep the remote systems' clocks)."""
    found = []
    for name, path in _outside("poller.clock"):
        if name.startswith(("poller.simulators", "poller.core")):
            continue  # the core never reads a clock either: test_core_purity says so
        aliases = {"time": "time", "datetime": "datetime"}
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Import):
                aliases.update({a.asname or a.name: a.name for a in node.names if a.name in ("time", "datetime")})
            elif isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
                found += [f"{name}:{node.lineno} imports {node.module}.{a.name}" for a in node.names
                          if (node.module, a.name) in CLOCK_READS]
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name | ast.Attribute):
                owner = aliases.get(node.value.id, node.value.id) if isinstance(node.value, ast.Name) else node.value.attr
                if (owner, node.attr) in CLOCK_READS:
                    found.append(f"{name}:{node.lineno} reads {owner}.{node.attr}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_opens_with_its_job_in_one_line(name):
    doc = ast.get_docstring(tree(MODULES[name]))
    assert doc, f"{name} has no docstring"
    first = doc.strip().split("\n\n")[0]
    assert "\n" not in first, f"{name}: the docstring's first paragraph should be one line naming its job"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines: split it by responsibility"


def test_the_readme_layout_names_every_package_and_module():
    """The README's layout block lists every top-level package and module of poller/, and nothing that is gone."""
    readme = (ROOT.parent / "README.md").read_text()
    block = readme[readme.index("Layout (bottom to top"):]
    block = block[block.index("```\npoller/"):block.index("```", block.index("```\npoller/") + 3)]
    names = {p.name if p.is_dir() else p.name for p in ROOT.iterdir()
             if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))}
    missing = sorted(n for n in names if (n + "/" if (ROOT / n).is_dir() else n) not in block)
    assert not missing, f"README layout misses: {missing}"
    heads = [line[2:].split("  ")[0] for line in block.split("\nstate/")[0].splitlines() if re.match(r"  \S", line)]
    listed = {name.strip().removesuffix("/").removesuffix(".py") for head in heads for name in head.split(",")}
    gone = sorted(n for n in listed - {"poller"} if not (ROOT / n).is_dir() and not (ROOT / f"{n}.py").exists())
    assert not gone, f"README layout names what is not in poller/: {gone}"
