"""The package's import graph (read from the source with ast) has no cycle: no two modules
import each other, directly or through others, even inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fpgakd"


def _module_name(path: Path, package: Path) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def _imported(tree: ast.AST, modules: set[str]) -> set[str]:
    """The package's modules ``tree`` imports anywhere (``from pkg import sub`` counts as sub)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in modules:
                    out.add(sub)
                elif node.module in modules:
                    out.add(node.module)
    return out


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    paths = {_module_name(p, package): p for p in package.rglob("*.py")}
    return {name: _imported(ast.parse(p.read_text()), set(paths)) - {name} for name, p in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``: its strongly connected components of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_two_modules_import_each_other():
    assert cycles(import_graph()) == []


def test_the_check_sees_a_cycle_through_a_function_level_import(tmp_path):
    pkg = tmp_path / "fpgakd"
    (pkg / "scan").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "scan" / "__init__.py").write_text("")
    (pkg / "scan" / "a.py").write_text("from fpgakd.scan.b import f\n")
    (pkg / "scan" / "b.py").write_text("def f():\n    from fpgakd.scan import a\n")
    graph = import_graph(pkg)
    assert graph["fpgakd.scan.a"] == {"fpgakd.scan.b"} and graph["fpgakd.scan.b"] == {"fpgakd.scan.a"}
    assert cycles(graph) == [["fpgakd.scan.a", "fpgakd.scan.b"]]
