"""Compiled C-simulation testbenches, kept in fpgakd's cache by what the compiler reads.

Outside synthesis an hls4ml project declares its weight arrays without values and reads them
from ``firmware/weights/*.txt`` when the program starts, so the testbench binary depends on
the network's layers and fixed-point types, not on its weights: a student synthesized again
(another part, another run directory), or another training whose layers come out with the same
types, compiles the same program (hls4ml infers the accumulators' types from the weights, so
two trainings of one student often differ in one). The key is
the compiler's version, the flags and every source as the compiler sees it (preprocessed,
without line markers; about 0.1 s a source), so a project whose code differs in any way (a
width, a type, weights compiled into the code as da4ml's adder graphs are) compiles anew.
The folder keeps the most recently used builds up to :data:`MAX_CACHE_BYTES`; a store past it
removes the ones used longest ago.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Sequence

from fpgakd.atomic import atomic_path
from fpgakd.cache import cache_dir

__all__ = ["build_key", "compiler_version", "restore_build", "store_build", "trim_builds", "BUILD_CACHE_ENV",
           "MAX_CACHE_BYTES"]

log = logging.getLogger(__name__)

#: the folder under fpgakd's cache, one file per key
BUILDS_DIR = "csim_builds"
#: builds are neither read from nor written to the cache when this environment variable is "0"
BUILD_CACHE_ENV = "FPGAKD_BUILD_CACHE"
#: the folder's size past which the builds used longest ago go: a small student's testbench
#: is 0.1-0.3 MB, so this keeps about a thousand of them
MAX_CACHE_BYTES = 256 * 2**20


def _enabled() -> bool:
    return os.environ.get(BUILD_CACHE_ENV, "1") != "0"


def compiler_version(compiler: str, env: dict[str, str] | None = None) -> str | None:
    """The first line ``compiler --version`` prints (with ``env``, else this process's); None
    where it does not run or prints nothing.

    >>> compiler_version("no-such-compiler") is None
    True
    """
    try:
        proc = subprocess.run([compiler, "--version"], capture_output=True, text=True, env=env, check=False)
    except OSError:
        return None
    return proc.stdout.splitlines()[0] if proc.returncode == 0 and proc.stdout else None


def build_key(compiler: str, flags: Sequence[str], sources: Sequence[str], cwd: str | os.PathLike) -> str | None:
    """A hash of the compiler's version, ``flags`` and each of ``sources`` (relative to
    ``cwd``) preprocessed with those flags; None when the cache is off or a source does not
    preprocess (the build then runs and reports its own error).

    >>> len(build_key("g++", ["-std=c++14"], [], "."))
    24
    """
    if not _enabled():
        return None
    version = compiler_version(compiler)
    if version is None:
        return None
    digest = hashlib.sha256("\n".join([version, *flags]).encode())
    for source in sources:
        proc = subprocess.run([compiler, *flags, "-E", "-P", source], cwd=cwd, capture_output=True, check=False)
        if proc.returncode != 0:
            return None
        digest.update(source.encode() + b"\0" + proc.stdout)
    return digest.hexdigest()[:24]


def _entry(key: str) -> Path:
    return cache_dir() / BUILDS_DIR / key


def restore_build(key: str | None, target: str | os.PathLike) -> bool:
    """Copy the build stored under ``key`` to ``target`` (executable); whether there was one.

    >>> restore_build(None, "csim_exact")
    False
    """
    if key is None or not _entry(key).is_file():
        return False
    try:
        with atomic_path(target) as tmp:
            shutil.copyfile(_entry(key), tmp)
        # atomic_path gives the file a plain file's permissions: a program needs its x bits
        mode = os.stat(target).st_mode
        os.chmod(target, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        os.utime(_entry(key))   # used now: the last to go when the folder is trimmed
    except OSError as err:
        log.info("cached build %s not restored (%s): compiling instead", key, err)
        return False
    return True


def store_build(target: str | os.PathLike, key: str | None) -> None:
    """Keep ``target`` under ``key`` (written under a temporary name and renamed, so a build
    beside this one finds it whole or not at all). Best effort: a cache that cannot be
    written only means the next build compiles again."""
    if key is None or _entry(key).is_file():
        return
    try:
        with atomic_path(_entry(key)) as tmp:
            shutil.copyfile(target, tmp)
        trim_builds(MAX_CACHE_BYTES)
    except OSError as err:
        log.info("build not cached (%s): the next one compiles again", err)


def trim_builds(max_bytes: int) -> list[Path]:
    """Remove the builds used longest ago until the folder holds at most ``max_bytes``; the
    removed paths. A build another process removes first is simply gone.

    >>> trim_builds(MAX_CACHE_BYTES)                                  # doctest: +SKIP
    []
    """
    entries = []
    for path in (cache_dir() / BUILDS_DIR).glob("[!.]*"):   # not a build still being written
        with contextlib.suppress(OSError):   # removed by another process meanwhile
            info = path.stat()
            entries.append((info.st_mtime, info.st_size, path))
    total, removed = sum(size for _, size, _ in entries), []
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        total -= size
        removed.append(path)
    if removed:
        log.info("removed %d testbench builds used longest ago from fpgakd's cache", len(removed))
    return removed
