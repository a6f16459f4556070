"""Early stopping whose memory survives an interrupted training.

Keras's ``BackupAndRestore`` brings back an interrupted training's weights, optimizer and
epoch, but not ``EarlyStopping``'s counters nor the best weights it holds: a resumed run
forgets its best epoch so far, waits for patience anew and keeps a later, worse model than an
uninterrupted run would. :func:`stopper_memory_callback` writes that memory beside the backup
after every epoch (atomically) and puts it back when the training resumes; a training that
ends removes it, as ``BackupAndRestore`` removes its backup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.errors import DataError
from fpgakd.learn.npz_state import read_npz_state, write_npz_state

__all__ = ["STOPPER_FIELDS", "STOPPER_FILE", "plain_counter", "stopper_counters", "read_stopper_memory", "write_stopper_memory",
           "stopper_memory_callback"]

#: EarlyStopping's counters that decide when it stops and which epoch it keeps
STOPPER_FIELDS = ("wait", "best", "best_epoch", "stopped_epoch")
#: the file in a training's checkpoint folder
STOPPER_FILE = "early_stopping.npz"
#: the file's key of the counters (JSON) and prefix of the best weights
_COUNTERS, _BEST = "counters", "best_"


def plain_counter(value: Any) -> Any:
    """A JSON-able copy of a callback counter (NumPy and TensorFlow scalars included).

    >>> plain_counter(np.float32(0.5)), plain_counter(3)
    (0.5, 3)
    """
    return float(value) if isinstance(value, (float, np.floating)) or hasattr(value, "dtype") else value


def stopper_counters(stopper: Any) -> dict[str, Any]:
    """``stopper``'s counters as plain values.

    >>> class Stopper: wait, best, best_epoch, stopped_epoch = 1, np.float64(0.25), 3, 0
    >>> stopper_counters(Stopper())
    {'wait': 1, 'best': 0.25, 'best_epoch': 3, 'stopped_epoch': 0}
    """
    return {field: plain_counter(getattr(stopper, field)) for field in STOPPER_FIELDS}


def write_stopper_memory(path: Path, stopper: Any) -> Path:
    """Write ``stopper``'s counters and best weights to ``path`` atomically.

    >>> write_stopper_memory(Path("ckpt/early_stopping.npz"), stopper)      # doctest: +SKIP
    """
    write_npz_state(path, _COUNTERS, stopper_counters(stopper), {_BEST: stopper.best_weights})
    return path


def read_stopper_memory(path: Path) -> tuple[dict[str, Any], list[np.ndarray] | None] | None:
    """The counters and best weights stored in ``path``; ``None`` where there are none.

    >>> read_stopper_memory(Path("no/such/early_stopping.npz")) is None
    True
    """
    saved = read_npz_state(path, _COUNTERS, [_BEST], what="early-stopping state")
    if saved is None:
        return None
    counters = saved[_COUNTERS]
    missing = [f for f in STOPPER_FIELDS if f not in counters]
    if missing:
        raise DataError(f"{path}: key {missing[0]!r} missing from the early-stopping state; delete it to start over")
    return counters, saved[_BEST] or None


def stopper_memory_callback(path: Path, stopper: Any) -> Any:
    """A Keras callback keeping ``stopper``'s memory in ``path``; it must come after ``stopper``
    in the callback list (its ``on_train_begin`` overwrites the stopper's reset).

    >>> callbacks.append(stopper_memory_callback(ckpt / STOPPER_FILE, stopper))   # doctest: +SKIP
    """
    import tensorflow as tf

    class StopperMemory(tf.keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            saved = read_stopper_memory(path)
            if saved is not None:
                counters, best_weights = saved
                for field, value in counters.items():
                    setattr(stopper, field, value)
                stopper.best_weights = best_weights

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            write_stopper_memory(path, stopper)

        def on_train_end(self, logs: dict | None = None) -> None:
            path.unlink(missing_ok=True)

    return StopperMemory()
