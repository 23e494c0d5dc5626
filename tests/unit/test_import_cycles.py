"""No import cycle among the modules of app/ and core/, read from the source with `ast` (every import counts:
deferred ones inside functions and TYPE_CHECKING ones too).

A cycle is a design smell before it is a crash: the console's screens post messages (app/tui/messages.py) and
the app, which imports the screens, routes them; no screen imports the app or reaches it through a helper."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from repo_paths import REPO

PACKAGES = ("app", "core")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def imports_of(name: str, path: Path, known: Mapping[str, Path]) -> set[str]:
    """The known modules `name` imports: `import P.m` gives P.m; `from P import x` gives P.x when that is a
    module, else P (x is defined in P's __init__). Parent packages are not counted: a package's __init__
    that re-exports its own modules (a facade) is not a cycle with them."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            edges.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                edges.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source)
    return {e for e in edges if e in known and e != name}


def graph(root: Path = REPO, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    known = modules(root, packages)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def cycles_within(scope: str) -> list[list[str]]:
    inside = lambda name: name == scope or name.startswith(f"{scope}.")  # noqa: E731
    edges = {name: {t for t in targets if inside(t)} for name, targets in graph().items() if inside(name)}
    assert edges, scope
    return cycles(edges)


@pytest.mark.parametrize("scope", ["core", "app.tui", "app"])
def test_no_import_cycle(scope: str) -> None:
    assert cycles_within(scope) == []


def test_screens_do_not_import_the_app() -> None:
    edges = graph()
    screens = [name for name in edges if name.startswith("app.tui.screens.")]
    assert screens
    for name in screens:
        assert "app.tui.app" not in edges[name], name


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    """The finder itself: a deferred import inside a function, a relative import, and a name taken from a
    package's __init__ that imports the taker each close a cycle; a facade __init__ alone does not."""
    pkg = tmp_path / "app"
    (pkg / "tui").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "tui" / "__init__.py").write_text("from app.tui.main import run\n")
    (pkg / "tui" / "main.py").write_text("from .screen import Screen\nfrom app.tui import helper\n")
    (pkg / "tui" / "screen.py").write_text("def f():\n    from app.tui import run\n")
    (pkg / "tui" / "helper.py").write_text("")
    (pkg / "leaf.py").write_text("def g():\n    from app import other\n")
    (pkg / "other.py").write_text("from . import leaf\n")
    assert sorted(cycles(graph(tmp_path, ["app"]))) == [["app.leaf", "app.other"],
                                                        ["app.tui", "app.tui.main", "app.tui.screen"]]
    (pkg / "tui" / "screen.py").write_text("def f():\n    from app.tui import helper\n")
    assert cycles(graph(tmp_path, ["app"])) == [["app.leaf", "app.other"]]
