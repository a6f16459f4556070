"""A training's state in one ``.npz`` file: a JSON record beside lists and single arrays.

What a training resumes from (the pileup teacher's epoch checkpoint, early stopping's memory)
is small, so one file holds it all and is replaced atomically: a reader sees the previous
state or the next one, never half of one. Each list of arrays (weights, optimizer variables)
is stored under its prefix with a four-digit index; the record is JSON bytes under its key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from fpgakd.errors import DataError

__all__ = ["write_npz_state", "read_npz_state"]


def _packed(prefix: str, values: Sequence[np.ndarray] | None) -> dict[str, np.ndarray]:
    return {f"{prefix}{i:04d}": np.asarray(v) for i, v in enumerate(values or [])}


def _unpacked(prefix: str, stored: Any) -> list[np.ndarray]:
    return [stored[k] for k in sorted(k for k in stored.files if k.startswith(prefix))]


def write_npz_state(path: Path, record_key: str, record: Mapping[str, Any],
                    lists: Mapping[str, Sequence[np.ndarray] | None],
                    arrays: Mapping[str, np.ndarray] | None = None) -> Path:
    """Write ``record`` (JSON) under ``record_key``, each list of ``lists`` under its prefix and
    ``arrays`` by name to ``path``, atomically.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "state.npz"
    >>> write_npz_state(path, "record", {"epoch": 3}, {"weight_": [np.zeros(2), np.ones(1)]}).name
    'state.npz'
    """
    from fpgakd.atomic import atomic_path

    stored = {key: np.asarray(value) for key, value in (arrays or {}).items()}
    for prefix, values in lists.items():
        stored.update(_packed(prefix, values))
    stored[record_key] = np.frombuffer(json.dumps(dict(record)).encode(), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **stored)
    return path


def read_npz_state(path: Path, record_key: str, prefixes: Sequence[str], array_keys: Sequence[str] = (), *,
                   what: str) -> dict[str, Any] | None:
    """What :func:`write_npz_state` wrote to ``path``: the record under ``record_key``, each
    prefix's list (empty where none) and each of ``array_keys``; ``None`` where ``path`` does not
    exist. A file that does not read raises :class:`~fpgakd.errors.DataError` naming it as ``what``.

    >>> import tempfile
    >>> path = write_npz_state(Path(tempfile.mkdtemp()) / "s.npz", "record", {"epoch": 3}, {"w_": [np.ones(2)]})
    >>> state = read_npz_state(path, "record", ["w_"], what="state")
    >>> state["record"], state["w_"][0].tolist()
    ({'epoch': 3}, [1.0, 1.0])
    """
    if not path.is_file():
        return None
    try:
        with np.load(path) as stored:
            state = {record_key: json.loads(stored[record_key].tobytes().decode())}
            state.update({prefix: _unpacked(prefix, stored) for prefix in prefixes})
            state.update({key: stored[key] for key in array_keys})
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path}: not a readable {what} ({err}); delete it to start over") from None
    return state
