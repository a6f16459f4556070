"""The package reads as the pipeline: stage folders, light imports, data flowing one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fpgakd"
#: pipeline order; a module may import its own stage, an earlier one, or the shared modules
STAGES = ("jets", "learn", "firmware", "scan", "studies")
HEAVY = ("tensorflow", "qkeras", "hls4ml", "pythia8mc", "fastjet", "h5py", "dask", "da4ml")


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "fpgakd" and parts[1] in STAGES else None


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", ["fpgakd", "fpgakd.jets", "fpgakd.learn", "fpgakd.firmware",
                                     "fpgakd.scan", "fpgakd.studies", "fpgakd.cluster"])
def test_importing_a_package_imports_nothing_heavy(package):
    code = f"import sys, {package}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {package} pulled in {out.stdout.strip()}"


def test_no_module_imports_a_later_stage():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        own = _stage_of(".".join(rel.parts))
        if own is None:
            # shared modules import no stage at all; only the CLI (the porch) may
            if rel.parts[-1] != "cli" and rel.parts[1] not in STAGES:
                offenders += [f"{rel}: {m}" for m in _imports(path) if _stage_of(m)]
            continue
        for module in _imports(path):
            stage = _stage_of(module)
            if stage is not None and STAGES.index(stage) > STAGES.index(own):
                offenders.append(f"{rel}: {module}")
    assert offenders == []


def test_every_stage_is_a_folder():
    for stage in STAGES:
        assert (PACKAGE / stage / "__init__.py").is_file()
    assert sorted(p.stem for p in PACKAGE.glob("*.py")) == sorted(
        ["__init__", "_lazy", "atomic", "cache", "cli", "cluster", "config", "errors", "figures"])
