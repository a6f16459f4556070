"""Griffe extension: fpgakd's docstrings (prose, Sphinx roles, doctests) as clean Markdown.

The docstrings are written for ``help()`` and doctest, not for a renderer: a doctest line such
as ``>>> m["accuracy"]["W"]`` reads to Markdown as a reference link, and ``:class:`X``` roles
are Sphinx syntax. This extension, run by mkdocstrings while griffe reads the source
statically (nothing is imported), fences each run of doctest lines as a ``pycon`` code block
(without its ``# doctest:`` directives) and turns a role into inline code. The source
docstrings stay as they are.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_DOCTEST_DIRECTIVE = re.compile(r"\s*# doctest:.*$")
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`(~?)([^`]+)`")


def _role_as_code(match: re.Match) -> str:
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


def fence_doctests(text: str) -> str:
    """Each run of doctest lines (``>>>`` to the next blank line) in a ``pycon`` fence, without
    their ``# doctest:`` directives (they are for the test runner, not the reader).

    >>> fence_doctests("Text.\\n\\n>>> 1 + 1\\n2").splitlines()
    ['Text.', '', '```pycon', '>>> 1 + 1', '2', '```']
    >>> fence_doctests(">>> big()   # doctest: +SKIP").splitlines()[1]
    '>>> big()'
    """
    out: list[str] = []
    in_block = False
    indent = ""
    for line in text.splitlines():
        starts = line.lstrip().startswith(">>>")
        if not in_block and starts:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}```pycon")
            in_block = True
        elif in_block and not line.strip():
            out.append(f"{indent}```")
            in_block = False
        out.append(_DOCTEST_DIRECTIVE.sub("", line) if in_block else line)
    if in_block:
        out.append(f"{indent}```")
    return "\n".join(out)


class DocstringsAsMarkdown(griffe.Extension):
    """Fences doctests and turns Sphinx roles into code in every docstring griffe reads."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(_ROLE.sub(_role_as_code, obj.docstring.value))
