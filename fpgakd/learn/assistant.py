"""A distill run directory as a teacher: the teacher-assistant step of a KD chain.

A medium student trained by ``fpgakd distill`` can teach a smaller one (teacher ->
assistant -> student, Mirzadeh et al. 2020). Its run directory holds all it takes:
``student_kd.h5`` (the model), ``config.yaml`` (what it reads: :func:`student_inputs`),
``standardization.json`` (how its inputs are scaled) and ``metrics.json`` (its classes,
data fingerprint and split). Its logits on a data file are cached like any teacher's soft
targets, keyed by the hash of those files and the data.

The assistant trained on the train split of its data, so its logits on those jets are
in-sample: there are no folds to give out-of-fold targets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.errors import DataError
from fpgakd.learn import rundir
from fpgakd.learn.logit_cache import cache_file, read_cached_logits, write_cached_logits
from fpgakd.learn.teacher import TeacherSpec, identity_extra, sha256_files, soft_target_key

__all__ = ["is_student_run", "load_student_run", "student_run_logits"]

#: a run directory holding a KD student, its config and scaling (:mod:`fpgakd.learn.rundir`)
is_student_run = rundir.is_student_run


def load_student_run(run_dir: str | os.PathLike) -> TeacherSpec:
    """Describe a classifier student's run directory as a teacher (a one-model spec).

    >>> load_student_run("runs/medium").meta["kind"]                # doctest: +SKIP
    'student_run'
    """
    run_dir = Path(run_dir)
    files = rundir.student_run_files(run_dir)
    if not is_student_run(run_dir):
        raise DataError(f"{run_dir}: not a distill run directory (needs {', '.join(f.name for f in files)})")
    cfg = rundir.read_run_config(run_dir)
    if cfg.task != "classifier":
        raise DataError(f"{run_dir}: student {cfg.name!r} is a {cfg.task} with one output; only a "
                        "classifier student gives the per-class logits a teacher must")
    metrics = rundir.read_run_metrics(run_dir) if rundir.run_metrics_file(run_dir).is_file() else {}
    data = metrics.get("data", {})
    meta: dict[str, Any] = {"kind": "student_run", "arch": f"student:{cfg.name}",
                            "class_names": data.get("class_names"), "output": "logits",
                            "models": [files[0].name], "inputs": cfg.inputs.type,
                            "split_seed": cfg.training.split_seed,
                            "data_fingerprint": data.get("fingerprint")}
    return TeacherSpec(source=run_dir, models=(files[0],),
                       class_names=tuple(meta["class_names"]) if meta["class_names"] else None,
                       constituent_features=None, n_constituents=None, standardization=None,
                       output="logits", identity=sha256_files(list(files), identity_extra(meta)), meta=meta)


def student_run_logits(run_dir: str | os.PathLike, dataset: Any, *,
                       cache_dir: str | os.PathLike) -> np.ndarray:
    """The run's KD student's logits (N, n_classes) float32 on every jet of ``dataset``, cached.

    >>> z = student_run_logits("runs/medium", load_jets("jets.h5"), cache_dir="cache")   # doctest: +SKIP
    """
    from fpgakd.jets.preprocessing import student_inputs
    from fpgakd.learn.students import load_student

    spec = load_student_run(run_dir)
    if spec.class_names is not None and spec.class_names != tuple(dataset.class_names):
        raise DataError(f"{run_dir}: student classes {list(spec.class_names)} differ from "
                        f"{dataset.source} classes {list(dataset.class_names)}")
    key = soft_target_key(spec, dataset, out_of_fold=False)
    cache = cache_file(cache_dir, key)
    shape = (len(dataset.labels), len(dataset.class_names))
    cached = read_cached_logits(cache, key, shape)
    if cached is not None:
        return cached
    cfg = rundir.read_run_config(spec.source)
    x, names = student_inputs(dataset, cfg.inputs)
    xs = rundir.read_run_standardizer(spec.source).transform(x, names)
    model = load_student(spec.models[0])
    if model.output_shape[-1] != shape[1]:
        raise DataError(f"{spec.models[0]}: student outputs {model.output_shape}, the data file "
                        f"{dataset.source} has {shape[1]} classes")
    logits = np.asarray(model.predict(xs, batch_size=4096, verbose=0), dtype=np.float32)
    write_cached_logits(cache, key, logits, {
        "teacher": str(spec.source), "teacher_identity": spec.identity,
        "data_fingerprint": dataset.fingerprint(), "out_of_fold": False,
        "class_names": list(dataset.class_names)})
    return logits
