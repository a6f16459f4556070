"""DistillNet: a per-particle student regressing the event teacher's soft pileup weights.

:func:`distill_particles` reads as its steps: the event file's 16 inputs per particle (17 with
``inputs.puppi_raw_weight``), the
pileup teacher (given, or the default one trained once into the cache) and its soft
labels, the split over events shared with the teacher, the student trained per particle
on the soft labels alone with the MAE of sigmoid(logit) to them (no truth flag enters its
training: Bal et al. 2024), and the run directory.

Outputs in ``run_dir`` (the contract: :mod:`fpgakd.learn.rundir`): ``config.yaml``, ``student_kd.h5``
(and, for an HGQ student, its proxy ``student_kd_proxy.h5``: the ``student`` weights and the
firmware come from the proxy, the summary holds its exact EBOPs),
``standardization.json``, ``test_inputs.npy`` (the standardized particles of the test
events, the firmware C-simulation's inputs), ``weights_test.npz`` (``event_indices`` of the
test events and the ``teacher``, ``puppi`` and ``student`` weights of their particles, in
the order of ``events.subset(event_indices)``), ``metrics.json`` (``"events"``: the event
file) and ``training_curves.png``. The directory appears only when complete.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import ModelConfig, config_to_dict
from fpgakd.errors import ConfigError
from fpgakd.learn.pileup.events import PileupData
from fpgakd.learn.rundir import TEST_INPUTS_FILE
from fpgakd.learn.runtime import configure_tensorflow

__all__ = ["distill_particles", "packed_targets", "default_pileup_teacher_dir", "DEFAULT_PILEUP_TEACHER",
           "MIN_CSIM_PARTICLES"]

log = logging.getLogger(__name__)

#: the teacher trained when none is given: a name under teachers/
DEFAULT_PILEUP_TEACHER = "pileup_edgeconv"
#: held-out particles the firmware check wants: a bit-exact C-simulation on fewer would
#: leave rare rounding differences unseen
MIN_CSIM_PARTICLES = 10_000
_MODE = "kd"


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))).astype(np.float32)


# ---------------------------------------------------------------- the teacher
def default_pileup_teacher_dir(data: PileupData, events_path: str | os.PathLike, *,
                               split_seed: int = 0, progress: bool = True) -> Path:
    """The default pileup teacher of ``data``: trained once into the cache, reused afterwards.

    >>> default_pileup_teacher_dir(load_pileup_data("events.h5"), "events.h5")   # doctest: +SKIP
    PosixPath('/home/me/.cache/fpgakd/teachers/9c1e...')
    """
    import dataclasses

    from fpgakd.cache import cache_dir
    from fpgakd.config import config_fields, load_pileup_teacher_config
    from fpgakd.learn.pileup.teacher import TEACHER_JSON, fit_pileup_teacher
    from fpgakd.learn.training import run_digest

    config = dataclasses.replace(load_pileup_teacher_config(DEFAULT_PILEUP_TEACHER), split_seed=split_seed)
    cached = cache_dir() / "teachers" / run_digest("pileup", data.fingerprint, config_fields(config))
    if not (cached / TEACHER_JSON).is_file():
        log.info("no pileup teacher given: training one (kept in %s)", cached)
        fit_pileup_teacher(data, cached, config=config, events_path=events_path, progress=progress)
    return cached


def _checked_teacher(cfg: ModelConfig, teacher_path: str | os.PathLike | None, data: PileupData,
                     events_path: Path, progress: bool) -> Path:
    """The teacher directory, refused if it trained on these events with another split."""
    from fpgakd.learn.pileup.teacher import load_pileup_teacher

    split_seed = cfg.training.split_seed
    if teacher_path is None:
        return default_pileup_teacher_dir(data, events_path, split_seed=split_seed, progress=progress)
    meta = load_pileup_teacher(teacher_path).meta
    if meta.get("data_fingerprint") == data.fingerprint and meta.get("split_seed") != split_seed:
        raise ConfigError(f"{teacher_path}: teacher trained with split_seed={meta.get('split_seed')}, "
                          f"the student config has training.split_seed={split_seed}: the teacher "
                          "would have seen the student's test events")
    return Path(teacher_path)


# ---------------------------------------------------------------- the student
def packed_targets(cfg: ModelConfig, soft: np.ndarray, pt: np.ndarray, train_rows: np.ndarray) -> np.ndarray:
    """The student's packed targets: [soft label], or [soft label | weight] with
    ``distillation.particle_weighting: pt`` (each particle's pT over the training particles'
    mean pT, so that the loss keeps its scale).

    >>> import dataclasses
    >>> from fpgakd.config import load_model_config
    >>> cfg = load_model_config("distillnet")
    >>> cfg = dataclasses.replace(cfg, distillation=dataclasses.replace(cfg.distillation, particle_weighting="pt"))
    >>> packed_targets(cfg, np.array([0.2, 0.9]), np.array([1.0, 3.0]), np.arange(2)).tolist()
    [[0.20000000298023224, 0.5], [0.8999999761581421, 1.5]]
    """
    soft = np.asarray(soft, dtype=np.float32)[:, None]
    if cfg.distillation.particle_weighting == "none":
        return soft
    pt = np.asarray(pt, dtype=np.float64)
    weight = pt / pt[train_rows].mean()
    return np.concatenate([soft, weight.astype(np.float32)[:, None]], axis=1)


def _train(cfg: ModelConfig, xs: np.ndarray, packed: np.ndarray, rows: dict[str, np.ndarray],
           key_parts: tuple[Any, ...], run_dir: Path, progress: bool) -> tuple[Any, dict[str, Any]]:
    from fpgakd.learn.students import student_summary
    from fpgakd.learn.training import checkpoint_dirs, run_digest, train_student

    started = time.time()
    checkpoint = checkpoint_dirs(run_dir, run_digest(*key_parts), [_MODE])[_MODE]
    # the packed target is the soft label (and its weight): the truth flags never reach the loss
    model, history, steps = train_student(cfg, _MODE, xs, packed, rows["train"], rows["val"], 1,
                                          checkpoint, progress=progress)
    shutil.rmtree(checkpoint, ignore_errors=True)
    with contextlib.suppress(OSError):   # the run's checkpoint folder, once empty
        checkpoint.parent.rmdir()
    summary = {**student_summary(model, cfg), "train_seconds": time.time() - started}
    proxies = {}
    if cfg.quantization.enabled and cfg.quantization.kind == "hgq":
        from fpgakd.learn.hgq_students import hgq_proxy

        # the proxy computes what the firmware computes: its weights are the ones reported
        proxies[_MODE], summary["ebops"] = hgq_proxy(model, xs[rows["train"]])
    return model, {"history": history, "pruning_steps": steps, "summary": summary, "proxies": proxies}


def _metrics(cfg: ModelConfig, data: PileupData, events_path: Path, teacher_dir: Path,
             split: dict[str, np.ndarray], weights: dict[str, np.ndarray], trained: dict[str, Any],
             started: float) -> dict[str, Any]:
    from fpgakd.learn.pileup.metrics import weight_metrics
    from fpgakd.learn.pileup.teacher import load_pileup_teacher

    test_rows = data.rows(split["test"])
    truth, soft = data.is_hard[test_rows], weights["teacher"]
    teacher = load_pileup_teacher(teacher_dir)
    return {
        "model": cfg.name, "task": cfg.task, "events": str(events_path),
        "data": {"fingerprint": data.fingerprint, "split_seed": cfg.training.split_seed,
                 "n_events": {k: int(len(v)) for k, v in split.items()},
                 "n_particles": {k: int(len(data.rows(v))) for k, v in split.items()}},
        "teacher": {**weight_metrics(truth, soft), "path": str(teacher_dir), "identity": teacher.identity},
        "puppi": weight_metrics(truth, weights["puppi"], soft),
        _MODE: {**weight_metrics(truth, weights["student"], soft), **trained["summary"]},
        "distillation": config_to_dict(cfg.distillation),
        "pruning_steps": trained["pruning_steps"],
        "seconds": {"total": time.time() - started},
    }


def _write_run(tmp: Path, cfg: ModelConfig, model: Any, standardizer: Any, xs_test: np.ndarray,
               test_events: np.ndarray, weights: dict[str, np.ndarray], metrics: dict[str, Any],
               trained: dict[str, Any]) -> None:
    from fpgakd.learn import rundir
    from fpgakd.learn.metrics import plot_training_curves

    history = trained["history"]
    rundir.write_students(tmp, {_MODE: model})
    rundir.write_proxies(tmp, trained["proxies"])
    rundir.write_run_inputs(tmp, cfg, standardizer, test_inputs=xs_test)
    rundir.write_particle_weights(tmp, test_events, weights)
    plot_training_curves({"student": history}, tmp / rundir.TRAINING_CURVES_FILE)
    rundir.write_run_metrics(tmp, metrics)


def distill_particles(model_cfg: ModelConfig, events_path: str | os.PathLike, run_dir: str | os.PathLike, *,
                      teacher_path: str | os.PathLike | None = None, puppi: np.ndarray | None = None,
                      puppi_raw: np.ndarray | None = None, cache_dir: str | os.PathLike | None = None,
                      progress: bool = True) -> dict[str, Any]:
    """Train the per-particle student of ``model_cfg`` on the pileup teacher's soft labels.

    ``teacher_path`` is a pileup teacher directory (``fpgakd teacher --events``); without it
    the default teacher (``teachers/pileup_edgeconv.yaml``) is trained once into the cache.
    ``puppi`` gives one PUPPI weight per particle of the file (else they are computed);
    ``puppi_raw`` the default PUPPI's weights before its cuts where ``puppi`` is that PUPPI's.
    Soft labels are cached in ``cache_dir`` (default: the fpgakd cache). Returns the
    metrics also written to ``run_dir/metrics.json``.

    >>> m = distill_particles(load_model_config("qdistillnet"), "events.h5", "runs/qdistillnet")  # doctest: +SKIP
    >>> m["kd"]["mae_to_teacher"] < m["puppi"]["mae_to_teacher"]                                 # doctest: +SKIP
    True
    """
    configure_tensorflow()
    from fpgakd.atomic import atomic_dir
    from fpgakd.jets.preprocessing import Standardizer
    from fpgakd.learn.pileup.events import load_pileup_data, student_inputs
    from fpgakd.learn.pileup.teacher import pileup_soft_labels

    if model_cfg.task != "particle_weight":
        raise ConfigError(f"model {model_cfg.name}: key 'task' is {model_cfg.task!r}; the events path "
                          "trains per-particle students (task: particle_weight), e.g. --model qdistillnet")
    started = time.time()
    events_path, run_dir = Path(events_path), Path(run_dir)
    data = load_pileup_data(events_path, puppi, puppi_raw)
    teacher_dir = _checked_teacher(model_cfg, teacher_path, data, events_path, progress)
    soft = pileup_soft_labels(teacher_dir, data, cache_dir=cache_dir, progress=progress)
    split = dict(zip(("train", "val", "test"), data.split(model_cfg.training.split_seed)))
    rows = {name: data.rows(events) for name, events in split.items()}
    x, names = student_inputs(data, model_cfg.inputs)
    standardizer = Standardizer().fit(x[rows["train"]], names)
    xs = standardizer.transform(x, names)
    packed = packed_targets(model_cfg, soft, data.events.particles["pt"], rows["train"])
    model, trained = _train(model_cfg, xs, packed, rows, (config_to_dict(model_cfg), data.fingerprint,
                                                        str(teacher_dir.resolve())), run_dir, progress)
    test = rows["test"]
    if len(test) < MIN_CSIM_PARTICLES:
        log.warning("%s: the %d test events hold %d particles, fewer than the %d the firmware check "
                    "wants; %s holds them all", events_path, len(split["test"]), len(test),
                    MIN_CSIM_PARTICLES, TEST_INPUTS_FILE)
    evaluated = trained["proxies"].get(_MODE, model)
    weights = {"teacher": soft[test], "puppi": data.puppi[test],
               "student": _sigmoid(evaluated.predict(xs[test], batch_size=4096, verbose=0)[:, 0])}
    metrics = _metrics(model_cfg, data, events_path, teacher_dir, split, weights, trained, started)
    with atomic_dir(run_dir) as tmp:
        _write_run(tmp, model_cfg, model, standardizer, xs[test], split["test"], weights, metrics, trained)
    log.info("particle distillation of %s done in %.0f s", model_cfg.name, metrics["seconds"]["total"])
    return metrics
