"""The front page, CI and the docs agree: one test command, a short README, no stale result files."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def _test_command_in_readme() -> str:
    commands = [b for b in _bash_blocks((ROOT / "README.md").read_text()) if ".[test]" in b]
    assert len(commands) == 1, f"expected one test command in README.md, found {len(commands)}"
    return commands[0].strip()


def test_readme_test_command_is_what_ci_runs() -> None:
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line and not line.startswith("#")]
    assert _test_command_in_readme() in ci_lines


def test_ci_runs_slow_tests_and_the_strict_docs_build() -> None:
    command = _test_command_in_readme()
    assert "pytest -ra --runslow" in command
    assert command.endswith("mkdocs build --strict")


def _install_lines(text: str) -> set[str]:
    return {line.strip() for block in _bash_blocks(text) for line in block.splitlines()
            if line.startswith("python3.11 -m venv")}


def test_the_docs_copy_the_readme_install_commands_word_for_word() -> None:
    readme = _install_lines((ROOT / "README.md").read_text())
    assert len(readme) == 2   # the main job's and the tests'
    for page in ("install.md", "developer.md"):
        copies = _install_lines((DOCS / page).read_text())
        assert copies and copies <= readme, f"docs/{page}: {copies - readme}"


def test_readme_is_a_front_page() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_readme_links_point_at_files() -> None:
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(((?:docs|scans|studies)/[^)#]+)", text)
    assert targets
    missing = [t for t in targets if not (ROOT / t).is_file()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_every_result_file_is_shown_on_a_page() -> None:
    pages = "\n".join(p.read_text() for p in DOCS.rglob("*.md"))
    used = set(re.findall(r"^\s*<!--\s*table:\s*(\S+)\s*-->", pages, flags=re.M))
    files = {p.relative_to(DOCS).as_posix() for p in (DOCS / "results").glob("*.csv")}
    assert files, "no result files under docs/results"
    assert files == used, f"unused: {sorted(files - used)}; missing: {sorted(used - files)}"


#: top-level folders that are outputs, not part of the repository's layout
_OUTPUT_DIRS = {"site", "runs", "bench_runs", "build", "dist", "venv", "__pycache__"}


def test_developer_layout_names_every_top_level_folder() -> None:
    text = (DOCS / "developer.md").read_text()
    block = re.search(r"## Layout\n.*?```\n(.*?)\n```", text, flags=re.S)
    assert block, "docs/developer.md has no layout block"
    listed = {line.split()[0].rstrip("/") for line in block.group(1).splitlines() if line.strip()}
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")
               and p.name not in _OUTPUT_DIRS and not p.name.endswith(".egg-info")}
    assert folders <= listed, f"not in the layout of docs/developer.md: {sorted(folders - listed)}"
    assert {name for name in listed if "." not in name and "," not in name} <= folders


def _hook(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, DOCS / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_keys_table_lists_nested_keys_with_defaults_and_comments() -> None:
    from fpgakd.config import ModelConfig

    table = _hook("fpgakd_docs").keys_table(ModelConfig)
    row = next(line for line in table.splitlines() if line.startswith("| `training.split_seed`"))
    assert "| int | `0` |" in row and "students of" in row
    assert "| `name` | string | required |" in table


def test_options_table_is_the_parser(tmp_path: Path) -> None:
    hook = _hook("fpgakd_docs")
    table = hook.options_table("distill")
    assert "| `--model` | `constituent_mlp` |" in table
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match="no such subcommand"):
        hook.options_table("distil")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1\n")
    with pytest.raises(PluginError, match="do not have 2 cells"):
        hook.csv_table(ragged)


def test_doctests_become_code_blocks() -> None:
    fence = _hook("griffe_docstrings").fence_doctests
    assert fence("Text.\n\n>>> x['a']['b']\n1\n\nMore.").splitlines() == [
        "Text.", "", "```pycon", ">>> x['a']['b']", "1", "```", "", "More."]


@dataclasses.dataclass(frozen=True)
class _Documented:
    #: how many
    count: int = 1
    undocumented: float = 0.5


def test_a_key_without_a_meaning_fails_the_build() -> None:
    from mkdocs.exceptions import PluginError

    hook = _hook("fpgakd_docs")
    rows = hook.key_rows(_Documented, meanings={"_Documented": {"undocumented": "a fraction"}})
    assert rows[0] == ["`count`", "int", "`1`", "how many"] and rows[1][3] == "a fraction"
    with pytest.raises(PluginError, match="'undocumented'"):
        hook.key_rows(_Documented, meanings={})
