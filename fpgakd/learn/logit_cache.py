"""The soft-target cache: logits (N, n_classes) in one HDF5 file per key.

A key is a sha256 of whatever made the logits (a teacher's identity, the data's
fingerprint, the out-of-fold flag); the file name carries its first 24 hex digits and the
file's ``key`` attribute the whole key, so a stale or foreign file is never served.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["logits_key", "cache_file", "read_cached_logits", "write_cached_logits"]

log = logging.getLogger(__name__)

CACHE_FORMAT = "fpgakd-soft-targets"
#: hex digits of the key in the file name: collisions are out of reach, names stay short
_NAME_DIGITS = 24


def logits_key(identity: str, data_fingerprint: str, out_of_fold: bool) -> str:
    """sha256 of what made the logits: the teacher's identity, the data and the out-of-fold flag.

    >>> logits_key("t", "d", True)[:8]
    '22662be5'
    """
    text = f"{identity}\n{data_fingerprint}\nout_of_fold={bool(out_of_fold)}"
    return hashlib.sha256(text.encode()).hexdigest()


def cache_file(cache_dir: str | os.PathLike, key: str) -> Path:
    """Where the logits of ``key`` live.

    >>> cache_file("cache", "ab" * 32).name
    'soft_targets_abababababababababababab.h5'
    """
    return Path(cache_dir) / f"soft_targets_{key[:_NAME_DIGITS]}.h5"


def read_cached_logits(cache: Path, key: str, shape: tuple[int, int]) -> np.ndarray | None:
    """The cached logits if ``cache`` holds them for ``key`` with ``shape``, else None.

    >>> read_cached_logits(Path("missing.h5"), "k", (2, 5)) is None
    True
    """
    import h5py

    if not cache.is_file():
        return None
    try:
        with h5py.File(cache, "r") as fh:
            if fh.attrs.get("key") == key and fh["logits"].shape == shape:
                log.info("soft targets from cache %s", cache)
                return np.asarray(fh["logits"], dtype=np.float32)
    except (OSError, KeyError):
        log.warning("%s: unreadable soft-target cache, recomputing", cache)
    return None


def write_cached_logits(cache: Path, key: str, logits: np.ndarray, attrs: dict[str, Any]) -> Path:
    """Write ``logits`` under ``key`` atomically, with ``attrs`` describing their origin.

    >>> write_cached_logits(Path("c.h5"), "k", np.zeros((2, 5)), {"teacher": "t"})   # doctest: +SKIP
    PosixPath('c.h5')
    """
    import h5py

    from fpgakd.atomic import atomic_path

    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache) as tmp:
        with h5py.File(tmp, "w") as fh:
            fh.create_dataset("logits", data=logits)
            fh.attrs.update({"format": CACHE_FORMAT, "key": key, **attrs})
    log.info("soft targets written to %s", cache)
    return cache
