"""The source keeps its shape: no function grows past 100 lines (the Keras layers once hid in one)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fpgakd"
MAX_FUNCTION_LINES = 100


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    return [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > limit]


def test_no_function_is_longer_than_100_lines():
    found = [f"{path.relative_to(PACKAGE.parent)}: {name} ({n} lines)" for path in sorted(PACKAGE.rglob("*.py"))
             for name, n in long_functions(path.read_text())]
    assert found == []


def test_the_check_sees_a_long_function():
    source = "def f():\n" + "    x = 1\n" * 100
    assert long_functions(source) == [("f", 101)]
