"""Write outputs under a temporary name and rename them into place when complete.

An interrupted run (exception, Ctrl-C, killed worker) therefore never leaves a
half-written file or directory at the path the user asked for.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_dir", "write_text_atomic"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it to ``target`` on success.

    >>> with atomic_path("out.json") as tmp:            # doctest: +SKIP
    ...     tmp.write_text("{}")
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if tmp.exists():
            # mkstemp creates 0600 files; give the result the permissions a plain open() would.
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary directory beside ``target``; move it to ``target`` on success.

    An existing ``target`` is replaced only once the new one is complete.

    >>> with atomic_dir("hls_projects/student") as tmp:   # doctest: +SKIP
    ...     (tmp / "report.json").write_text("{}")
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            if not overwrite:
                raise FileExistsError(f"{target}: already exists")
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_text_atomic(target: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``target`` atomically and return the path.

    >>> write_text_atomic("metrics.json", "{}")          # doctest: +SKIP
    PosixPath('metrics.json')
    """
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)
