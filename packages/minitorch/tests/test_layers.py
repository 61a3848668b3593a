"""The facade's import graph: no circle among its modules, nothing imports the command line, and
no source file in the workspace grows past `MAX_LINES`."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"
WORKSPACE = Path(__file__).parents[3]
MAX_LINES = 700
ENTRY = "minitorch.__main__"
"""``python -m minitorch`` runs the command line: the one module allowed to import it."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "minitorch").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth (functions too), except under ``if TYPE_CHECKING``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skipped
    ]


def import_graph() -> dict[str, set[str]]:
    """Each module of the facade -> the facade's modules it imports (``from . import x`` counts
    as importing ``x``; importing a name from a package counts as importing the package)."""
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                wanted = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                subs = [f"{base}.{alias.name}" for alias in node.names]
                wanted = [s for s in subs if s in modules]
                if len(wanted) < len(subs):
                    wanted.append(base)
            for target in wanted:
                found = owner(target) if target.split(".")[0] == "minitorch" else None
                if found and found != name:
                    targets.add(found)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (each holds a circle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_the_import_graph_sees_the_layers() -> None:
    graph = import_graph()
    assert "minitorch.settings" in graph["minitorch.runs"]
    assert "minitorch.runs" in graph["minitorch.cli"]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_module_of_the_facade_imports_another_in_a_circle() -> None:
    assert cycles(import_graph()) == []


def test_nothing_imports_the_command_line() -> None:
    importers = [m for m, targets in import_graph().items() if "minitorch.cli" in targets]
    assert importers == [ENTRY]


def test_no_source_file_is_over_the_line_limit() -> None:
    sources = [
        p
        for p in WORKSPACE.glob("packages/*/src/**/*.py")
        if not any(part.startswith(".") for part in p.parts)
    ]
    assert sources
    long = {
        str(p.relative_to(WORKSPACE)): n
        for p in sources
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
