"""Verilator's run-time library, compiled once per Verilator and compiler and then linked from
fpgakd's cache.

Every design fpgakd verilates is built with one set of flags, so the run-time library that
Verilator compiles beside each design (``verilated.cpp``, ``verilated_threads.cpp``, about
3.5 s of CPU at -O0) is the same object code every time. The first build in an environment
stores its ``libverilated.a``; later builds leave the library's sources out of the design's
makefile and link the stored archive instead.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

from fpgakd.atomic import atomic_path
from fpgakd.cache import cache_dir
from fpgakd.firmware.build_cache import compiler_version

__all__ = ["runtime_archive", "store_runtime_archive", "use_runtime_archive"]

log = logging.getLogger(__name__)

#: the folder under fpgakd's cache, one subfolder per Verilator, compiler and flags
RUNTIME_DIR = "verilator_runtime"
#: the archive Verilator's makefile builds in obj_dir from the run-time sources
ARCHIVE_NAME = "libverilated.a"
#: makefile variables that leave the run-time sources out of a design's build
_NO_RUNTIME_SOURCES = "VM_GLOBAL_FAST= VM_GLOBAL_SLOW="


def _compiler_version(env: dict[str, str]) -> str:
    cxx = env.get("CXX", "c++")
    return compiler_version(cxx, env) or f"{cxx} (version unknown)"


def runtime_archive(env: dict[str, str], build_flags: str) -> Path:
    """Where the run-time archive for this Verilator (``VERILATOR_ROOT`` in ``env``), this
    compiler and these build flags is kept (it may not exist yet).

    >>> runtime_archive({"VERILATOR_ROOT": "/v", "CXX": "true"}, "-O0").name
    'libverilated.a'
    """
    root = Path(env["VERILATOR_ROOT"])
    source = root / "include" / "verilated.cpp"
    stamp = source.stat().st_mtime_ns if source.is_file() else 0
    key = "\n".join([str(root.resolve()), str(stamp), _compiler_version(env), build_flags])
    return cache_dir() / RUNTIME_DIR / hashlib.sha256(key.encode()).hexdigest()[:16] / ARCHIVE_NAME


def use_runtime_archive(env: dict[str, str], archive: Path) -> None:
    """Set ``env`` for da4ml's binder makefile to link ``archive`` instead of compiling the
    run-time library (the design's own ``libverilated.a`` is then empty)."""
    env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} {_NO_RUNTIME_SOURCES}".strip()
    env["EXTRA_CXXFLAGS"] = f"{env.get('EXTRA_CXXFLAGS', '')} {archive}".strip()


def store_runtime_archive(obj_dir: Path, archive: Path) -> None:
    """Keep the run-time archive a full build left in ``obj_dir`` (written under a temporary
    name and renamed, so a build beside this one finds it whole or not at all). Best effort:
    a cache that cannot be written only means the next build compiles the library again."""
    built = obj_dir / ARCHIVE_NAME
    if not built.is_file() or archive.is_file():
        return
    try:
        with atomic_path(archive) as tmp:
            shutil.copyfile(built, tmp)
    except OSError as err:
        log.info("Verilator's run-time library not cached (%s): the next build compiles it again", err)
