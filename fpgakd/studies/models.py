"""The trained models a study evaluates: a distill run's students and a teacher, scored on any jets.

A distill run directory (``fpgakd distill``) holds ``student_kd.h5`` / ``student_scratch.h5``,
``config.yaml`` (what the students read) and ``standardization.json`` (their input
scaling); :func:`load_run_students` reads them once and :func:`student_logits` applies the
run's own preprocessing to new jets. :func:`teacher_logits_on` scores a teacher directory.
:func:`train_students_on` trains a run's student config afresh on other jets or targets
(in memory, the same :class:`RunStudents`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import ModelConfig
from fpgakd.errors import DataError

__all__ = ["RunStudents", "load_run_students", "student_logits", "teacher_logits_on",
           "score_logits", "check_run_data", "train_students_on"]

@dataclass(frozen=True)
class RunStudents:
    """The students of one distill run, loaded (or trained in memory: no ``run_dir``), with what they read."""

    run_dir: Path | None
    config: ModelConfig
    standardizer: Any
    models: dict[str, Any]

    @property
    def name(self) -> str:
        """The student model's name, e.g. ``constituent_mlp``."""
        return self.config.name


def load_run_students(run_dir: str | os.PathLike) -> RunStudents:
    """Load the students (KD, and scratch where present) of a distill run directory.

    >>> load_run_students("runs/constituent_mlp").models.keys()        # doctest: +SKIP
    dict_keys(['kd', 'scratch'])
    """
    from fpgakd.learn.rundir import load_run, read_run_standardizer
    from fpgakd.learn.students import load_student

    run = load_run(run_dir)
    models = {mode: load_student(path) for mode, path in run.students.items()}
    return RunStudents(run.path, run.config, read_run_standardizer(run.path), models)


def train_students_on(cfg: ModelConfig, dataset: Any, soft: np.ndarray, split: tuple[np.ndarray, np.ndarray],
                      *, modes: tuple[str, ...] = ("kd", "scratch"), progress: bool = False) -> RunStudents:
    """Students of classifier config ``cfg`` trained on ``dataset`` with teacher logits ``soft`` (N, C).

    ``split`` is (train, val) indices, the caller's (a run's split, from the true labels);
    the inputs are standardized on the train jets. ``kd`` trains with ``cfg.distillation``
    (alpha 0: the teacher alone, the labels unused), ``scratch`` with the labels alone.

    >>> run = train_students_on(cfg, ds, soft, (train, val), modes=("kd",))     # doctest: +SKIP
    >>> student_logits(run, test_jets)["kd"].shape                            # doctest: +SKIP
    (6000, 5)
    """
    from fpgakd.jets.preprocessing import fit_student_standardizer, student_inputs
    from fpgakd.learn.losses import pack_classifier_targets
    from fpgakd.learn.training import train_student

    train, val = split
    x, names = student_inputs(dataset, cfg.inputs)
    standardizer = fit_student_standardizer(x[train], names, cfg.inputs)
    xs = standardizer.transform(x, names)
    n_classes = len(dataset.class_names)
    y = pack_classifier_targets(dataset.labels, soft, n_classes)
    models = {}
    for mode in modes:
        with tempfile.TemporaryDirectory(prefix=f"fpgakd-study-{mode}-") as ckpt:
            models[mode], _, _ = train_student(cfg, mode, xs, y, train, val, n_classes, Path(ckpt),
                                               progress=progress)
    return RunStudents(None, cfg, standardizer, models)


def student_logits(run: RunStudents, dataset: Any) -> dict[str, np.ndarray]:
    """Each student's outputs (N, n_classes) on ``dataset``, through the run's preprocessing.

    >>> student_logits(load_run_students("runs/constituent_mlp"), ds)["kd"].shape   # doctest: +SKIP
    (6000, 5)
    """
    from fpgakd.jets.preprocessing import student_inputs

    x, names = student_inputs(dataset, run.config.inputs)
    xs = run.standardizer.transform(x, names)
    return {mode: np.asarray(model.predict(xs, batch_size=4096, verbose=0), dtype=np.float64)
            for mode, model in run.models.items()}


def teacher_logits_on(teacher_dir: str | os.PathLike, dataset: Any) -> np.ndarray:
    """The teacher's logits (N, n_classes) on ``dataset`` (fold-model mean), not cached.

    >>> teacher_logits_on("runs/constituent_mlp/teacher", ds).shape     # doctest: +SKIP
    (6000, 5)
    """
    from fpgakd.learn.teacher import teacher_logits

    # boosted or degraded jets are made for one study: caching their logits would only fill the cache
    with tempfile.TemporaryDirectory(prefix="fpgakd-study-") as tmp:
        return teacher_logits(teacher_dir, dataset, cache_dir=tmp, out_of_fold=False, progress=False)


def score_logits(labels: np.ndarray, logits: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """Accuracy, per-class AUC and their mean (one-vs-rest) of a classifier's logits.

    >>> score_logits(np.array([0, 1]), np.array([[2., 0.], [0., 2.]]), ["q", "W"])["mean_auc"]
    1.0
    """
    from fpgakd.learn.metrics import classification_metrics

    m = classification_metrics(labels, logits, class_names)
    return {"accuracy": m["accuracy"], "auc": m["auc"],
            "mean_auc": float(np.mean(list(m["auc"].values()))) if m["auc"] else float("nan")}


def check_run_data(run_dir: str | os.PathLike, dataset: Any) -> int:
    """The run's split seed, after checking that it was trained on ``dataset``.

    Its test split is then jets none of its models trained on.

    >>> check_run_data("runs/constituent_mlp", load_jets(default_jets_path()))   # doctest: +SKIP
    0
    """
    from fpgakd.learn.rundir import read_run_metrics, run_metrics_file

    try:
        data = read_run_metrics(run_dir)["data"]
    except KeyError as err:
        raise DataError(f"{run_metrics_file(run_dir)}: cannot read the run's data record ({err})") from None
    if data.get("fingerprint") != dataset.fingerprint():
        raise DataError(f"{run_dir}: trained on {data.get('path')}, not on {dataset.source} "
                        "(fingerprints differ): its test split would not be held out; pass --jets")
    return int(data["split_seed"])
