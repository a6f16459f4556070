"""Train one quantized student: polynomial-decay pruning (tfmot), early stopping once pruning
is complete, resumable checkpoints, and the pruning wrappers stripped at the end. An HGQ
student (:mod:`fpgakd.learn.hgq_students`) is not pruned: it trains with its beta schedule
and HGQ's range and BOPs callbacks instead."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from fpgakd.config import ModelConfig, TrainingConfig
from fpgakd.learn.losses import keras_accuracy, keras_loss
from fpgakd.learn.runtime import configure_tensorflow
from fpgakd.learn.stopper_memory import STOPPER_FILE, stopper_memory_callback

__all__ = ["pruning_schedule_steps", "train_student", "run_digest", "checkpoint_dirs"]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- pruning
def pruning_schedule_steps(cfg: ModelConfig, steps_per_epoch: int) -> dict[str, int]:
    """Begin/end step and frequency of the polynomial-decay pruning schedule.

    The end step is moved onto the frequency grid (tfmot prunes only at
    ``begin + k*frequency``), so the last update lands exactly on the target sparsity.

    >>> from fpgakd.config import ModelConfig
    >>> pruning_schedule_steps(ModelConfig(name="x"), 100)
    {'begin_step': 400, 'end_step': 2400, 'frequency': 50, 'end_epoch': 25}
    """
    p, epochs = cfg.pruning, cfg.training.epochs
    total = max(1, epochs * steps_per_epoch)
    begin = int(round(p.begin_fraction * total))
    end = max(begin + 1, int(round(p.end_fraction * total)))
    frequency = max(1, min(p.frequency_steps, end - begin))
    end = begin + max(1, (end - begin) // frequency) * frequency
    if frequency != p.frequency_steps:
        log.info("pruning frequency lowered from %d to %d steps to fit %d training steps",
                 p.frequency_steps, frequency, total)
    return {"begin_step": begin, "end_step": end, "frequency": frequency,
            "end_epoch": min(epochs, math.ceil((end + 1) / steps_per_epoch))}


def _prune(model: Any, cfg: ModelConfig, steps: dict[str, int]) -> Any:
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=cfg.pruning.initial_sparsity, final_sparsity=cfg.pruning.target_sparsity,
        begin_step=steps["begin_step"], end_step=steps["end_step"], frequency=steps["frequency"])

    def wrap(layer):
        # the wrapper reuses the built layer, so the seeded initial weights are kept;
        # QKeras's QDense is a Dense, so quantized and float students are pruned alike; a fixed
        # layer (an interaction student's mask selector) is not trained, so not pruned either
        if isinstance(layer, tf.keras.layers.Dense) and layer.trainable:
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer

    return tf.keras.models.clone_model(model, clone_function=wrap)


def run_digest(*parts: Any) -> str:
    """A short sha256 of JSON-able ``parts``: the key of cached teachers and checkpoints.

    >>> len(run_digest({"a": 1}, "data"))
    16
    """
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def checkpoint_dirs(run_dir: Path, key: str, modes: list[str]) -> dict[str, Path]:
    """Checkpoint directory per mode, in the cache; other configs' checkpoints of this run go.

    >>> checkpoint_dirs(Path("runs/x"), "k", ["kd"])["kd"].name    # doctest: +SKIP
    'kd_k'
    """
    from fpgakd.cache import cache_dir

    root = cache_dir() / "checkpoints" / run_digest(str(run_dir.resolve()))
    dirs = {mode: root / f"{mode}_{key}" for mode in modes}
    for stale in root.iterdir() if root.is_dir() else []:
        if stale not in dirs.values():
            log.info("removing checkpoints of another config: %s", stale)
            shutil.rmtree(stale, ignore_errors=True)
    return dirs


# ---------------------------------------------------------------- one student
def _is_hgq(cfg: ModelConfig) -> bool:
    return cfg.quantization.enabled and cfg.quantization.kind == "hgq"


def _hgq_stopping_start(cfg: ModelConfig) -> int:
    q = cfg.quantization
    return q.beta_ramp_epochs if _is_hgq(cfg) and q.beta_schedule != "constant" else 0


def _learning_rate(t: TrainingConfig, steps_per_epoch: int) -> Any:
    """Adam's learning rate: the number, or a cosine decay to zero over the planned steps (a
    function of the optimizer's step count, so a resumed training goes on where it stopped).

    >>> _learning_rate(TrainingConfig(learning_rate=0.01), 10)
    0.01
    """
    if t.learning_rate_schedule == "constant":
        return t.learning_rate
    import tensorflow as tf

    return tf.keras.optimizers.schedules.CosineDecay(t.learning_rate, decay_steps=t.epochs * steps_per_epoch)


def _history_from_csv(path: Path) -> dict[str, list[float]]:
    import csv

    if not path.is_file():
        return {}
    rows: dict[int, dict[str, str]] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            rows[int(row["epoch"])] = row      # a rerun epoch after a resume replaces the old row
    keys = [k for k in (next(iter(rows.values())) if rows else {}) if k != "epoch"]
    return {k: [float(rows[e][k]) for e in sorted(rows)] for k in keys}


def train_student(cfg: ModelConfig, mode: str, x: np.ndarray, y_packed: np.ndarray,
                  train: np.ndarray, val: np.ndarray, n_outputs: int, checkpoint_dir: Path, *,
                  progress: bool = True, extra_callbacks: Sequence[Any] = ()
                  ) -> tuple[Any, dict[str, list[float]], dict[str, int]]:
    """Train, prune and strip one student; returns (model, history, pruning steps).

    ``mode`` is ``"kd"`` or ``"scratch"``; ``y_packed`` is [one-hot | teacher logits]
    for classifiers or [target] for regressors ([target | weight] for a per-particle student
    with ``distillation.particle_weighting``). ``checkpoint_dir`` holds the state an
    interrupted run resumes from (Keras ``BackupAndRestore``, and the early stopping's best
    epoch and weights so far: :mod:`fpgakd.learn.stopper_memory`); it is removed on success.
    ``extra_callbacks``: further Keras callbacks, called after fpgakd's own each epoch.

    >>> model, hist, steps = train_student(cfg, "kd", x, y, tr, va, 5, Path("ckpt"))  # doctest: +SKIP
    """
    configure_tensorflow()
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    from fpgakd.learn.students import build_student

    t = cfg.training
    n_classes = n_outputs if cfg.task == "classifier" else 1
    alpha = cfg.distillation.alpha if mode == "kd" else 1.0
    tf.keras.utils.set_random_seed(t.seed)
    model = build_student(cfg, x.shape[1], n_outputs)
    steps_per_epoch = math.ceil(len(train) / t.batch_size)
    steps = pruning_schedule_steps(cfg, steps_per_epoch)
    if cfg.pruning.enabled:
        model = _prune(model, cfg, steps)
    metrics = [keras_accuracy(n_classes)] if cfg.task == "classifier" else []
    model.compile(optimizer=tf.keras.optimizers.Adam(_learning_rate(t, steps_per_epoch)),
                  loss=keras_loss(cfg.task, mode, n_classes, cfg.distillation.temperature, alpha,
                                   cfg.distillation.regression_loss,
                                   cfg.distillation.particle_weighting != "none"),
                  metrics=metrics)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    # best weights are chosen only once pruning is complete, so the kept model is fully sparse;
    # an HGQ student's loss grows with a ramping beta, so its best epoch is sought after the ramp
    start = steps["end_epoch"] if cfg.pruning.enabled else _hgq_stopping_start(cfg)
    stopper = tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=t.patience,
                                               start_from_epoch=start, restore_best_weights=True)
    callbacks: list[Any] = [tf.keras.callbacks.BackupAndRestore(str(checkpoint_dir / "backup")),
                            tf.keras.callbacks.CSVLogger(str(checkpoint_dir / "history.csv"),
                                                         append=True),
                            stopper, stopper_memory_callback(checkpoint_dir / STOPPER_FILE, stopper)]
    if cfg.pruning.enabled:
        callbacks.insert(1, tfmot.sparsity.keras.UpdatePruningStep())
    if _is_hgq(cfg):
        from fpgakd.learn.hgq_students import hgq_callbacks

        callbacks[1:1] = hgq_callbacks(cfg)   # before the CSVLogger: the history keeps the BOPs
    callbacks.extend(extra_callbacks)
    if progress:
        from tqdm.keras import TqdmCallback
        callbacks.append(TqdmCallback(verbose=0, desc=f"{mode} student"))
    model.fit(x[train], y_packed[train], validation_data=(x[val], y_packed[val]),
              epochs=t.epochs, batch_size=t.batch_size, shuffle=True, verbose=0,
              callbacks=callbacks)
    if stopper.best_weights is not None:
        model.set_weights(stopper.best_weights)
    history = _history_from_csv(checkpoint_dir / "history.csv")
    if cfg.pruning.enabled:
        model = tfmot.sparsity.keras.strip_pruning(model)
    return model, history, steps

