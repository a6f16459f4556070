"""Teacher transfer across jet pT windows (after Dreyer et al. 2022, "Leveraging universality
of jet taggers through transfer learning").

A teacher is pre-trained on jets of another pT window (the ``source``, generated with the
default set's physics and cached, :func:`fpgakd.jets.loading.generated_jets_path`), then
fine-tuned on a fraction of the target data's training split; the same teacher trained
from scratch on the same jets is the reference. Every point uses the target's own
train/validation/test split (the student config's ``training.split_seed``, as a distill run),
subsamples only the training split (stratified, :func:`~fpgakd.jets.preprocessing.subsample_stratified`)
and keeps the whole validation split for early stopping, so both arms stop on the same
jets; all are scored on the same target test jets. Fine-tuning keeps the source teacher's
input standardization (see :func:`fpgakd.learn.teacher.train_teacher`). Finally the student
config is distilled (KD and scratch twin, :func:`fpgakd.learn.distillation.distill`) from the
teacher fine-tuned on the largest fraction.

Each point's teacher is cached (``cache_dir()/teachers``, keyed by everything that made it),
so an interrupted study resumes where it stopped. The study directory, written atomically,
holds ``results.json``, ``transfer.png``, the resolved ``config.yaml`` and the student's
distill run ``student/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import TeacherConfig, config_fields, config_to_dict
from fpgakd.errors import ConfigError, DataError
from fpgakd.learn.rundir import CONFIG_FILE, read_teacher_meta
from fpgakd.studies.spec import TransferStudyConfig

__all__ = ["run_transfer_study", "check_windows_apart", "study_points", "summarize_points",
           "MODES", "FINETUNED", "SCRATCH"]

log = logging.getLogger(__name__)

FINETUNED, SCRATCH = "fine-tuned", "scratch"
MODES = (FINETUNED, SCRATCH)
#: column of the jet pT in a data set's ``jets`` array (fpgakd.jets.jetfile.JET_NAMES)
_PT = 0
_SOURCE_STEM = "transfer_source"


# ---------------------------------------------------------------- windows
def _pt_range(dataset: Any) -> tuple[float, float] | None:
    """(min, max) jet pT of ``dataset``, or None when its format stores no jet row."""
    if dataset.jets is None:
        return None
    pt = np.asarray(dataset.jets[:, _PT], dtype=np.float64)
    return float(pt.min()), float(pt.max())


def check_windows_apart(source: tuple[float, float], target: tuple[float, float] | None,
                        where: str, keys: str = "source.pt_min/pt_max") -> None:
    """Raise :class:`ConfigError` naming ``where`` and ``keys`` if the source pT window
    [min, max] meets the target jets' pT range [min, max]: transfer needs two windows.

    >>> check_windows_apart((500.0, 700.0), (900.0, 1100.0), "studies/transfer.yaml")
    >>> check_windows_apart((800.0, 950.0), (900.0, 1100.0), "studies/transfer.yaml")
    Traceback (most recent call last):
    ...
    fpgakd.errors.ConfigError: studies/transfer.yaml: key 'source.pt_min/pt_max': the source window [800, 950] GeV overlaps the target jets' pT range [900, 1100] GeV
    """
    if target is None:
        log.warning("%s: the target data store no jet pT: the windows cannot be checked apart", where)
        return
    if source[0] <= target[1] and source[1] >= target[0]:
        raise ConfigError(f"{where}: key '{keys}': the source window [{source[0]:g}, {source[1]:g}] GeV "
                          f"overlaps the target jets' pT range [{target[0]:g}, {target[1]:g}] GeV")


def _source_jets(cfg: TransferStudyConfig, source_jets: str | os.PathLike | None, target: Any,
                 progress: bool) -> tuple[Path, float]:
    """The source jet file (given, else generated into the cache) and the seconds it took."""
    from fpgakd.jets.loading import generated_jets_path, load_jets
    from fpgakd.jets.options import GenerationOptions

    target_range = _pt_range(target)
    started = time.time()
    if source_jets is None:
        s = cfg.source
        check_windows_apart((s.pt_min, s.pt_max), target_range, f"study {cfg.name!r}")
        options = GenerationOptions(jets_per_class=s.jets_per_class, seed=s.seed, pt_min=s.pt_min,
                                    pt_max=s.pt_max, classes=tuple(target.class_names))
        path = generated_jets_path(options, _SOURCE_STEM, progress=progress)
    else:
        path = Path(source_jets)
        source = load_jets(path)
        if tuple(source.class_names) != tuple(target.class_names):
            raise DataError(f"{path}: classes {list(source.class_names)} differ from the target "
                            f"{target.source} classes {list(target.class_names)}")
        if _pt_range(source) is None:
            raise DataError(f"{path}: the source jets store no jet pT: their window is unknown")
        check_windows_apart(_pt_range(source), target_range, str(path), keys="--source-jets")
    return path, time.time() - started


# ---------------------------------------------------------------- the points
@dataclasses.dataclass(frozen=True)
class _Point:
    mode: str
    fraction: float
    seed: int


def study_points(cfg: TransferStudyConfig) -> list[tuple[str, float, int]]:
    """(mode, fraction, seed) of every teacher the study trains, in training order.

    Fractions below 1 run once per seed; a fraction of 1 uses the whole training split, so
    only its first seed is run (its spread is the smallest, its training the longest).

    >>> study_points(TransferStudyConfig(name="t", fractions=(0.1, 1.0), seeds=(0, 1)))[:3]
    [('fine-tuned', 0.1, 0), ('scratch', 0.1, 0), ('fine-tuned', 0.1, 1)]
    """
    points = []
    for fraction in cfg.fractions:
        for seed in cfg.seeds if fraction < 1.0 else cfg.seeds[:1]:
            points += [(mode, fraction, seed) for mode in MODES]
    return points


def _point_config(base: TeacherConfig, cfg: TransferStudyConfig, point: _Point) -> TeacherConfig:
    rate = cfg.finetune_learning_rate if point.mode == FINETUNED else base.learning_rate
    return dataclasses.replace(base, seed=point.seed, learning_rate=rate)


def _point_teacher(base: TeacherConfig, cfg: TransferStudyConfig, point: _Point, jets_path: Path,
                   target: Any, source_teacher: Path, progress: bool) -> Path:
    """The teacher of one point, trained into the cache unless already there."""
    from fpgakd.cache import cache_dir
    from fpgakd.learn.teacher import TEACHER_JSON, load_teacher, train_teacher

    teacher_cfg = _point_config(base, cfg, point)
    initial = source_teacher if point.mode == FINETUNED else None
    key = json.dumps([config_fields(teacher_cfg), target.fingerprint(), point.fraction, point.seed,
                      load_teacher(initial).identity if initial else None], sort_keys=True)
    out = cache_dir() / "teachers" / f"transfer_{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if not (out / TEACHER_JSON).is_file():
        train_teacher(jets_path, out, config=teacher_cfg, train_fraction=point.fraction,
                      fraction_seed=point.seed, initial_teacher=initial, progress=progress)
    return out


def _score_point(teacher_dir: Path, test_jets: Any, point: _Point) -> dict[str, Any]:
    from fpgakd.studies.models import score_logits, teacher_logits_on

    meta = read_teacher_meta(teacher_dir)
    scores = score_logits(test_jets.labels, teacher_logits_on(teacher_dir, test_jets), list(test_jets.class_names))
    return {"mode": point.mode, "fraction": point.fraction, "seed": point.seed,
            "n_train_used": meta["n_train_used"], **scores,
            "epochs": len(meta["histories"][0]["loss"]), "train_seconds": meta["train_seconds"],
            "initial_val_accuracy": meta.get("pretrained", {}).get("initial_val_accuracy"),
            "teacher": str(teacher_dir)}


def _run_points(cfg: TransferStudyConfig, base: TeacherConfig, jets_path: Path, target: Any,
                test_jets: Any, source_teacher: Path, progress: bool) -> list[dict[str, Any]]:
    from tqdm.auto import tqdm

    rows = []
    for mode, fraction, seed in tqdm(study_points(cfg), desc="transfer points", disable=not progress):
        point = _Point(mode, fraction, seed)
        teacher_dir = _point_teacher(base, cfg, point, jets_path, target, source_teacher, progress)
        rows.append(_score_point(teacher_dir, test_jets, point))
        log.info("%s %.3g seed %d: test accuracy %.4f", mode, fraction, seed, rows[-1]["accuracy"])
    return rows


def summarize_points(points: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per mode and fraction: mean, min and max accuracy and mean AUC over seeds.

    >>> p = [{"mode": "scratch", "fraction": 0.1, "accuracy": a, "mean_auc": 0.8} for a in (0.5, 0.7)]
    >>> summarize_points(p)["scratch"]["0.1"]["accuracy"]
    {'mean': 0.6, 'min': 0.5, 'max': 0.7, 'n': 2}
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in points:
        cell = out.setdefault(row["mode"], {}).setdefault(str(row["fraction"]), {})
        for metric in ("accuracy", "mean_auc"):
            cell.setdefault(metric, []).append(row[metric])
    for cells in out.values():
        for cell in cells.values():
            for metric, values in cell.items():
                cell[metric] = {"mean": round(float(np.mean(values)), 12), "min": float(np.min(values)),
                                "max": float(np.max(values)), "n": len(values)}
    return out


# ---------------------------------------------------------------- the study
def _student_scores(cfg: TransferStudyConfig, jets_path: Path, teacher_dir: Path, run_dir: Path,
                    progress: bool) -> dict[str, Any]:
    """Distill the student config from ``teacher_dir`` into ``run_dir``; its KD and scratch scores."""
    from fpgakd.config import load_model_config
    from fpgakd.learn.distillation import distill

    metrics = distill(load_model_config(cfg.student), jets_path, run_dir, teacher_path=teacher_dir,
                      progress=progress)
    return {"model": metrics["model"], "teacher": str(teacher_dir),
            **{mode: {"accuracy": metrics[mode]["accuracy"],
                      "mean_auc": float(np.mean(list(metrics[mode]["auc"].values())))}
               for mode in ("kd", "scratch")},
            "seconds": metrics["seconds"]["total"]}


def _student_teacher(points: list[dict[str, Any]]) -> Path:
    """The fine-tuned teacher of the largest fraction (first seed): the student's teacher."""
    tuned = [p for p in points if p["mode"] == FINETUNED]
    top = max(p["fraction"] for p in tuned)
    return Path(next(p["teacher"] for p in tuned if p["fraction"] == top))


def run_transfer_study(cfg: TransferStudyConfig, jets_path: str | os.PathLike, out_dir: str | os.PathLike,
                       *, source_jets: str | os.PathLike | None = None, progress: bool = True
                       ) -> dict[str, Any]:
    """Pre-train on the source window, fine-tune and train from scratch on fractions of the
    target jets, distill a student; write ``out_dir`` atomically and return its results.

    ``source_jets`` replaces the generated source set (its jets' pT range must not overlap
    the target's either).

    >>> r = run_transfer_study(load_study_config("transfer"), default_jets_path(), "runs/studies/transfer")  # doctest: +SKIP
    >>> r["summary"]["fine-tuned"]["0.01"]["accuracy"]["mean"]                                               # doctest: +SKIP
    """
    from fpgakd.atomic import atomic_dir, write_text_atomic
    from fpgakd.config import dump_config, load_model_config, load_teacher_config
    from fpgakd.jets.loading import load_jets
    from fpgakd.jets.preprocessing import split_indices
    from fpgakd.learn.distillation import default_teacher_dir
    from fpgakd.learn.runtime import configure_tensorflow
    from fpgakd.studies.models import score_logits, teacher_logits_on
    from fpgakd.studies.transfer_plot import plot_transfer_results

    configure_tensorflow()
    started = time.time()
    jets_path = Path(jets_path)
    split_seed = load_model_config(cfg.student).training.split_seed
    base = dataclasses.replace(load_teacher_config(cfg.teacher), n_folds=1, split_seed=split_seed)
    target = load_jets(jets_path)
    source_path, generation_seconds = _source_jets(cfg, source_jets, target, progress)
    source = load_jets(source_path)
    source_teacher = default_teacher_dir(source_path, source, split_seed=split_seed, config=base,
                                         progress=progress)
    train, _, test = split_indices(target.n_jets, seed=split_seed, labels=target.labels)
    test_jets = target.subset(test)
    names = list(target.class_names)
    zero_shot = score_logits(test_jets.labels, teacher_logits_on(source_teacher, test_jets), names)
    points = _run_points(cfg, base, jets_path, target, test_jets, source_teacher, progress)
    source_meta = read_teacher_meta(source_teacher)
    results: dict[str, Any] = {
        "study": config_to_dict(cfg),
        "target": {"path": str(jets_path), "pt_range": _pt_range(target), "n_train": int(len(train)),
                   "n_test": int(len(test)), "split_seed": split_seed},
        "source": {"path": str(source_path), "pt_range": _pt_range(source), "n_jets": source.n_jets,
                   "teacher": str(source_teacher), "test_accuracy_in_window": source_meta["test_accuracy"],
                   "generation_seconds": generation_seconds},
        "zero_shot": zero_shot, "points": points, "summary": summarize_points(points)}
    with atomic_dir(out_dir) as tmp:
        results["student"] = _student_scores(cfg, jets_path, _student_teacher(points), tmp / "student", progress)
        results["seconds"] = time.time() - started
        write_text_atomic(tmp / "results.json", json.dumps(results, indent=1))
        dump_config(cfg, tmp / CONFIG_FILE)
        plot_transfer_results(results, tmp / "transfer.png")
    return results
