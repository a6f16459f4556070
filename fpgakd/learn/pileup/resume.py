"""The pileup teacher's epoch checkpoint: what a training interrupted between epochs resumes from.

One ``.npz`` file, replaced atomically at the end of every epoch, holds everything the next
epoch depends on: the weights, the optimizer's variables (Adam's moments and step count)
and learning rate, the early-stopping and learning-rate-on-plateau counters with the best
weights so far, the training batches' order and the generator that reshuffles it, and the
history. A run that stops (SIGTERM, Ctrl-C, the end of a session) loses at most the epoch
under way; the same command resumes after the last completed one and ends where an
uninterrupted run would have, up to the float rounding of the restored state (none: every
array is stored as is).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.errors import DataError
from fpgakd.learn.npz_state import read_npz_state, write_npz_state
from fpgakd.learn.stopper_memory import STOPPER_FIELDS, plain_counter, stopper_counters

__all__ = ["read_epoch_checkpoint", "restore_training_state", "epoch_checkpoint_callback"]

_FORMAT = "fpgakd-pileup-teacher-checkpoint"
#: counters of the Keras callback that decides when to halve the rate (the stopper's: STOPPER_FIELDS)
_REDUCER_FIELDS = ("wait", "best", "cooldown_counter")
#: the file's key of the state (JSON), of the batch order, and prefixes of the arrays' lists
_STATE, _ORDER = "state", "order"
_WEIGHTS, _OPTIMIZER, _BEST = "weight_", "optimizer_", "best_"


def write_epoch_checkpoint(path: Path, model: Any, state: dict[str, Any],
                           best_weights: list[np.ndarray] | None, order: np.ndarray) -> Path:
    """Write ``path`` atomically: the model's and optimizer's variables, ``state`` (JSON), the
    best weights so far and the batch ``order``.

    >>> write_epoch_checkpoint(Path("ckpt/epoch.npz"), model, state, None, order)   # doctest: +SKIP
    """
    lists = {_WEIGHTS: model.get_weights(), _OPTIMIZER: [v.numpy() for v in model.optimizer.variables],
             _BEST: best_weights}
    write_npz_state(path, _STATE, {"format": _FORMAT, **state}, lists, {_ORDER: order})
    return path


def read_epoch_checkpoint(path: Path) -> dict[str, Any] | None:
    """The stored state of ``path`` (``None`` when there is none yet), arrays included.

    >>> read_epoch_checkpoint(Path("no/such/checkpoint.npz")) is None
    True
    """
    saved = read_npz_state(path, _STATE, [_WEIGHTS, _OPTIMIZER, _BEST], [_ORDER], what="teacher checkpoint")
    if saved is None:
        return None
    state = saved[_STATE]
    state.update(weights=saved[_WEIGHTS], optimizer=saved[_OPTIMIZER], best_weights=saved[_BEST] or None,
                 order=saved[_ORDER])
    if state.get("format") != _FORMAT:
        raise DataError(f"{path}: key 'format': expected {_FORMAT!r}; delete it to start over")
    return state


def restore_training_state(model: Any, sequence: Any, saved: dict[str, Any]) -> None:
    """Put the weights, optimizer variables, learning rate and batch order of ``saved`` back.

    >>> restore_training_state(model, train_sequence, read_epoch_checkpoint(path))   # doctest: +SKIP
    """
    model.set_weights(saved["weights"])
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)     # creates Adam's moments, to be overwritten
    if len(optimizer.variables) != len(saved["optimizer"]):
        raise DataError("teacher checkpoint: its optimizer state does not fit this model; delete it")
    for variable, value in zip(optimizer.variables, saved["optimizer"]):
        variable.assign(value)
    optimizer.learning_rate.assign(saved["learning_rate"])
    sequence.restore(saved["order"], saved["rng"])


def epoch_checkpoint_callback(path: Path, sequence: Any, stopper: Any, reducer: Any,
                              saved: dict[str, Any] | None) -> Any:
    """A Keras callback: on training's start it puts the counters of ``saved`` back into
    ``stopper`` (EarlyStopping) and ``reducer`` (ReduceLROnPlateau); after every epoch it
    writes the checkpoint. It must come after both in the callback list.

    >>> callbacks.append(epoch_checkpoint_callback(path, seq, stopper, reducer, None))  # doctest: +SKIP
    """
    import tensorflow as tf

    class EpochCheckpoint(tf.keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.history: dict[str, list[float]] = dict(saved["history"]) if saved else {}
            self.epoch_seconds: list[float] = list(saved.get("epoch_seconds", [])) if saved else []
            self.started = time.perf_counter()

        def on_epoch_begin(self, epoch: int, logs=None) -> None:
            self.started = time.perf_counter()

        def on_train_begin(self, logs=None) -> None:
            if saved is None:
                return
            for name, fields in (("stopper", STOPPER_FIELDS), ("reducer", _REDUCER_FIELDS)):
                for field in fields:
                    setattr(stopper if name == "stopper" else reducer, field, saved[name][field])
            stopper.best_weights = saved["best_weights"]

        def on_epoch_end(self, epoch: int, logs=None) -> None:
            self.epoch_seconds.append(time.perf_counter() - self.started)
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            state = {"epoch": epoch, "finished": bool(self.model.stop_training),
                     "learning_rate": float(self.model.optimizer.learning_rate.numpy()),
                     "history": self.history, "epoch_seconds": self.epoch_seconds,
                     "rng": sequence.rng_state(),
                     "stopper": stopper_counters(stopper),
                     "reducer": {f: plain_counter(getattr(reducer, f)) for f in _REDUCER_FIELDS}}
            write_epoch_checkpoint(path, self.model, state, stopper.best_weights, sequence.order)

    return EpochCheckpoint()
