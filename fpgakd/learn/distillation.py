"""Knowledge distillation of a teacher into a quantized, pruned QKeras student, as one run.

:func:`distill` reads as its steps: load and check the jets, find (or train) the teacher
and its soft targets, prepare the student's inputs and targets, train the KD student and
its scratch twin, evaluate all three, and write the run directory. The losses are in
:mod:`fpgakd.learn.losses`, one student's training in :mod:`fpgakd.learn.training`.

Unless disabled, every run also trains the same student without the teacher (``alpha = 1``,
or binary cross-entropy on signal-vs-rest for a regressor) with the same quantization,
pruning, seed and epochs, so the report compares like with like.

Outputs of :func:`distill` in ``run_dir``: ``student_kd.h5``, ``student_scratch.h5`` (and,
for HGQ students, their proxy models ``student_kd_proxy.h5``, ``student_scratch_proxy.h5``:
what the firmware implements, see :mod:`fpgakd.learn.hgq_students`; the EBOPs are in the
metrics),
``config.yaml``, ``standardization.json``, ``test_inputs.npy`` / ``test_labels.npy``
(standardized test jets), ``heldout_inputs.npy`` (test + validation jets, standardized: the
inputs of the firmware C-simulation check), ``metrics.json``, ``roc.png``,
``training_curves.png`` and, when the run trained its own teacher, ``teacher/``.

The run directory is built under a temporary name and renamed when complete: a failed or
interrupted run leaves the previous run intact, or nothing. What an interrupted run can
resume from (training checkpoints, a teacher trained for the run, soft targets) lives in
the cache (:func:`fpgakd.cache.cache_dir`), keyed by config, data and teacher.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Sequence
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import ModelConfig, TeacherConfig, config_to_dict
from fpgakd.errors import ConfigError
from fpgakd.learn.rundir import TEACHER_DIR, TEACHER_JSON
from fpgakd.learn.runtime import configure_tensorflow
from fpgakd.learn.shipped_teacher import shipped_teacher, teacher_key
from fpgakd.learn.training import checkpoint_dirs, run_digest

__all__ = ["distill", "default_teacher_dir", "MODES"]

log = logging.getLogger(__name__)

#: Background classes of the rejection metrics (signal vs q+g).
_BACKGROUND = ("q", "g")
_LABELS = {"kd": "KD student", "scratch": "scratch student"}
#: the students a run can train: with the teacher (kd) and without it (scratch)
MODES = tuple(_LABELS)


@dataclass
class _Prepared:
    """The student's view of the data: standardized inputs, split, and targets per mode."""

    xs: np.ndarray
    standardizer: Any
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    targets: dict[str, np.ndarray]
    n_outputs: int


@dataclass
class _Trained:
    """The trained students of one run and what their training produced."""

    models: dict[str, Any]
    outputs: dict[str, np.ndarray]
    histories: dict[str, dict[str, list[float]]]
    summaries: dict[str, dict[str, Any]]
    pruning_steps: dict[str, int]
    #: HGQ students: the proxy model per mode (what the firmware implements)
    proxies: dict[str, Any] = dataclasses.field(default_factory=dict)


# ---------------------------------------------------------------- step 1: jets
def _load_checked_jets(cfg: ModelConfig, jets_path: Path) -> Any:
    from fpgakd.jets.loading import load_jets

    if cfg.task == "particle_weight":
        raise ConfigError(f"model {cfg.name}: task particle_weight trains on events with pileup, "
                          "not jets: fpgakd distill --events EVENTS.h5")
    dataset = load_jets(jets_path)
    class_names = list(dataset.class_names)
    if cfg.task == "regressor":
        missing = [c for c in (cfg.signal_class, *_BACKGROUND) if c not in class_names]
        if missing:
            raise ConfigError(f"model {cfg.name}: key 'signal_class' ({cfg.signal_class!r}) and the "
                              f"background {list(_BACKGROUND)} must be classes of {jets_path}, "
                              f"which has {class_names} (missing {missing})")
    return dataset


# ---------------------------------------------------------------- step 2: teacher
def default_teacher_dir(jets_path: str | os.PathLike, dataset: Any, *, split_seed: int = 0,
                        config: TeacherConfig | None = None, progress: bool = True) -> Path:
    """The default teacher of ``dataset``: trained once into the cache, reused afterwards.

    Keyed by the data fingerprint and the teacher config (``config``, default
    :class:`TeacherConfig`, with ``split_seed``), so a scan and single runs on the same data
    share one teacher. Where the cache has none for the key but fpgakd ships one (the default
    dataset's, :mod:`fpgakd.learn.shipped_teacher`), that one is used instead of training.

    >>> default_teacher_dir("jets.h5", load_jets("jets.h5"))            # doctest: +SKIP
    PosixPath('/home/me/.cache/fpgakd/teachers/3f2a...')
    """
    import dataclasses

    from fpgakd.cache import cache_dir
    from fpgakd.learn.teacher import train_teacher

    config = dataclasses.replace(config or TeacherConfig(), split_seed=split_seed)
    digest = teacher_key(dataset.fingerprint(), config)
    cached = cache_dir() / "teachers" / digest
    if (cached / TEACHER_JSON).is_file():
        return cached
    shipped = shipped_teacher(digest)
    if shipped is not None:
        log.info("no teacher given: the default teacher of this data, shipped trained with fpgakd "
                 "(%s; `fpgakd teacher` trains it anew)", shipped)
        return shipped
    log.info("no teacher given: training one (kept in %s)", cached)
    train_teacher(jets_path, cached, config=config, progress=progress)
    return cached


def _default_teacher_dir(cfg: ModelConfig, jets_path: Path, run_dir: Path, dataset: Any,
                         progress: bool) -> tuple[Path, bool]:
    """The teacher of a run given none: the previous run's, else one trained into the cache.

    Returns (teacher directory, whether it belongs in the run directory).
    """
    previous = run_dir / TEACHER_DIR
    if (previous / TEACHER_JSON).is_file():
        return previous, True
    return default_teacher_dir(jets_path, dataset, split_seed=cfg.training.split_seed,
                               progress=progress), True


def _resolve_teachers(cfg: ModelConfig, jets_path: Path, run_dir: Path, teacher_paths: list[Path],
                      dataset: Any, progress: bool) -> tuple[list[Path], bool]:
    """The run's teacher sources (the default teacher when none is given), each checked
    against the student's split; and whether the (single, default) teacher joins the run."""
    from fpgakd.learn.soft_targets import load_teacher_source

    own = False
    if not teacher_paths:
        default, own = _default_teacher_dir(cfg, jets_path, run_dir, dataset, progress)
        teacher_paths = [default]
    for path in teacher_paths:
        meta = load_teacher_source(path).meta
        if meta.get("data_fingerprint") == dataset.fingerprint() and \
                meta.get("split_seed") != cfg.training.split_seed:
            raise ConfigError(f"{path}: teacher trained with split_seed={meta.get('split_seed')}, "
                              f"the student config has training.split_seed={cfg.training.split_seed}: "
                              "the teacher would have seen the student's test jets")
    return teacher_paths, own


def _teacher_paths(cfg: ModelConfig, teacher_path: Any) -> list[Path]:
    """--teacher (one path or several) if given, else the config's distillation.teachers."""
    if teacher_path is None:
        return [Path(p) for p in cfg.distillation.teachers]
    if isinstance(teacher_path, (str, os.PathLike)):
        return [Path(teacher_path)]
    return [Path(p) for p in teacher_path]


def _teacher_summary(specs: list[Any], paths: list[Path], own: bool, run_dir: Path,
                     identity: str, dataset: Any, out_of_fold: bool) -> dict[str, Any]:
    """What metrics.json says of the teacher (or, as lists, of the ensemble's members)."""
    def one_or_list(values: list[Any]) -> Any:
        return values[0] if len(values) == 1 else values

    shown = [run_dir / TEACHER_DIR] if own else paths
    return {"path": one_or_list([str(p) for p in shown]), "identity": identity,
            "arch": one_or_list([s.meta.get("arch") for s in specs]),
            "n_models": sum(len(s.models) for s in specs),
            "out_of_fold": any(out_of_fold and len(s.models) > 1
                               and s.meta.get("data_fingerprint") == dataset.fingerprint() for s in specs)}


def _teacher_logits(cfg: ModelConfig, teacher_dirs: list[Path], dataset: Any,
                    cache_dir: str | os.PathLike | None, out_of_fold: bool, progress: bool
                    ) -> tuple[np.ndarray, list[Any], str]:
    """(the teachers' soft targets on every jet, the teacher sources, the ensemble's identity)."""
    from fpgakd.cache import cache_dir as default_cache
    from fpgakd.learn.soft_targets import ensemble_identity, ensemble_logits, load_teacher_source

    mean = cfg.distillation.ensemble_mean
    soft = ensemble_logits(teacher_dirs, dataset, cache_dir=cache_dir or default_cache() / "soft_targets",
                           mean=mean, out_of_fold=out_of_fold, progress=progress)
    specs = [load_teacher_source(p) for p in teacher_dirs]
    return soft, specs, ensemble_identity(specs, mean)


# ---------------------------------------------------------------- step 3: inputs and targets
def _prepare(cfg: ModelConfig, dataset: Any, soft: np.ndarray, modes: tuple[str, ...]) -> _Prepared:
    from fpgakd.jets.preprocessing import fit_student_standardizer, split_indices, student_inputs
    from fpgakd.jets.preprocessing import subsample_stratified
    from fpgakd.learn.losses import pack_classifier_targets

    labels = np.asarray(dataset.labels, dtype=np.int64)
    class_names = list(dataset.class_names)
    x, names = student_inputs(dataset, cfg.inputs)
    train, val, test = split_indices(len(labels), seed=cfg.training.split_seed, labels=labels)
    if cfg.training.train_fraction < 1.0:
        train = subsample_stratified(train, labels, cfg.training.train_fraction, seed=cfg.training.seed)
    standardizer = fit_student_standardizer(x[train], names, cfg.inputs)
    xs = np.asarray(standardizer.transform(x), dtype=np.float32)
    if cfg.task == "classifier":
        n_out = len(class_names)
        y_kd = y_scratch = pack_classifier_targets(labels, soft, n_out)
    else:
        n_out = 1
        p = np.exp(soft - soft.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        signal = class_names.index(cfg.signal_class)
        y_kd = p[:, [signal]].astype(np.float32)
        y_scratch = (labels == signal).astype(np.float32)[:, None]
    targets = {mode: {"kd": y_kd, "scratch": y_scratch}[mode] for mode in modes}
    return _Prepared(xs, standardizer, train, val, test, targets, n_out)


# ---------------------------------------------------------------- step 4: the KD/scratch pair
def _train_pair(cfg: ModelConfig, prep: _Prepared, checkpoints: dict[str, Path],
                progress: bool, extra_callbacks: dict[str, list[Any]]) -> _Trained:
    import tensorflow as tf

    from fpgakd.learn.students import student_summary
    from fpgakd.learn.training import train_student

    trained = _Trained({}, {}, {}, {}, {})
    for mode, y_packed in prep.targets.items():
        ckpt = checkpoints[mode]
        if (ckpt / "backup").is_dir():
            log.info("resuming %s student from %s", mode, ckpt)
        started = time.time()
        model, hist, trained.pruning_steps = train_student(
            cfg, mode, prep.xs, y_packed, prep.train, prep.val, prep.n_outputs, ckpt, progress=progress,
            extra_callbacks=extra_callbacks.get(mode, []))
        trained.models[mode] = model
        trained.histories[_LABELS[mode]] = hist
        trained.summaries[mode] = {**student_summary(model, cfg), "train_seconds": time.time() - started}
        evaluated = model
        if cfg.quantization.enabled and cfg.quantization.kind == "hgq":
            from fpgakd.learn.hgq_students import hgq_proxy

            # the proxy computes what the firmware computes: its accuracy is the one reported
            evaluated, trained.summaries[mode]["ebops"] = hgq_proxy(model, prep.xs[prep.train])
            trained.proxies[mode] = evaluated
        trained.outputs[mode] = np.asarray(evaluated.predict(prep.xs, batch_size=4096, verbose=0),
                                           dtype=np.float64)
        tf.keras.backend.clear_session()
    return trained


# ---------------------------------------------------------------- step 5: evaluation
def _signal_score(logits: np.ndarray, class_names: list[str], signal: str) -> np.ndarray:
    from fpgakd.learn.metrics import softmax

    p = softmax(logits)
    s = class_names.index(signal)
    bkg = [class_names.index(b) for b in _BACKGROUND]
    return p[:, s] / np.maximum(p[:, s] + p[:, bkg].sum(axis=1), 1e-30)


def _evaluate_classifier(labels: np.ndarray, class_names: list[str], soft: np.ndarray,
                         prep: _Prepared, outputs: dict[str, np.ndarray]
                         ) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    from fpgakd.learn.metrics import classification_metrics

    def accuracy(z: np.ndarray, rows: np.ndarray) -> float:
        return float(np.mean(z[rows].argmax(1) == labels[rows]))

    test, val = prep.test, prep.val
    teacher = classification_metrics(labels[test], soft[test], class_names)
    # on the student's training jets: out of fold where the teacher's folds allow, else in sample
    teacher.update(val_accuracy=accuracy(soft, val), train_accuracy=accuracy(soft, prep.train))
    students = {}
    for mode, z in outputs.items():
        students[mode] = classification_metrics(labels[test], z[test], class_names)
        # beside the test accuracy, the training jets' tells how far the student fits them
        # better than unseen ones: the room a teacher's soft targets have to regularise
        students[mode].update(val_accuracy=accuracy(z, val), train_accuracy=accuracy(z, prep.train))
    curves = {"teacher": (labels[test], soft[test]),
              **{_LABELS[m]: (labels[test], z[test]) for m, z in outputs.items()}}
    return teacher, students, curves


def _evaluate_regressor(labels: np.ndarray, class_names: list[str], signal_class: str,
                        soft: np.ndarray, prep: _Prepared, outputs: dict[str, np.ndarray]
                        ) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    from fpgakd.learn.metrics import binary_metrics

    s = class_names.index(signal_class)
    keep = [class_names.index(b) for b in _BACKGROUND] + [s]
    te, va, tr = (rows[np.isin(labels[rows], keep)] for rows in (prep.test, prep.val, prep.train))

    def auc(score: np.ndarray, rows: np.ndarray) -> float:
        return binary_metrics(labels[rows] == s, score[rows])["auc"]

    t_score = _signal_score(soft, class_names, signal_class)
    teacher = binary_metrics(labels[te] == s, t_score[te])
    teacher.update(val_auc=auc(t_score, va), train_auc=auc(t_score, tr))
    curves = {"teacher": (labels[te] == s, t_score[te])}
    students = {}
    for mode, z in outputs.items():
        score = 1.0 / (1.0 + np.exp(-z[:, 0]))
        students[mode] = binary_metrics(labels[te] == s, score[te])
        students[mode].update(val_auc=auc(score, va), train_auc=auc(score, tr))
        curves[_LABELS[mode]] = (labels[te] == s, score[te])
    return teacher, students, curves


def _evaluate(cfg: ModelConfig, dataset: Any, soft: np.ndarray, prep: _Prepared,
              outputs: dict[str, np.ndarray]
              ) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    """(teacher metrics, metrics per student mode, ROC curves) on the test jets."""
    labels = np.asarray(dataset.labels, dtype=np.int64)
    class_names = list(dataset.class_names)
    if cfg.task == "classifier":
        return _evaluate_classifier(labels, class_names, soft, prep, outputs)
    return _evaluate_regressor(labels, class_names, cfg.signal_class, soft, prep, outputs)


def _run_metrics(cfg: ModelConfig, jets_path: Path, dataset: Any, prep: _Prepared,
                 trained: _Trained, teacher_m: dict[str, Any], students: dict[str, dict[str, Any]],
                 started: float, students_started: float) -> dict[str, Any]:
    """The run's metrics.json: data, distillation settings, teacher and students, KD gain."""
    results = {mode: {**trained.summaries[mode], **students[mode]} for mode in trained.models}
    metrics: dict[str, Any] = {
        "model": cfg.name, "task": cfg.task,
        "signal_class": cfg.signal_class if cfg.task == "regressor" else None,
        "data": {"path": str(jets_path), "fingerprint": dataset.fingerprint(),
                 "class_names": list(dataset.class_names), "n_train": int(len(prep.train)),
                 "n_val": int(len(prep.val)), "n_test": int(len(prep.test)),
                 "split_seed": cfg.training.split_seed},
        "distillation": config_to_dict(cfg.distillation),
        "pruning_steps": trained.pruning_steps,
        "teacher": teacher_m, **results,
        "seconds": {"total": time.time() - started, "students": time.time() - students_started},
    }
    if {"kd", "scratch"} <= set(results):
        main = "accuracy" if cfg.task == "classifier" else "auc"
        metrics["kd_gain"] = {main: results["kd"][main] - results["scratch"][main]}
    return metrics


# ---------------------------------------------------------------- step 6: the run directory
def _write_run(tmp: Path, cfg: ModelConfig, prep: _Prepared, labels: np.ndarray,
               trained: _Trained, curves: dict[str, Any], metrics: dict[str, Any],
               teacher_dir: Path | None) -> None:
    from fpgakd.learn import rundir
    from fpgakd.learn.metrics import plot_binary_roc, plot_roc, plot_training_curves

    rundir.write_students(tmp, trained.models)
    rundir.write_proxies(tmp, trained.proxies)
    rundir.write_run_inputs(tmp, cfg, prep.standardizer, test_inputs=prep.xs[prep.test],
                            test_labels=labels[prep.test],
                            heldout_inputs=prep.xs[np.concatenate([prep.test, prep.val])])
    if cfg.task == "classifier":
        plot_roc(curves, metrics["data"]["class_names"], tmp / rundir.ROC_PLOT_FILE)
    else:
        plot_binary_roc(curves, cfg.signal_class, tmp / rundir.ROC_PLOT_FILE)
    plot_training_curves(trained.histories, tmp / rundir.TRAINING_CURVES_FILE)
    if teacher_dir is not None:
        rundir.copy_run_teacher(tmp, teacher_dir)
    rundir.write_run_metrics(tmp, metrics)


def _remove_checkpoints(checkpoints: dict[str, Path]) -> None:
    """Drop the training checkpoints of a completed run, and their folder once empty."""
    for ckpt in checkpoints.values():
        shutil.rmtree(ckpt, ignore_errors=True)
    with contextlib.suppress(OSError):   # the run's checkpoint folder, once empty
        next(iter(checkpoints.values())).parent.rmdir()


# ---------------------------------------------------------------- the run
def _check_modes(modes: tuple[str, ...] | None, compare_scratch: bool) -> tuple[str, ...]:
    if modes is None:
        return ("kd", "scratch") if compare_scratch else ("kd",)
    modes = tuple(modes)
    if not modes or len(set(modes)) != len(modes) or not set(modes) <= set(MODES):
        raise ConfigError(f"modes: got {modes!r}, allowed: a non-empty selection of {list(MODES)}")
    return modes


def distill(model_cfg: ModelConfig, jets_path: str | os.PathLike, run_dir: str | os.PathLike, *,
            teacher_path: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
            compare_scratch: bool = True, modes: tuple[str, ...] | None = None,
            cache_dir: str | os.PathLike | None = None, out_of_fold: bool = True,
            progress: bool = True, extra_callbacks: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    """Train the KD student (and its scratch twin) for ``model_cfg``; write the run directory.

    ``teacher_path`` is one teacher source or several (an ensemble, see
    :mod:`fpgakd.learn.soft_targets`): a teacher directory, a Keras model file, or another
    run's directory (a teacher assistant). Without it the config's ``distillation.teachers``
    are used; without those the run's teacher is ``run_dir/teacher`` from a previous run,
    else one is trained (and copied into the run). Soft targets are cached in ``cache_dir``
    (default: the fpgakd cache). Returns the metrics dict also written to
    ``run_dir/metrics.json``. ``run_dir`` appears (or is replaced) only when complete.
    ``modes`` picks the students to train, from :data:`MODES` (``("kd",)``, ``("scratch",)``
    or both); it overrides ``compare_scratch``, which means ``("kd", "scratch")`` if true,
    ``("kd",)`` if false. ``extra_callbacks`` maps a mode to further Keras callbacks its
    student trains with (e.g. :func:`fpgakd.learn.hgq_sweep.epoch_snapshots`).

    >>> m = distill(load_model_config("constituent_mlp"), "jets.h5", "runs/c")   # doctest: +SKIP
    >>> m["kd"]["accuracy"] > m["scratch"]["accuracy"]                            # doctest: +SKIP
    True
    """
    configure_tensorflow()
    from fpgakd.atomic import atomic_dir

    cfg = model_cfg
    modes = _check_modes(modes, compare_scratch)
    started = time.time()
    jets_path, run_dir = Path(jets_path), Path(run_dir)
    dataset = _load_checked_jets(cfg, jets_path)
    teacher_dirs, own_teacher = _resolve_teachers(cfg, jets_path, run_dir, _teacher_paths(cfg, teacher_path),
                                                  dataset, progress)
    students_started = time.time()
    soft, specs, identity = _teacher_logits(cfg, teacher_dirs, dataset, cache_dir, out_of_fold, progress)
    prep = _prepare(cfg, dataset, soft, modes)

    key = run_digest(config_to_dict(cfg), dataset.fingerprint(), identity, out_of_fold)
    checkpoints = checkpoint_dirs(run_dir, key, list(prep.targets))
    trained = _train_pair(cfg, prep, checkpoints, progress, extra_callbacks or {})

    teacher_m, students, curves = _evaluate(cfg, dataset, soft, prep, trained.outputs)
    teacher_m.update(_teacher_summary(specs, teacher_dirs, own_teacher, run_dir, identity, dataset,
                                      out_of_fold))
    metrics = _run_metrics(cfg, jets_path, dataset, prep, trained, teacher_m, students,
                           started, students_started)
    with atomic_dir(run_dir) as tmp:
        _write_run(tmp, cfg, prep, np.asarray(dataset.labels, dtype=np.int64), trained, curves,
                   metrics, teacher_dirs[0] if own_teacher else None)
    _remove_checkpoints(checkpoints)
    log.info("distillation of %s done in %.0f s", cfg.name, metrics["seconds"]["total"])
    return metrics
