"""Knowledge distillation of a teacher into a quantized, pruned QKeras student.

Classification students minimise (Hinton et al. 2015)::

    alpha * CE(y, q) + (1 - alpha) * T^2 * KL(p_T || q_T)

with ``q = softmax(z_student)``, ``p_T = softmax(z_teacher / T)`` and ``q_T = softmax(z_student / T)``.
Regression students (``task: regressor``, DistillNet-style) output one logit ``z`` and
minimise MAE (or MSE) between ``sigmoid(z)`` and the teacher's probability of
``signal_class``. Unless disabled, every run also trains the same student without the
teacher (``alpha = 1``, or binary cross-entropy on signal-vs-rest for a regressor) with
the same quantization, pruning, seed and epochs, so the report compares like with like.

Outputs of :func:`distill` in ``run_dir``: ``student_kd.h5``, ``student_scratch.h5``,
``config.yaml``, ``standardization.json``, ``test_inputs.npy`` / ``test_labels.npy``
(standardized test jets), ``heldout_inputs.npy`` (test + validation jets, standardized: the
inputs of the firmware C-simulation check), ``metrics.json``,
``roc.png`` and ``training_curves.png``. Interrupted training resumes from
``run_dir/checkpoints`` when rerun with the same config, data and teacher.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import ModelConfig, TeacherConfig, config_to_dict
from fpgakd.errors import ConfigError

__all__ = ["kd_loss", "regression_kd_loss", "pruning_schedule_steps", "train_student", "distill"]

log = logging.getLogger(__name__)

#: Background classes of the rejection metrics (signal vs q+g).
_BACKGROUND = ("q", "g")


# ---------------------------------------------------------------- losses
def kd_loss(y_true: Any, teacher_logits: Any, student_logits: Any, *, temperature: float,
            alpha: float) -> "tf.Tensor":  # noqa: F821
    """Batch mean of ``alpha*CE(y, q) + (1 - alpha)*T^2*KL(p_T || q_T)``.

    ``y_true`` holds integer labels (N,) or one-hot rows (N, C); the logits are (N, C).
    Works on NumPy arrays and tensors alike (and inside ``model.fit``).

    >>> float(kd_loss([0], [[0.0, 0.0]], [[0.0, 0.0]], temperature=2.0, alpha=1.0))  # doctest: +SKIP
    0.6931...
    """
    import tensorflow as tf

    s = tf.convert_to_tensor(student_logits, dtype=tf.float32)
    t = tf.convert_to_tensor(teacher_logits, dtype=tf.float32)
    y = tf.convert_to_tensor(y_true)
    if y.shape.rank == 1:
        y = tf.one_hot(tf.cast(y, tf.int32), tf.shape(s)[-1])
    y = tf.cast(y, tf.float32)
    ce = -tf.reduce_sum(y * tf.nn.log_softmax(s, axis=-1), axis=-1)
    log_p = tf.nn.log_softmax(t / temperature, axis=-1)
    log_q = tf.nn.log_softmax(s / temperature, axis=-1)
    kl = tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1)
    return tf.reduce_mean(alpha * ce + (1.0 - alpha) * temperature ** 2 * kl)


def regression_kd_loss(target: Any, student_logits: Any, *, kind: str = "mae") -> "tf.Tensor":  # noqa: F821
    """Mean ``|sigmoid(z) - target|`` (``kind="mae"``) or its square (``"mse"``).

    >>> float(regression_kd_loss([[0.5]], [[0.0]]))                 # doctest: +SKIP
    0.0
    """
    import tensorflow as tf

    z = tf.reshape(tf.convert_to_tensor(student_logits, dtype=tf.float32), [-1])
    p = tf.reshape(tf.convert_to_tensor(target, dtype=tf.float32), [-1])
    diff = tf.sigmoid(z) - p
    if kind == "mae":
        return tf.reduce_mean(tf.abs(diff))
    if kind == "mse":
        return tf.reduce_mean(tf.square(diff))
    raise ConfigError(f"distillation.regression_loss: got {kind!r}, allowed: 'mae', 'mse'")


def _keras_loss(task: str, mode: str, n_classes: int, temperature: float, alpha: float,
                regression: str):
    """A Keras loss reading packed ``y_true`` = [one-hot | teacher logits] or [target]."""
    import tensorflow as tf

    if task == "classifier":
        def loss(y_true, y_pred):
            return kd_loss(y_true[:, :n_classes], y_true[:, n_classes:], y_pred,
                           temperature=temperature, alpha=alpha)
    elif mode == "kd":
        def loss(y_true, y_pred):
            return regression_kd_loss(y_true[:, :1], y_pred, kind=regression)
    else:
        def loss(y_true, y_pred):
            return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                labels=tf.reshape(y_true[:, :1], [-1]), logits=tf.reshape(y_pred, [-1])))
    loss.__name__ = f"{mode}_loss"
    return loss


def _keras_accuracy(n_classes: int):
    import tensorflow as tf

    def accuracy(y_true, y_pred):
        return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y_true[:, :n_classes], axis=-1),
                                               tf.argmax(y_pred, axis=-1)), tf.float32))
    return accuracy


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
    from qkeras import QDense

    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=cfg.pruning.initial_sparsity, final_sparsity=cfg.pruning.target_sparsity,
        begin_step=steps["begin_step"], end_step=steps["end_step"], frequency=steps["frequency"])

    def wrap(layer):
        # the wrapper reuses the built layer, so the seeded initial weights are kept
        if isinstance(layer, QDense):
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer

    return tf.keras.models.clone_model(model, clone_function=wrap)


# ---------------------------------------------------------------- one student
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
                  progress: bool = True) -> tuple[Any, dict[str, list[float]], dict[str, int]]:
    """Train, prune and strip one student; returns (model, history, pruning steps).

    ``mode`` is ``"kd"`` or ``"scratch"``; ``y_packed`` is [one-hot | teacher logits]
    for classifiers or [target] for regressors. ``checkpoint_dir`` holds the state an
    interrupted run resumes from (Keras ``BackupAndRestore``); it is removed on success.

    >>> model, hist, steps = train_student(cfg, "kd", x, y, tr, va, 5, Path("ckpt"))  # doctest: +SKIP
    """
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    from fpgakd.students import build_student

    t = cfg.training
    n_classes = n_outputs if cfg.task == "classifier" else 1
    alpha = cfg.distillation.alpha if mode == "kd" else 1.0
    tf.keras.utils.set_random_seed(t.seed)
    model = build_student(cfg, x.shape[1], n_outputs)
    steps_per_epoch = math.ceil(len(train) / t.batch_size)
    steps = pruning_schedule_steps(cfg, steps_per_epoch)
    if cfg.pruning.enabled:
        model = _prune(model, cfg, steps)
    metrics = [_keras_accuracy(n_classes)] if cfg.task == "classifier" else []
    model.compile(optimizer=tf.keras.optimizers.Adam(t.learning_rate),
                  loss=_keras_loss(cfg.task, mode, n_classes, cfg.distillation.temperature, alpha,
                                   cfg.distillation.regression_loss),
                  metrics=metrics)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    # best weights are chosen only once pruning is complete, so the kept model is fully sparse
    start = steps["end_epoch"] if cfg.pruning.enabled else 0
    stopper = tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=t.patience,
                                               start_from_epoch=start, restore_best_weights=True)
    callbacks: list[Any] = [tf.keras.callbacks.BackupAndRestore(str(checkpoint_dir / "backup")),
                            tf.keras.callbacks.CSVLogger(str(checkpoint_dir / "history.csv"),
                                                         append=True),
                            stopper]
    if cfg.pruning.enabled:
        callbacks.insert(1, tfmot.sparsity.keras.UpdatePruningStep())
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


# ---------------------------------------------------------------- the run
def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _student_summary(model: Any, cfg: ModelConfig) -> dict[str, Any]:
    from fpgakd.students import count_parameters, weight_sparsity

    q = cfg.quantization
    return {"sparsity": weight_sparsity(model),
            "bits": {"weight": q.weight_bits, "weight_integer": q.weight_integer,
                     "input": q.input_bits, "input_integer": q.input_integer,
                     "activation": q.activation_bits, "activation_integer": q.activation_integer},
            **count_parameters(model)}


def _signal_score(logits: np.ndarray, class_names: list[str], signal: str) -> np.ndarray:
    from fpgakd.metrics import softmax

    p = softmax(logits)
    s = class_names.index(signal)
    bkg = [class_names.index(b) for b in _BACKGROUND]
    return p[:, s] / np.maximum(p[:, s] + p[:, bkg].sum(axis=1), 1e-30)


def _resolve_teacher(cfg: ModelConfig, jets_path: Path, run_dir: Path, teacher_path: Any,
                     dataset: Any, progress: bool) -> Path:
    from fpgakd.teacher import TEACHER_JSON, load_teacher, train_teacher

    if teacher_path is None:
        teacher_path = run_dir / "teacher"
        if not (teacher_path / TEACHER_JSON).is_file():
            log.info("no teacher given: training one in %s", teacher_path)
            train_teacher(jets_path, teacher_path,
                          config=TeacherConfig(split_seed=cfg.training.split_seed), progress=progress)
    teacher_path = Path(teacher_path)
    meta = load_teacher(teacher_path).meta
    if meta.get("data_fingerprint") == dataset.fingerprint() and \
            meta.get("split_seed") != cfg.training.split_seed:
        raise ConfigError(f"{teacher_path}: teacher trained with split_seed={meta.get('split_seed')}, "
                          f"the student config has training.split_seed={cfg.training.split_seed}: "
                          "the teacher would have seen the student's test jets")
    return teacher_path


def distill(model_cfg: ModelConfig, jets_path: str | os.PathLike, run_dir: str | os.PathLike, *,
            teacher_path: str | os.PathLike | None = None, compare_scratch: bool = True,
            cache_dir: str | os.PathLike | None = None, out_of_fold: bool = True,
            progress: bool = True) -> dict[str, Any]:
    """Train the KD student (and its scratch twin) for ``model_cfg``; write all outputs.

    Without ``teacher_path`` a teacher is trained first (``run_dir/teacher``, or reused
    from there). Soft targets are cached in ``cache_dir`` (default ``run_dir/soft_targets``).
    Returns the metrics dict also written to ``run_dir/metrics.json``.

    >>> m = distill(load_model_config("constituent_mlp"), "jets.h5", "runs/c")   # doctest: +SKIP
    >>> m["kd"]["accuracy"] > m["scratch"]["accuracy"]                            # doctest: +SKIP
    True
    """
    import tensorflow as tf

    from fpgakd.atomic import write_text_atomic
    from fpgakd.config import dump_config
    from fpgakd.data import load_jets
    from fpgakd.metrics import (binary_metrics, classification_metrics, plot_binary_roc, plot_roc,
                                plot_training_curves)
    from fpgakd.preprocessing import Standardizer, split_indices, student_inputs
    from fpgakd.students import save_student
    from fpgakd.teacher import load_teacher, teacher_logits

    cfg = model_cfg
    started = time.time()
    jets_path, run_dir = Path(jets_path), Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    dataset = load_jets(jets_path)
    class_names = list(dataset.class_names)
    labels = np.asarray(dataset.labels, dtype=np.int64)
    if cfg.task == "regressor":
        missing = [c for c in (cfg.signal_class, *_BACKGROUND) if c not in class_names]
        if missing:
            raise ConfigError(f"model {cfg.name}: key 'signal_class' ({cfg.signal_class!r}) and the "
                              f"background {list(_BACKGROUND)} must be classes of {jets_path}, "
                              f"which has {class_names} (missing {missing})")

    teacher_dir = _resolve_teacher(cfg, jets_path, run_dir, teacher_path, dataset, progress)
    t_started = time.time()
    soft = teacher_logits(teacher_dir, dataset, cache_dir=cache_dir or run_dir / "soft_targets",
                          out_of_fold=out_of_fold, progress=progress)
    teacher_spec = load_teacher(teacher_dir)

    x, names = student_inputs(dataset, cfg.inputs)
    train, val, test = split_indices(len(labels), seed=cfg.training.split_seed, labels=labels)
    standardizer = Standardizer().fit(x[train], names)
    standardizer.save(run_dir / "standardization.json")
    xs = np.asarray(standardizer.transform(x), dtype=np.float32)
    dump_config(cfg, run_dir / "config.yaml")
    np.save(run_dir / "test_inputs.npy", xs[test])
    np.save(run_dir / "test_labels.npy", labels[test])
    # Every jet the students never trained on (test, then validation): the firmware check
    # compares firmware with Keras bit for bit and wants at least 10,000 of them.
    np.save(run_dir / "heldout_inputs.npy", xs[np.concatenate([test, val])])

    if cfg.task == "classifier":
        n_out = len(class_names)
        onehot = np.eye(n_out, dtype=np.float32)[labels]
        y_kd = np.concatenate([onehot, soft], axis=1)
        y_scratch = y_kd
    else:
        n_out = 1
        p = np.exp(soft - soft.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        y_kd = p[:, [class_names.index(cfg.signal_class)]].astype(np.float32)
        y_scratch = (labels == class_names.index(cfg.signal_class)).astype(np.float32)[:, None]

    key = _digest(config_to_dict(cfg), dataset.fingerprint(), teacher_spec.identity, out_of_fold)
    ckpt_root = run_dir / "checkpoints"
    runs = {"kd": y_kd}
    if compare_scratch:
        runs["scratch"] = y_scratch
    results: dict[str, Any] = {}
    histories: dict[str, dict[str, list[float]]] = {}
    outputs: dict[str, np.ndarray] = {}
    steps: dict[str, int] = {}
    for mode, y_packed in runs.items():
        ckpt = ckpt_root / f"{mode}_{key}"
        for stale in ckpt_root.glob(f"{mode}_*") if ckpt_root.is_dir() else []:
            if stale != ckpt:
                log.info("removing checkpoints of another config: %s", stale)
                shutil.rmtree(stale, ignore_errors=True)
        if (ckpt / "backup").is_dir():
            log.info("resuming %s student from %s", mode, ckpt)
        m_started = time.time()
        model, hist, steps = train_student(cfg, mode, xs, y_packed, train, val, n_out, ckpt,
                                           progress=progress)
        save_student(model, run_dir / f"student_{mode}.h5")
        shutil.rmtree(ckpt, ignore_errors=True)
        z = np.asarray(model.predict(xs, batch_size=4096, verbose=0), dtype=np.float64)
        outputs[mode] = z
        label = "KD student" if mode == "kd" else "scratch student"
        histories[label] = hist
        results[mode] = {**_student_summary(model, cfg), "train_seconds": time.time() - m_started}
        tf.keras.backend.clear_session()
    if ckpt_root.is_dir() and not any(ckpt_root.iterdir()):
        ckpt_root.rmdir()

    meta = teacher_spec.meta
    teacher_info = {"path": str(teacher_dir), "identity": teacher_spec.identity,
                    "arch": meta.get("arch"), "n_models": len(teacher_spec.models),
                    "out_of_fold": bool(out_of_fold and len(teacher_spec.models) > 1
                                        and meta.get("data_fingerprint") == dataset.fingerprint())}
    if cfg.task == "classifier":
        teacher_m = classification_metrics(labels[test], soft[test], class_names)
        teacher_m["val_accuracy"] = float(np.mean(soft[val].argmax(1) == labels[val]))
        for mode, z in outputs.items():
            results[mode].update(classification_metrics(labels[test], z[test], class_names))
            results[mode]["val_accuracy"] = float(np.mean(z[val].argmax(1) == labels[val]))
        plot_roc({"teacher": (labels[test], soft[test]),
                  **{("KD student" if m == "kd" else "scratch student"): (labels[test], z[test])
                     for m, z in outputs.items()}}, class_names, run_dir / "roc.png")
    else:
        s = class_names.index(cfg.signal_class)
        bkg = [class_names.index(b) for b in _BACKGROUND]

        def pick(idx):
            return idx[np.isin(labels[idx], bkg + [s])]
        te, va = pick(test), pick(val)
        t_score = _signal_score(soft, class_names, cfg.signal_class)
        teacher_m = binary_metrics(labels[te] == s, t_score[te])
        teacher_m["val_auc"] = binary_metrics(labels[va] == s, t_score[va])["auc"]
        curves = {"teacher": (labels[te] == s, t_score[te])}
        for mode, z in outputs.items():
            score = 1.0 / (1.0 + np.exp(-z[:, 0]))
            results[mode].update(binary_metrics(labels[te] == s, score[te]))
            results[mode]["val_auc"] = binary_metrics(labels[va] == s, score[va])["auc"]
            curves["KD student" if mode == "kd" else "scratch student"] = (labels[te] == s, score[te])
        plot_binary_roc(curves, cfg.signal_class, run_dir / "roc.png")
    teacher_m.update(teacher_info)
    plot_training_curves(histories, run_dir / "training_curves.png")

    metrics: dict[str, Any] = {
        "model": cfg.name, "task": cfg.task,
        "signal_class": cfg.signal_class if cfg.task == "regressor" else None,
        "data": {"path": str(jets_path), "fingerprint": dataset.fingerprint(),
                 "class_names": class_names, "n_train": int(len(train)), "n_val": int(len(val)),
                 "n_test": int(len(test)), "split_seed": cfg.training.split_seed},
        "distillation": config_to_dict(cfg.distillation),
        "pruning_steps": steps,
        "teacher": teacher_m, **results,
        "seconds": {"total": time.time() - started, "students": time.time() - t_started},
    }
    if "scratch" in results:
        main = "accuracy" if cfg.task == "classifier" else "auc"
        metrics["kd_gain"] = {main: results["kd"][main] - results["scratch"][main]}
    write_text_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=1))
    log.info("distillation of %s done in %.0f s", cfg.name, metrics["seconds"]["total"])
    return metrics
