"""Layers only point down (issue 20 item 4): every import in ``src/vlmbench`` -- module level or
inside a function, absolute or relative, or a ``"vlmbench.x.y"`` module path in a string (a
registry's lazy import) -- goes to its own package or to a package in a LOWER layer, and no two
modules import each other through any chain. The layer order is declared here, once;
ARCHITECTURE.md points at it. A new package goes into the layer where it belongs.

Read from the source with ``ast`` (nothing is imported), so the check is fast and sees imports a
function would only run later.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
TOP = "vlmbench"  # the top package itself: vlmbench/__init__.py, the public Python API

# Top to bottom. A package may import its own modules and any package in a lower layer; packages
# in one layer are siblings that do not import each other. A module directly in src/vlmbench/
# (config.py, errors.py, version.py, __main__.py) is a "package" of its own name.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),
    ("cli",),
    (TOP,),
    ("api",),  # the public Python API (run, load, report, compare) that vlmbench/__init__.py exposes
    ("archive_site",),  # the archive's static site: reads the archive, renders with report's pages
    ("runner", "report", "archive", "predict"),
    ("analysis",),  # statistics shared by report, archive and predict (reads backend capabilities)
    ("executors",),  # how jobs run (local, Ray)
    ("jobs",),  # one model's job: workers, fork server, rows
    ("backends",),
    ("engines",),  # serving engines vlmbench starts: install, model-folder export, supervisor, recipes
    ("catalog", "measure", "metrics", "promptset"),
    ("archs", "results"),
    ("config",),
    ("options",),  # the typed run options, per backend (config.RunConfig holds them)
    ("vocab", "errors", "version"),
)
LEVEL = {pkg: level for level, layer in enumerate(LAYERS) for pkg in layer}
MODULE_PATH = re.compile(r"^vlmbench(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted((SRC / TOP).rglob("*.py"))}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else TOP


def imports_of(module: str) -> set[str]:
    """The vlmbench modules ``module`` imports (the innermost module each import names)."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()

    def add(name: str) -> None:
        while name and name not in MODULES:  # an attribute of a module: the module
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:  # ``from vlmbench.report import statistics`` names a module
                add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_PATH.match(node.value):
            add(node.value)
    return {m for m in found if m.split(".")[0] == TOP}


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_package_has_a_layer():
    packages = {package_of(m) for m in MODULES}
    assert packages - set(LEVEL) == set(), "declare the new package's layer in LAYERS"
    assert set(LEVEL) - packages == set(), "LAYERS names a package that does not exist"
    assert len(LEVEL) == sum(len(layer) for layer in LAYERS), "a package is declared twice"


def test_imports_only_point_down():
    upward = sorted(
        f"{module} -> {target}  ({package_of(module)} is at layer {LEVEL[package_of(module)]}, "
        f"{package_of(target)} at {LEVEL[package_of(target)]})"
        for module, targets in GRAPH.items() for target in targets
        if package_of(target) != package_of(module) and LEVEL[package_of(target)] <= LEVEL[package_of(module)]
    )
    assert upward == [], "imports that do not point to a lower layer:\n" + "\n".join(upward)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one node (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
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
                    components.append(sorted(component))
    return components


def test_no_import_cycles_between_modules_or_packages():
    assert strongly_connected(GRAPH) == []
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        packages.setdefault(package_of(module), set()).update(
            package_of(t) for t in targets if package_of(t) != package_of(module))
    assert strongly_connected(packages) == []


@pytest.mark.parametrize("source, allowed", [
    ("from vlmbench.report.html import esc\n", False),  # archive -> report: siblings
    ("from vlmbench.runner import run_benchmark\n", False),  # archive -> runner: siblings
    ("from vlmbench.results.frame import load\n", True),  # archive -> results: down
])
def test_the_check_sees_what_it_must(source, allowed, tmp_path, monkeypatch):
    """The checker itself: a sibling or upward import in a module is caught, a downward one is not;
    a two-module cycle is found."""
    path = MODULES["vlmbench.archive.gate"]
    monkeypatch.setitem(MODULES, "vlmbench.archive.gate", tmp_path / "gate.py")
    (tmp_path / "gate.py").write_text(source + path.read_text())
    targets = imports_of("vlmbench.archive.gate")
    bad = [t for t in targets if package_of(t) != "archive" and LEVEL[package_of(t)] <= LEVEL["archive"]]
    assert bool(bad) is not allowed
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []
