"""The boost study's second experiment (after Liu et al. 2023): is a teacher's robustness transferred?

A teacher of the baseline teacher's config is trained on boost-augmented jets: every jet of
the runs' train and validation splits boosted along x by its own beta ~ U[0, beta_max]
(:func:`augment_training_jets`; the validation jets too, so that early stopping picks the
model that does best on the distribution it trains on). The test jets stay as stored, so the
file keeps the runs' split and none of its jets reaches the teacher's training. The set is
written to the cache (:func:`augmented_jets_path`, keyed by the data fingerprint and the
options), the teacher is cached as ``fpgakd distill`` caches its default teacher.

The first run's student config is then distilled twice with alpha = 0 (the teacher's soft
targets alone, no hard label enters the loss or the early stopping) on the *unboosted* jets:
once from the augmented teacher, once from the baseline teacher (:func:`alpha0_students`),
so the two students differ only in their teacher's augmentation. Both get the teacher's
fold-model mean as soft targets: the augmented teacher's folds were cut on another file, so
out-of-fold targets would exist for the baseline teacher alone.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.errors import ConfigError, DataError

__all__ = ["TEACHER", "AUGMENTED_TEACHER", "ALPHA0_FROM_TEACHER", "ALPHA0_FROM_AUGMENTED", "augment_training_jets",
           "augmented_jets_path", "baseline_teacher_config", "augmented_teacher_dir", "alpha0_students",
           "robustness_transfer"]

log = logging.getLogger(__name__)

#: model labels in the study's results: the baseline teacher, then the experiment's rows
TEACHER = "teacher"
AUGMENTED_TEACHER = "teacher (boost-augmented)"
ALPHA0_FROM_TEACHER = "alpha0 (teacher)"
ALPHA0_FROM_AUGMENTED = "alpha0 (boost-augmented teacher)"
_STEM = "boost_augmented"
#: part of the cache key: bump when the augmentation changes what it writes
_AUGMENTATION_VERSION = 1
#: the data-set arrays a boost rewrites
_BOOSTED_FIELDS = ("constituents", "mask", "jets", "hlf")


def augment_training_jets(dataset: Any, *, split_seed: int, beta_max: float, seed: int,
                          progress: bool = False) -> tuple[Any, np.ndarray]:
    """``dataset`` with its train and validation jets boosted along x, and each jet's beta.

    The split is the runs' (``split_seed``, stratified); each of those jets gets
    beta = u * ``beta_max`` with one seeded u ~ U[0, 1) per jet, and everything a model
    reads is rebuilt (:func:`fpgakd.studies.lorentz.boost_dataset`). Test jets, and any jet
    with beta = 0, keep their stored rows, so ``beta_max`` = 0 returns ``dataset`` itself.

    >>> augmented, betas = augment_training_jets(ds, split_seed=0, beta_max=0.5, seed=1)  # doctest: +SKIP
    """
    from fpgakd.jets.jetfile import HLF_NAMES
    from fpgakd.jets.preprocessing import split_indices
    from fpgakd.studies.lorentz import boost_dataset

    _, _, test = split_indices(dataset.n_jets, seed=split_seed, labels=dataset.labels)
    betas = np.random.default_rng(seed).uniform(0.0, 1.0, dataset.n_jets) * beta_max
    betas[test] = 0.0
    moved = np.flatnonzero(betas > 0)
    if moved.size == 0:
        return dataset, betas
    if dataset.hlf is not None and tuple(dataset.hlf_names) != HLF_NAMES:
        raise DataError(f"{dataset.source}: boosting rebuilds the 16 features {list(HLF_NAMES)}, "
                        f"the file holds {list(dataset.hlf_names)}")
    boosted = boost_dataset(dataset.subset(moved), betas=betas[moved], with_hlf=dataset.hlf is not None,
                            progress=progress)
    arrays = {}
    for name in _BOOSTED_FIELDS:
        if getattr(dataset, name) is not None:
            arrays[name] = getattr(dataset, name).copy()
            arrays[name][moved] = getattr(boosted, name)
    return dataclasses.replace(
        dataset, **arrays, attrs={**dataset.attrs, "boost_augmented": True},
        source=f"{dataset.source} (train and validation jets boosted along x, beta_max {beta_max:g})"), betas


def augmented_jets_path(jets_path: str | os.PathLike, dataset: Any, *, split_seed: int, beta_max: float,
                        seed: int, progress: bool = False) -> Path:
    """The boost-augmented jet file of ``dataset`` (at ``jets_path``): built once into the cache.

    ``cache_dir()/boost_augmented_<key>.h5``, keyed by the data fingerprint, split seed,
    ``beta_max`` and ``seed``, written atomically; ``beta_max`` = 0 is ``jets_path`` itself.

    >>> augmented_jets_path("jets.h5", load_jets("jets.h5"), split_seed=0, beta_max=0.5, seed=1)  # doctest: +SKIP
    PosixPath('/home/me/.cache/fpgakd/boost_augmented_5b0e....h5')
    """
    from fpgakd.cache import cache_dir
    from fpgakd.jets.jetfile import write_jet_file
    from fpgakd.learn.training import run_digest

    if beta_max == 0:
        return Path(jets_path)
    options = {"split_seed": split_seed, "beta_max": beta_max, "seed": seed, "version": _AUGMENTATION_VERSION}
    path = cache_dir() / f"{_STEM}_{run_digest(dataset.fingerprint(), options)}.h5"
    if path.is_file():
        return path
    log.info("boosting the training jets of %s (beta_max %g) into %s", jets_path, beta_max, path)
    augmented, _ = augment_training_jets(dataset, split_seed=split_seed, beta_max=beta_max, seed=seed,
                                         progress=progress)
    return write_jet_file(path, augmented, {"derived_from": str(jets_path),
                                            "derived_from_fingerprint": dataset.fingerprint(),
                                            "boost_augmentation": json.dumps(options)})


def baseline_teacher_config(teacher_dir: str | os.PathLike) -> Any:
    """The :class:`~fpgakd.config.TeacherConfig` a teacher directory was trained with.

    >>> baseline_teacher_config("runs/constituent_mlp/teacher").arch      # doctest: +SKIP
    'deepsets'
    """
    from fpgakd.config import TeacherConfig, config_from_stored
    from fpgakd.learn.rundir import TEACHER_JSON
    from fpgakd.learn.teacher import load_teacher

    spec = load_teacher(teacher_dir)
    if not isinstance(spec.meta.get("config"), dict):
        raise ConfigError(f"{spec.source}: key 'augmented_teacher': the baseline teacher records no "
                          f"training config ('config' in {TEACHER_JSON}): train it with fpgakd, or pass --teacher")
    # a teacher written before the training settings nested under training: stores them flat
    return config_from_stored(TeacherConfig, spec.meta["config"], str(spec.source))


def augmented_teacher_dir(jets_path: str | os.PathLike, dataset: Any, baseline_teacher: str | os.PathLike, *,
                          split_seed: int, beta_max: float, seed: int, progress: bool = False
                          ) -> tuple[Path, Path]:
    """(teacher directory, jet file): the baseline's teacher config trained on boost-augmented jets.

    Cached like ``fpgakd distill``'s default teacher (by the augmented file's fingerprint and
    the config), so a second study reuses it.

    >>> teacher, jets = augmented_teacher_dir("jets.h5", ds, "runs/c/teacher", split_seed=0,
    ...                                       beta_max=0.5, seed=1)          # doctest: +SKIP
    """
    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.distillation import default_teacher_dir

    config = baseline_teacher_config(baseline_teacher)
    path = augmented_jets_path(jets_path, dataset, split_seed=split_seed, beta_max=beta_max, seed=seed,
                               progress=progress)
    augmented = load_jets(path)
    return default_teacher_dir(path, augmented, split_seed=split_seed, config=config, progress=progress), path


def alpha0_students(run_cfg: Any, dataset: Any, teachers: dict[str, Path], split: tuple[np.ndarray, np.ndarray],
                    *, progress: bool = False) -> dict[str, Any]:
    """One student of ``run_cfg`` per teacher, trained with alpha = 0 on ``dataset``, by label.

    Each is a :class:`~fpgakd.studies.models.RunStudents` whose one model is keyed by the
    label (``{label: teacher directory}``); ``split`` is the run's (train, val).

    >>> alpha0_students(cfg, ds, {ALPHA0_FROM_TEACHER: Path("teacher")}, (tr, va))   # doctest: +SKIP
    """
    from fpgakd.cache import cache_dir
    from fpgakd.learn.teacher import teacher_logits
    from fpgakd.studies.models import train_students_on

    if run_cfg.task != "classifier":
        raise ConfigError(f"model {run_cfg.name}: key 'augmented_teacher' needs a classifier student "
                          f"(the first --run), got task {run_cfg.task!r}")
    cfg = dataclasses.replace(run_cfg, distillation=dataclasses.replace(run_cfg.distillation, alpha=0.0))
    out = {}
    for label, teacher in teachers.items():
        soft = teacher_logits(teacher, dataset, cache_dir=cache_dir() / "soft_targets", out_of_fold=False,
                              progress=progress)
        students = train_students_on(cfg, dataset, soft, split, modes=("kd",), progress=progress)
        out[label] = dataclasses.replace(students, models={label: students.models["kd"]})
    return out


def _accuracy(point: dict[str, Any], model: str) -> float:
    return point["scores"][model]["accuracy"]


def robustness_transfer(points: list[dict[str, Any]], student: str) -> dict[str, Any]:
    """Accuracy drop of each model of the experiment, and how much of the teacher's gain the student keeps.

    The drop runs from the smallest ``beta_max`` point (the file's jets when there is one
    point only) to the largest; a model's *gain* is how much less its augmented version
    drops. ``transferred_fraction`` = the alpha-0 student's gain / the teacher's gain (None
    when the augmentation made the teacher no more robust). ``student`` is the run name.

    >>> pts = [{"beta_max": b, "scores": {m: {"accuracy": a} for m, a in s.items()}} for b, s in
    ...        [(0.0, {"teacher": .7, AUGMENTED_TEACHER: .7, "s alpha0 (teacher)": .6,
    ...                "s alpha0 (boost-augmented teacher)": .6}),
    ...         (0.9, {"teacher": .5, AUGMENTED_TEACHER: .6, "s alpha0 (teacher)": .4,
    ...                "s alpha0 (boost-augmented teacher)": .45})]]
    >>> robustness_transfer(pts, "s")["transferred_fraction"]
    0.5
    """
    numeric = sorted((p for p in points if isinstance(p["beta_max"], float)), key=lambda p: p["beta_max"])
    first = numeric[0] if len(numeric) > 1 else points[0]
    last = numeric[-1]
    models = [TEACHER, AUGMENTED_TEACHER, f"{student} {ALPHA0_FROM_TEACHER}", f"{student} {ALPHA0_FROM_AUGMENTED}"]
    drop = {m: round(_accuracy(first, m) - _accuracy(last, m), 12) for m in models}
    teacher_gain = round(drop[models[0]] - drop[models[1]], 12)
    student_gain = round(drop[models[2]] - drop[models[3]], 12)
    return {"from_beta_max": first["beta_max"], "to_beta_max": last["beta_max"], "drop": drop,
            "teacher_gain": teacher_gain, "student_gain": student_gain,
            "transferred_fraction": round(student_gain / teacher_gain, 12) if teacher_gain > 0 else None}
