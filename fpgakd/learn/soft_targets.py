"""Soft targets of one teacher or an ensemble: what ``fpgakd distill --teacher ...`` reads.

A teacher source is a teacher directory, a Keras model file (:mod:`fpgakd.learn.teacher`)
or a distill run directory (a teacher assistant, :mod:`fpgakd.learn.assistant`). Several
sources form an ensemble whose soft targets are the mean of the members' logits
(``distillation.ensemble_mean: logits``, the default) or of their probabilities
(``probabilities``, returned as log-probabilities, which softmax maps back to them).

Why logits by default: the fold models of one teacher are combined that way already, the
mean is blind to each member's arbitrary per-jet logit offset (softmax(z + c) = softmax(z)),
and the KD temperature then acts on the ensemble exactly as on one teacher: softmax(mean z / T)
is the normalised geometric mean of the members' tempered probabilities. The arithmetic
mean of probabilities is the classical ensemble prediction; it is there for comparison.

Each member's logits are cached under its own key; the ensemble mean is cached too, under a
hash of the members' keys and the mean kind, so a changed member gives a new entry.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from fpgakd.learn.assistant import is_student_run, load_student_run, student_run_logits
from fpgakd.errors import ConfigError
from fpgakd.learn.logit_cache import cache_file, logits_key, read_cached_logits, write_cached_logits
from fpgakd.learn.teacher import TeacherSpec, load_teacher, teacher_logits

__all__ = ["load_teacher_source", "member_logits", "ensemble_logits", "ensemble_identity"]

#: ways of averaging the members (``DistillationConfig.ensemble_mean``)
ENSEMBLE_MEANS = ("logits", "probabilities")


def load_teacher_source(path: str | os.PathLike) -> TeacherSpec:
    """The spec of a teacher directory, Keras model file or distill run directory.

    >>> load_teacher_source("runs/medium").meta["kind"]             # doctest: +SKIP
    'student_run'
    """
    return load_student_run(path) if is_student_run(path) else load_teacher(path)


def member_logits(path: str | os.PathLike, dataset: Any, *, cache_dir: str | os.PathLike,
                  out_of_fold: bool = True, progress: bool = True) -> np.ndarray:
    """One teacher source's logits (N, n_classes) on ``dataset``, cached.

    >>> z = member_logits("runs/teacher", ds, cache_dir="cache")    # doctest: +SKIP
    """
    if is_student_run(path):
        return student_run_logits(path, dataset, cache_dir=cache_dir)
    return teacher_logits(path, dataset, cache_dir=cache_dir, out_of_fold=out_of_fold, progress=progress)


def ensemble_identity(specs: Sequence[TeacherSpec], mean: str = "logits") -> str:
    """One identity for a list of teachers: a single teacher keeps its own.

    >>> ensemble_identity([load_teacher("a"), load_teacher("b")])[:8]   # doctest: +SKIP
    '5be1f0a2'
    """
    if len(specs) == 1:
        return specs[0].identity
    text = "\n".join(["ensemble", mean, *sorted(s.identity for s in specs)])
    return hashlib.sha256(text.encode()).hexdigest()


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def ensemble_logits(paths: Sequence[str | os.PathLike], dataset: Any, *, cache_dir: str | os.PathLike,
                    mean: str = "logits", out_of_fold: bool = True, progress: bool = True) -> np.ndarray:
    """Soft-target logits (N, n_classes) float32 of one teacher source or the mean of several.

    >>> z = ensemble_logits(["runs/t1", "runs/t2"], ds, cache_dir="cache")   # doctest: +SKIP
    """
    if mean not in ENSEMBLE_MEANS:
        raise ConfigError(f"distillation.ensemble_mean: got {mean!r}, allowed: {', '.join(ENSEMBLE_MEANS)}")
    if len(paths) == 1:
        return member_logits(paths[0], dataset, cache_dir=cache_dir, out_of_fold=out_of_fold,
                             progress=progress)
    specs = [load_teacher_source(p) for p in paths]
    key = logits_key(ensemble_identity(specs, mean), dataset.fingerprint(), out_of_fold)
    cache = cache_file(cache_dir, key)
    shape = (len(dataset.labels), len(dataset.class_names))
    cached = read_cached_logits(cache, key, shape)
    if cached is not None:
        return cached
    members = np.stack([member_logits(p, dataset, cache_dir=cache_dir, out_of_fold=out_of_fold,
                                      progress=progress) for p in paths]).astype(np.float64)
    if mean == "logits":
        logits = members.mean(axis=0)
    else:
        p = np.exp(np.stack([_log_softmax(z) for z in members])).mean(axis=0)
        logits = np.log(p)
    logits = logits.astype(np.float32)
    write_cached_logits(cache, key, logits, {
        "teacher": [str(p) for p in paths], "teacher_identity": ensemble_identity(specs, mean),
        "data_fingerprint": dataset.fingerprint(), "out_of_fold": bool(out_of_fold),
        "ensemble_mean": mean, "class_names": list(dataset.class_names)})
    return logits
