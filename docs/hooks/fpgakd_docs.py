"""MkDocs hook: the parts of the docs that the repository already states, generated at build time.

Directives are HTML comments on a line of their own in a page's Markdown, replaced here:

* ``<!-- table: results/NAME.csv -->`` -- a Markdown table from a CSV file under ``docs/``
  (the header row is the table's header; cells are Markdown, kept as written);
* ``<!-- keys: fpgakd.config.ModelConfig -->`` -- every key of a YAML kind, from its frozen
  dataclass: dotted key, type, default and the ``#:`` comment above the field, else the
  field's entry in ``docs/config/meanings.yaml`` (nested sections are expanded; a section's
  meaning is its class docstring's first sentence);
* ``<!-- cli: distill -->`` (or ``<!-- cli: study boost -->``) -- the options of one
  ``fpgakd`` subcommand, from :func:`fpgakd.cli.build_parser`;
* ``<!-- files: models -->`` -- the YAML files of a folder, each with its leading comment;
* ``<!-- modules: fpgakd -->`` -- a mkdocstrings ``::: fpgakd.NAME`` block for each public
  module directly in the package (not its sub-packages), so a new shared module gets its page;
* ``<!-- layout: fpgakd -->`` -- the package's modules with the first line of each docstring,
  read from the source tree (no import), so the listing follows the files.

Figures stay where the README always had them (``scans/figures``, ``studies/figures``): they
are added to the site from there. The build fails (not a warning) when a directive names a
file, class or command that does not exist, when a YAML key has no meaning, or when a
subcommand has no ``cli`` directive on any page, so the docs cannot silently fall behind the
code.

Why these are imported, not parsed: the config and CLI modules are light (PyYAML, argparse
and numpy; importing them imports no TensorFlow), and the dataclasses themselves are
the declaration the docs describe.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import importlib
import inspect
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: meanings of YAML keys whose field has no ``#:`` comment, by dataclass and field
MEANINGS = DOCS / "config" / "meanings.yaml"
#: repository folders whose PNGs the pages show, published under the same relative path
FIGURE_DIRS = ("scans/figures", "studies/figures")
_DIRECTIVE = re.compile(r"^([ \t]*)<!--\s*(table|keys|cli|layout|files|modules):\s*(.+?)\s*-->[ \t]*$", re.MULTILINE)
_documented_commands: set[str] = set()


# ------------------------------------------------------------------ mkdocs events
def on_config(config: Any) -> Any:
    # the docs describe this checkout's fpgakd, whatever else is installed
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    _documented_commands.clear()
    return config


def on_files(files: Files, config: Any) -> Files:
    for folder in FIGURE_DIRS:
        for png in sorted((ROOT / folder).glob("*.png")):
            uri = f"{folder}/{png.name}"
            files.append(File.generated(config, uri, abs_src_path=str(png)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    where = page.file.src_uri

    def replace(match: re.Match) -> str:
        indent = match.group(1)  # a table inside a list item keeps the item's indentation
        text = _expand(match.group(2), match.group(3), where)
        return "\n".join(indent + line if line else line for line in text.split("\n"))

    return _DIRECTIVE.sub(replace, markdown)


def on_post_build(config: Any) -> None:
    missing = sorted(set(_subcommands()) - _documented_commands)
    if missing:
        raise PluginError(f"fpgakd subcommands without a '<!-- cli: ... -->' page: {', '.join(missing)}")


def _expand(kind: str, arg: str, where: str) -> str:
    try:
        if kind == "table":
            return csv_table(DOCS / arg)
        if kind == "keys":
            return keys_table(_import_object(arg))
        if kind == "cli":
            _documented_commands.add(arg)
            return options_table(arg)
        if kind == "files":
            return yaml_listing(ROOT / arg)
        if kind == "modules":
            return api_directives(arg)
        return module_listing(ROOT / arg.replace(".", "/"))
    except PluginError as err:
        raise PluginError(f"{where}: '{kind}: {arg}': {err}") from None


# ------------------------------------------------------------------ tables from CSV
def _cell(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ").strip()


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; ``|`` in a cell is escaped.

    >>> print(markdown_table(["a", "b"], [["1", "x|y"]]))
    | a | b |
    |---|---|
    | 1 | x\\|y |
    """
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def csv_table(path: Path) -> str:
    """The CSV file at ``path`` as a Markdown table (first row: the header)."""
    if not path.is_file():
        raise PluginError(f"no such data file {_shown(path)}")
    with path.open(newline="") as fh:
        rows = [row for row in csv.reader(fh) if row]
    if not rows:
        raise PluginError(f"{_shown(path)} is empty")
    bad = [i + 1 for i, row in enumerate(rows) if len(row) != len(rows[0])]
    if bad:
        raise PluginError(f"{_shown(path)}: rows {bad} do not have {len(rows[0])} cells")
    return markdown_table(rows[0], rows[1:])


# ------------------------------------------------------------------ YAML keys from dataclasses
def _import_object(dotted: str) -> Any:
    module_name, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as err:
        raise PluginError(f"cannot import {dotted} ({err})") from None


def _field_comments(cls: type) -> dict[str, str]:
    """The ``#:`` comment lines just above each field of ``cls``, joined."""
    lines = inspect.getsource(cls).splitlines()
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in lines[1:]:
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = re.match(r"(\w+)\s*:", stripped)
        if match and line.startswith("    ") and not line.startswith("     ") and pending:
            comments[match.group(1)] = " ".join(pending)
        pending = []
    return comments


_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`~?([^`]+)`")


def rst_to_markdown(text: str) -> str:
    """Sphinx roles and ``double backticks`` as Markdown inline code.

    >>> rst_to_markdown("see :func:`~fpgakd.scan.run_scan` and ``x``")
    'see `fpgakd.scan.run_scan` and `x`'
    """
    return _ROLE.sub(r"`\1`", text).replace("``", "`")


def plain_text(text: str) -> str:
    """Prose from code (comments, help texts) made safe for Markdown: outside inline code, ``*``
    is escaped (``alpha*CE`` is no emphasis) and ``<``, ``>`` become entities (``runs/<name>``
    is no HTML tag).

    >>> plain_text("a*b runs/<name> `c*d <e>`")
    'a\\\\*b runs/&lt;name&gt; `c*d <e>`'
    """
    parts = text.split("`")
    return "`".join(p.replace("*", "\\*").replace("<", "&lt;").replace(">", "&gt;") if i % 2 == 0 else p
                    for i, p in enumerate(parts))


def _first_sentence(text: str | None) -> str:
    text = " ".join((text or "").split())
    # a full stop ends the sentence; "e.g." and "i.e." do not
    match = re.match(r"(.+?(?<!e\.g)(?<!i\.e)\.)(\s|$)", text)
    return match.group(1) if match else text


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return " or ".join(_type_name(a) for a in inner) + (" or null" if len(inner) < len(args) else "")
    if origin is tuple:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {_type_name(args[1])}" if len(args) == 2 and args[1] is not Any else "mapping"
    if dataclasses.is_dataclass(hint):
        return "section"
    if hint is Any:
        return "any"
    return {bool: "bool", int: "int", float: "float", str: "string"}.get(hint, getattr(hint, "__name__", str(hint)))


def _yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return f"`{_yaml_value(f.default)}`"
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
        return "" if dataclasses.is_dataclass(value) else f"`{_yaml_value(value)}`"
    return "required"


def _meanings() -> dict[str, dict[str, str]]:
    import yaml

    return yaml.safe_load(MEANINGS.read_text()) or {}


def key_rows(cls: type, prefix: str = "", meanings: dict | None = None) -> list[list[str]]:
    """One row per key of dataclass ``cls`` (nested sections expanded): key, type, default, meaning.

    A key's meaning is the ``#:`` comment above its field, else its entry in
    ``docs/config/meanings.yaml``; a key with neither fails the build.
    """
    meanings = _meanings() if meanings is None else meanings
    hints = typing.get_type_hints(cls)
    comments = {**meanings.get(cls.__name__, {}), **_field_comments(cls)}
    rows = []
    # flat fields a class writes under a YAML section (a teacher's ``training:``)
    section_of = {name: section for section, names in getattr(cls, "SECTIONS", {}).items() for name in names}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        key = f"{prefix}{section_of[f.name] + '.' if f.name in section_of else ''}{f.name}"
        if dataclasses.is_dataclass(hint):
            rows.append([f"`{key}`", "section", "", comments.get(f.name) or _first_sentence(hint.__doc__)])
            rows += key_rows(hint, f"{key}.", meanings)
        elif f.name not in comments:
            raise PluginError(f"key '{key}' ({cls.__name__}.{f.name}) has no meaning: add a '#:' comment "
                              f"above the field, or an entry in {MEANINGS.relative_to(ROOT)}")
        else:
            rows.append([f"`{key}`", _type_name(hint), _default(f), comments[f.name]])
    return rows


def keys_table(cls: Any) -> str:
    """Every key of the YAML kind declared by dataclass ``cls``, as a Markdown table."""
    if not dataclasses.is_dataclass(cls):
        raise PluginError(f"{cls!r} is not a dataclass")
    rows = [[k, t, d, plain_text(rst_to_markdown(m)).replace("|", "\\|")] for k, t, d, m in key_rows(cls)]
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------ CLI options from argparse
def _subparsers(parser: Any) -> dict[str, Any]:
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            return dict(action.choices)
    return {}


def _subcommands() -> dict[str, Any]:
    """Every runnable subcommand of ``fpgakd`` by its words (``distill``, ``study boost``)."""
    from fpgakd.cli import build_parser

    found: dict[str, Any] = {}
    for name, parser in _subparsers(build_parser()).items():
        nested = _subparsers(parser)
        if nested:
            found.update({f"{name} {sub}": p for sub, p in nested.items()})
        else:
            found[name] = parser
    return found


def options_table(command: str) -> str:
    """The usage line and options of ``fpgakd COMMAND``, as Markdown."""
    from fpgakd.cli import build_parser

    parsers = {"global": build_parser(), **_subcommands()}
    if command not in parsers:
        raise PluginError(f"no such subcommand; known: {', '.join(sorted(parsers))}")
    parser = parsers[command]
    rows = []
    for action in parser._actions:
        skipped = ("_HelpAction", "_SubParsersAction", "_VersionAction")
        if action.help == "==SUPPRESS==" or action.__class__.__name__ in skipped:
            continue
        names = ", ".join(f"`{s}`" for s in action.option_strings) or f"`{action.metavar or action.dest}`"
        default = action.default
        shown = "" if default in (None, False) or action.option_strings == [] else f"`{_yaml_value(default)}`"
        if action.choices and not isinstance(action.choices, dict):
            names += " {" + ", ".join(map(str, action.choices)) + "}"
        rows.append([names, shown, plain_text(" ".join((action.help or "").split()))])
    table = markdown_table(["option", "default", "meaning"], rows)
    if command == "global":
        return table
    usage = " ".join(parser.format_usage().split()).removeprefix("usage: ")
    usage = usage.replace("fpgakd ", "fpgakd [-q] [-v] ", 1)
    return f"```\n{usage}\n```\n\n{table}"


# ------------------------------------------------------------------ the package's modules
def _docstring_line(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text()))
    return plain_text(rst_to_markdown(_first_sentence(doc.split("\n\n")[0]))) if doc else ""


def module_listing(package: Path) -> str:
    """Each sub-package of ``package`` with its modules and their first docstring line, as Markdown."""
    if not (package / "__init__.py").is_file():
        raise PluginError(f"{package.relative_to(ROOT)} is not a package")
    out = []
    for init in sorted(package.rglob("__init__.py")):
        folder = init.parent
        if "__pycache__" in folder.parts:
            continue
        rel = folder.relative_to(ROOT).as_posix()
        out.append(f"**`{rel}/`**: {_docstring_line(init)}\n")
        rows = [[f"`{m.name}`", _docstring_line(m)] for m in sorted(folder.glob("*.py"))
                if m.name != "__init__.py"]
        out.append(markdown_table(["module", "what it does"], rows) + "\n")
    return "\n".join(out)


# ------------------------------------------------------------------ the YAML files of a folder
def _leading_comment(path: Path) -> str:
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


def yaml_listing(folder: Path) -> str:
    """Each YAML file of ``folder`` with its leading comment, as a Markdown table."""
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise PluginError(f"no YAML files in {folder.relative_to(ROOT)}")
    rows = [[f"`{f.stem}`", plain_text(_leading_comment(f))] for f in files]
    return markdown_table(["name", "what it is (the leading comment of its file)"], rows)


# ------------------------------------------------------------------ API blocks for a package's own modules
def api_directives(package: str) -> str:
    """mkdocstrings blocks for the public modules directly in ``package`` (sub-packages have pages of their own)."""
    folder = ROOT / package.replace(".", "/")
    if not (folder / "__init__.py").is_file():
        raise PluginError(f"{package} is not a package")
    names = [m.stem for m in sorted(folder.glob("*.py")) if not m.stem.startswith("_")]
    return "\n\n".join(f"::: {package}.{name}" for name in names)
