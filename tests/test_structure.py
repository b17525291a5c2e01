"""The project's structure: one repository URL, a one-way import graph, small modules."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections import deque
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "utils"
MAX_MODULE_LINES = 400  # DESIGN.md: modules are small and flat
COLAB = "https://colab.research.google.com/github/"
URL = re.compile(r"""https?://[^\s"'<>()\[\]\\]+""")
CLONE = re.compile(r"git clone\s+(?:-\S+\s+)*(\S+)")


def project_url() -> str:
    """The repository URL of ``[project.urls]`` in pyproject.toml."""
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert urls["Repository"] == urls["Homepage"], "pyproject: Repository and Homepage differ"
    return urls["Repository"]


def documents() -> dict[str, str]:
    """README.md and the source of every notebook cell, by file name relative to the root."""
    docs = {"README.md": (ROOT / "README.md").read_text()}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        docs[path.relative_to(ROOT).as_posix()] = "\n".join("".join(c["source"]) for c in cells)
    return docs


def test_every_colab_link_and_clone_uses_the_project_url() -> None:
    repo = project_url()
    colab_prefix = COLAB + repo.removeprefix("https://github.com/") + "/blob/main/"
    project_name = repo.rstrip("/").rsplit("/", 1)[-1]
    wrong, colab_links, clones = [], 0, 0
    for name, text in documents().items():
        for url in URL.findall(text):
            if url.startswith(COLAB):
                colab_links += 1
                if not url.startswith(colab_prefix):
                    wrong.append(f"{name}: Colab link {url} (want {colab_prefix}...)")
                elif not (ROOT / url.removeprefix(colab_prefix)).is_file():
                    wrong.append(f"{name}: Colab link {url} points to a file that does not exist")
            elif project_name in url and not (url == repo or url.startswith(repo + "/")):
                wrong.append(f"{name}: {url} is not {repo}")
        for url in CLONE.findall(text):
            clones += 1
            if url != repo:
                wrong.append(f"{name}: git clone {url} (want {repo})")
    n_notebooks = len(list((ROOT / "notebooks").glob("*.ipynb")))
    assert colab_links >= 2 * n_notebooks, "expected a Colab badge per notebook in it and README"
    assert clones >= n_notebooks, "expected a git clone in every notebook's set-up cell"
    assert not wrong, "\n".join(wrong)


# --------------------------------------------------------------------------- import graph
def module_name(path: Path) -> str:
    """Dotted name: ``utils/viz/common.py`` -> ``utils.viz.common``, a package by its folder."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The package module that importing ``name`` runs: itself, or its nearest parent module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported_modules(module: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """Package modules that ``module`` imports anywhere (functions included), with a line each."""
    is_package = path.name == "__init__.py"
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from its own package, one level up per extra dot
                package = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{node.module}" if node.module else package
            else:
                base = node.module or ""
            # "from utils import x" imports the module utils.x when there is one
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names
            ]
        for target in targets:
            resolved = _resolve(target, modules)
            if resolved and resolved != module and resolved.split(".")[0] == "utils":
                found.setdefault(resolved, node.lineno)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    """``module -> {imported module: line}`` for the whole package."""
    modules = source_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (the import loops)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return loops


def shortest_cycle(graph: dict[str, dict[str, int]], start: str, within: set[str]) -> list[str]:
    """A shortest import path from ``start`` back to itself inside one loop."""
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(graph[v]):
            if w not in within:
                continue
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if w not in parent:
                parent[w] = v
                queue.append(w)
    return [start]


def describe(graph: dict[str, dict[str, int]], loop: list[str]) -> str:
    """One loop: its modules, and one cycle through it with the file and line of each import."""
    cycle = shortest_cycle(graph, loop[0], set(loop))
    modules = source_modules()
    steps = [
        f"    {a} -> {b}  ({modules[a].relative_to(ROOT)}:{graph[a][b]})"
        for a, b in zip(cycle, cycle[1:], strict=False)
    ]
    return f"loop through {', '.join(loop)}:\n" + "\n".join(steps)


def test_import_graph_helpers_resolve_and_find_loops() -> None:
    modules = source_modules()
    assert modules["utils.viz"].name == "__init__.py" and "utils.viz.common" in modules
    viz = imported_modules("utils.viz", modules["utils.viz"], modules)
    assert "utils.viz.common" in viz  # "from utils.viz.common import ..." resolved
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3, "d": 4}, "d": {}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert shortest_cycle(graph, "a", {"a", "b", "c"}) == ["a", "b", "c", "a"]


def test_relative_and_from_package_imports_resolve(tmp_path: Path) -> None:
    fake = {"utils": tmp_path / "__init__.py", "utils.viz": tmp_path / "viz" / "__init__.py"}
    fake |= {"utils.viz.common": tmp_path / "viz" / "common.py", "utils.labels": tmp_path / "l.py"}
    (tmp_path / "viz").mkdir()
    fake["utils.viz.common"].write_text(
        "from utils import labels\nfrom .. import viz\ndef f():\n    from . import common\n"
    )
    fake["utils.viz"].write_text("from .common import x\nfrom ..labels import y\n")
    assert imported_modules("utils.viz.common", fake["utils.viz.common"], fake) == {
        "utils.labels": 1,
        "utils.viz": 2,
    }
    assert imported_modules("utils.viz", fake["utils.viz"], fake) == {
        "utils.viz.common": 1,
        "utils.labels": 2,
    }


def test_utils_has_no_import_loops() -> None:
    graph = import_graph()
    loops = strongly_connected(graph)
    assert not loops, "import loops in utils (imports inside functions count):\n" + "\n".join(
        describe(graph, loop) for loop in loops
    )


@pytest.mark.parametrize("module", ["utils.labels", "utils.runio", "utils.sampling"])
def test_foundation_modules_import_nothing_from_utils(module: str) -> None:
    assert import_graph()[module] == {}


def test_colours_imports_only_the_label_table_and_run_io() -> None:
    assert set(import_graph()["utils.colours"]) <= {"utils.labels", "utils.runio"}


def test_no_module_is_longer_than_the_limit() -> None:
    lengths = {p.relative_to(ROOT): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    long = {str(p): n for p, n in sorted(lengths.items()) if n > MAX_MODULE_LINES}
    assert not long, f"modules longer than {MAX_MODULE_LINES} lines: " + ", ".join(
        f"{p} ({n} lines)" for p, n in long.items()
    )
