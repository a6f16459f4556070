"""Early stopping's memory (fpgakd.learn.stopper_memory) survives an interrupted training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fpgakd.config import ModelConfig, config_from_dict
from fpgakd.errors import DataError
from fpgakd.learn.stopper_memory import (STOPPER_FILE, read_stopper_memory, stopper_counters,
                                         stopper_memory_callback)


class Interrupted(Exception):
    """What the test raises where a real training would be killed."""


def _interrupt_after(epoch_to_stop: int):
    import tensorflow as tf

    class Interrupt(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if epoch == epoch_to_stop:
                raise Interrupted(f"after epoch {epoch}")

    return Interrupt()


def _tiny_fit(stopper, callbacks, epochs: int) -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.05), loss="mse")
    model.fit(x, x.sum(axis=1), epochs=epochs, batch_size=16, verbose=0, callbacks=[stopper, *callbacks])


@pytest.mark.slow
def test_a_resumed_training_starts_with_the_counters_and_best_weights_it_stopped_with(tmp_path: Path) -> None:
    import tensorflow as tf

    path = tmp_path / STOPPER_FILE
    first = tf.keras.callbacks.EarlyStopping(monitor="loss", patience=10, restore_best_weights=True)
    with pytest.raises(Interrupted):
        _tiny_fit(first, [stopper_memory_callback(path, first), _interrupt_after(2)], epochs=5)
    counters, best = read_stopper_memory(path)
    assert counters == stopper_counters(first) and counters["best_epoch"] == 2
    assert all(np.array_equal(a, b) for a, b in zip(best, first.best_weights))

    second = tf.keras.callbacks.EarlyStopping(monitor="loss", patience=10, restore_best_weights=True)
    seen = {}

    class Probe(tf.keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            seen.update(counters=stopper_counters(second), best=second.best_weights)

    _tiny_fit(second, [stopper_memory_callback(path, second), Probe()], epochs=1)
    assert seen["counters"] == counters          # EarlyStopping's own start would say best=inf, epoch 0
    assert all(np.array_equal(a, b) for a, b in zip(seen["best"], best))
    assert not path.exists()                      # a training that ends leaves no memory behind


def test_a_broken_memory_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / STOPPER_FILE
    path.write_bytes(b"not an npz")
    with pytest.raises(DataError, match=rf"{STOPPER_FILE}: not a readable early-stopping state"):
        read_stopper_memory(path)


@pytest.mark.slow
def test_a_student_training_keeps_its_stopper_memory_until_it_ends(tmp_path: Path) -> None:
    from fpgakd.learn.losses import pack_classifier_targets
    from fpgakd.learn.training import train_student

    rng = np.random.default_rng(0)
    x = rng.standard_normal((160, 4)).astype(np.float32)
    labels = np.argmax(x[:, :2], axis=1)
    y = pack_classifier_targets(labels, (2.0 * x[:, :2]).astype(np.float32), 2)
    cfg = config_from_dict(ModelConfig, {"name": "tiny", "hidden": [4], "pruning": {"enabled": False},
                                         "training": {"epochs": 4, "batch_size": 32, "patience": 4}})
    train, val, ckpt = np.arange(120), np.arange(120, 160), tmp_path / "ckpt"
    with pytest.raises(Interrupted):
        train_student(cfg, "kd", x, y, train, val, 2, ckpt, progress=False, extra_callbacks=[_interrupt_after(1)])
    assert read_stopper_memory(ckpt / STOPPER_FILE)[0]["best_epoch"] in (0, 1)
    train_student(cfg, "kd", x, y, train, val, 2, ckpt, progress=False)
    assert not (ckpt / STOPPER_FILE).exists()
