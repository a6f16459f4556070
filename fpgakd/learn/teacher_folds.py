"""A teacher's fold models, trained side by side in worker processes where the cores allow.

Each fold model is an independent training (its own jets and seed), so the folds can train
at once. A worker fixes TensorFlow's threads exactly as any training here does
(:func:`fpgakd.learn.runtime.configure_tensorflow`, ``TF_THREADS`` intra-op threads), so a fold
trained in a worker has the same weights, bit for bit, as one trained in this process: the
workers change the wall time and nothing else. A training already keeps ``TF_THREADS`` cores
busy, so there is one worker per ``TF_THREADS`` cores: on the 2-core development machine the
folds train one after the other (three at once, the default teacher inside ``fpgakd distill``
took 272 s there against 238 s in turn); a 16-core machine trains all three at once.
``benchmarks/bench_teacher_folds.py`` times any worker count and checks the weights agree."""

from __future__ import annotations

import logging
import multiprocessing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import TeacherConfig
from fpgakd.learn.rundir import teacher_model_name
from fpgakd.learn.runtime import TF_THREADS
from fpgakd.learn.teacher_archs import CONSTITUENTS, build_teacher, load_teacher_model, teacher_input_names

__all__ = ["fit_folds", "fit_teacher_model", "teacher_callbacks", "fold_workers", "MIN_JETS_FOR_WORKERS"]

log = logging.getLogger(__name__)

#: below this many training jets a fold trains in seconds, and a worker's start (importing
#: TensorFlow, about 5 s) would cost more than the parallel training saves
MIN_JETS_FOR_WORKERS = 5000


def teacher_callbacks(patience: int, progress: bool, label: str, bar_position: int = 0) -> list[Any]:
    """Early stopping on validation loss (best weights restored), the learning rate halved
    after ``patience // 2`` epochs without improvement, and a progress bar.

    >>> model.fit(..., callbacks=teacher_callbacks(10, True, "teacher"))   # doctest: +SKIP
    """
    import tensorflow as tf

    callbacks = [
        tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                         restore_best_weights=True),
        tf.keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                             patience=max(1, patience // 2)),
    ]
    if progress:
        from tqdm.keras import TqdmCallback
        callbacks.append(TqdmCallback(verbose=0, desc=label, position=bar_position))
    return callbacks


def fit_teacher_model(cfg: TeacherConfig, inputs: dict[str, np.ndarray], y: np.ndarray, train: np.ndarray,
                      val: np.ndarray, n_classes: int, seed: int, progress: bool, label: str,
                      initial: Path | None = None, bar_position: int = 0) -> tuple[Any, dict[str, list[float]]]:
    """One model trained on ``train``: a fresh one, or the Keras file ``initial`` fine-tuned;
    the model and its history. ``bar_position`` is the line of its progress bar.

    >>> model, history = fit_teacher_model(cfg, inputs, y, train, val, 5, 0, True, "teacher")  # doctest: +SKIP
    """
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    x = inputs[CONSTITUENTS]
    model = build_teacher(cfg, x.shape[1], x.shape[2], n_classes) if initial is None else load_teacher_model(initial)
    model.compile(optimizer=tf.keras.optimizers.Adam(cfg.learning_rate),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    callbacks = teacher_callbacks(cfg.patience, progress, label, bar_position)
    names = list(teacher_input_names(cfg))
    history = model.fit([inputs[k][train] for k in names], y[train],
                        validation_data=([inputs[k][val] for k in names], y[val]),
                        epochs=cfg.epochs, batch_size=cfg.batch_size, shuffle=True, verbose=0,
                        callbacks=callbacks)
    return model, {k: [float(v) for v in vals] for k, vals in history.history.items()}


@dataclass(frozen=True)
class _FoldTask:
    """Everything one fold's training needs; pickled whole to a worker process."""

    fold: int
    cfg: TeacherConfig
    inputs: dict[str, np.ndarray]
    y: np.ndarray
    fit_idx: np.ndarray
    val: np.ndarray
    n_classes: int
    out_file: Path
    progress: bool
    initial: Path | None
    #: the line of its progress bar: folds training at once each keep their own
    bar_position: int


def fold_workers(n_folds: int, n_train: int, cores: int | None = None) -> int:
    """Worker processes for ``n_folds`` fold models on ``n_train`` jets: one per fold, as the
    cores allow (``TF_THREADS`` cores each); 1 (train here, one after the other) for one
    fold, few jets, or inside a worker process.

    >>> fold_workers(3, 18000, cores=2), fold_workers(3, 18000, cores=16), fold_workers(3, 600, cores=16)
    (1, 3, 1)
    """
    if cores is None:
        from fpgakd.cluster import default_workers
        cores = default_workers()
    # a daemonic process (a Dask or multiprocessing worker) may not start processes of its own
    if n_folds <= 1 or n_train < MIN_JETS_FOR_WORKERS or multiprocessing.current_process().daemon:
        return 1
    return max(1, min(n_folds, cores // TF_THREADS))


def _train_fold(task: _FoldTask) -> tuple[dict[str, list[float]], np.ndarray]:
    """Train one fold model, save it to ``task.out_file``; its history and logits on every jet."""
    from fpgakd.learn.runtime import configure_tensorflow

    configure_tensorflow()
    cfg = task.cfg
    label = f"teacher {task.fold + 1}/{cfg.n_folds}"
    model, history = fit_teacher_model(cfg, task.inputs, task.y, task.fit_idx, task.val, task.n_classes,
                                       cfg.seed + task.fold, task.progress, label, task.initial,
                                       bar_position=task.bar_position)
    model.save(task.out_file, include_optimizer=False, save_format="h5")
    z = model.predict([task.inputs[name] for name in teacher_input_names(cfg)], batch_size=1024, verbose=0)
    return history, np.asarray(z)


def _tasks(cfg: TeacherConfig, inputs: dict[str, np.ndarray], y: np.ndarray, train: np.ndarray,
           val: np.ndarray, folds: np.ndarray, n_classes: int, out: Path, progress: bool,
           initial: Path | None, workers: int) -> list[_FoldTask]:
    return [_FoldTask(k, cfg, inputs, y, train if cfg.n_folds == 1 else train[folds[train] != k], val,
                      n_classes, out / teacher_model_name(k, cfg.n_folds), progress, initial,
                      bar_position=k if workers > 1 else 0)
            for k in range(cfg.n_folds)]


def fit_folds(cfg: TeacherConfig, inputs: dict[str, np.ndarray], y: np.ndarray,
              split: tuple[np.ndarray, np.ndarray], folds: np.ndarray, n_classes: int, out: Path,
              progress: bool, initial: Path | None = None, workers: int | None = None
              ) -> tuple[list[str], list[dict[str, list[float]]], np.ndarray]:
    """Train one model per fold into ``out`` (each from ``initial`` if given), on ``workers``
    processes (default :func:`fold_workers`); their file names, histories and (N,) predicted
    classes.

    A fold model scores its own fold alone (out of fold) and votes on the jets outside the
    training split.

    >>> files, histories, pred = fit_folds(cfg, inputs, y, (train, val), folds, 5, tmp, True)  # doctest: +SKIP
    >>> files                                                                                   # doctest: +SKIP
    ['teacher_fold0.h5', 'teacher_fold1.h5', 'teacher_fold2.h5']
    """
    from fpgakd.jets.workers import results_in_order

    train, val = split
    workers = fold_workers(cfg.n_folds, len(train)) if workers is None else workers
    tasks = _tasks(cfg, inputs, y, train, val, folds, n_classes, out, progress, initial, workers)
    if workers > 1:
        log.info("training %d teacher fold models on %d worker processes", cfg.n_folds, workers)
    n = len(y)
    logits = np.zeros((n, n_classes), dtype=np.float64)
    counts = np.zeros(n, dtype=np.float64)
    histories = []
    for task, (history, z) in zip(tasks, results_in_order(_train_fold, tasks, workers)):
        histories.append(history)
        use = (folds == task.fold) | (folds < 0) if cfg.n_folds > 1 else np.ones(n, bool)
        logits[use] += z[use]
        counts[use] += 1
        log.info("teacher model %d/%d: val accuracy %.4f", task.fold + 1, cfg.n_folds,
                 float(np.mean(z[val].argmax(1) == y[val])))
    return [task.out_file.name for task in tasks], histories, (logits / counts[:, None]).argmax(axis=1)
