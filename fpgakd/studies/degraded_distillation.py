"""Distillation from degraded data (after Ducharme & Serebriakov 2024): how much of the accuracy
a coarser detector loses does a full-resolution teacher give back?

The teacher of a distill run scores the full-resolution jets (its cached, out-of-fold soft
targets, as in ``fpgakd distill``); the run's student config is then trained twice on the
degraded jets (:mod:`fpgakd.studies.jet_degradation`) with the run's split, seed and epochs: with
the teacher (KD) and without it (scratch). The run's own KD and scratch students are the
full-resolution reference. The study directory holds ``results.json``, ``degraded.png`` and
the resolved ``config.yaml``; the headline is the fraction of the scratch student's lost
accuracy that distillation recovers.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import config_to_dict
from fpgakd.errors import ConfigError
from fpgakd.learn.rundir import CONFIG_FILE, TEACHER_DIR, read_run_config, read_run_metrics
from fpgakd.studies.spec import DegradedStudyConfig

__all__ = ["run_degraded_study", "recovery_summary", "format_degraded_table", "plot_degraded_results"]

log = logging.getLogger(__name__)


def _train_on_degraded(run_cfg: Any, degraded: Any, soft: np.ndarray, split_seed: int,
                       progress: bool) -> dict[str, np.ndarray]:
    """KD and scratch students on the degraded jets; their logits on the test split."""
    from fpgakd.jets.preprocessing import split_indices
    from fpgakd.studies.models import student_logits, train_students_on

    train, val, test = split_indices(degraded.n_jets, seed=split_seed, labels=degraded.labels)
    students = train_students_on(run_cfg, degraded, soft, (train, val), progress=progress)
    return student_logits(students, degraded.subset(test))


def recovery_summary(full: dict[str, float], degraded: dict[str, float]) -> dict[str, float | None]:
    """Accuracy lost by the scratch student, regained by KD, and the fraction recovered.

    >>> recovery_summary({"kd": 0.60, "scratch": 0.58}, {"kd": 0.55, "scratch": 0.52})["recovered_fraction"]
    0.5
    """
    lost = full["scratch"] - degraded["scratch"]
    gain = degraded["kd"] - degraded["scratch"]
    return {"lost": lost, "kd_gain_degraded": gain, "kd_gain_full": full["kd"] - full["scratch"],
            "recovered_fraction": round(gain / lost, 12) if lost > 0 else None}


def run_degraded_study(cfg: DegradedStudyConfig, jets_path: str | os.PathLike, run_dir: str | os.PathLike,
                       out_dir: str | os.PathLike, *, teacher_path: str | os.PathLike | None = None,
                       progress: bool = True) -> dict[str, Any]:
    """Train KD and scratch students of ``run_dir``'s config on degraded jets; write ``out_dir``.

    >>> r = run_degraded_study(load_study_config("degraded"), jets, "runs/constituent_mlp", "runs/studies/degraded")  # doctest: +SKIP
    >>> r["recovery"]["recovered_fraction"]                                                                          # doctest: +SKIP
    """
    from fpgakd.atomic import atomic_dir, write_text_atomic
    from fpgakd.cache import cache_dir
    from fpgakd.config import dump_config
    from fpgakd.jets.loading import load_jets
    from fpgakd.jets.preprocessing import split_indices
    from fpgakd.learn.runtime import configure_tensorflow
    from fpgakd.learn.teacher import teacher_logits
    from fpgakd.studies.jet_degradation import degrade_dataset
    from fpgakd.studies.models import check_run_data, score_logits, teacher_logits_on

    configure_tensorflow()
    started = time.time()
    run_dir = Path(run_dir)
    dataset = load_jets(jets_path)
    split_seed = check_run_data(run_dir, dataset)
    run_cfg = read_run_config(run_dir)
    if run_cfg.task != "classifier" or run_cfg.inputs.type != "constituents":
        raise ConfigError(f"{run_dir}: the degraded study needs a constituent classifier student, "
                          f"got task {run_cfg.task!r} with inputs {run_cfg.inputs.type!r}")
    teacher_dir = Path(teacher_path) if teacher_path else run_dir / TEACHER_DIR
    degraded = degrade_dataset(dataset, pt_smearing=cfg.pt_smearing, n_constituents=cfg.n_constituents,
                               angle_step=cfg.angle_step, seed=cfg.seed)
    soft = teacher_logits(teacher_dir, dataset, cache_dir=cache_dir() / "soft_targets", progress=progress)
    logits = _train_on_degraded(run_cfg, degraded, soft, split_seed, progress)
    _, _, test = split_indices(dataset.n_jets, seed=split_seed, labels=dataset.labels)
    names, labels = list(dataset.class_names), dataset.labels[test]
    run_metrics = read_run_metrics(run_dir)
    full = {m: run_metrics[m]["accuracy"] for m in ("kd", "scratch")}
    scores = {f"{m} (degraded)": score_logits(labels, z, names) for m, z in logits.items()}
    scores["teacher (degraded inputs)"] = score_logits(
        labels, teacher_logits_on(teacher_dir, degraded.subset(test)), names)
    results = {"study": config_to_dict(cfg), "run": str(run_dir), "teacher": str(teacher_dir),
               "model": run_cfg.name, "n_test_jets": int(len(test)),
               "accuracy": {"teacher (full)": run_metrics["teacher"]["accuracy"],
                            "kd (full)": full["kd"], "scratch (full)": full["scratch"],
                            **{k: v["accuracy"] for k, v in scores.items()}},
               "scores_degraded": scores,
               "recovery": recovery_summary(full, {m: scores[f"{m} (degraded)"]["accuracy"] for m in full}),
               "seconds": time.time() - started}
    with atomic_dir(out_dir) as tmp:
        write_text_atomic(tmp / "results.json", json.dumps(results, indent=1))
        dump_config(cfg, tmp / CONFIG_FILE)
        plot_degraded_results(results, tmp / "degraded.png")
    return results


def format_degraded_table(results: dict[str, Any]) -> str:
    """Test accuracy of every model, then the recovery line.

    >>> print(format_degraded_table(results))                                 # doctest: +SKIP
    """
    lines = [f"{name:<28}{acc:8.3f}" for name, acc in results["accuracy"].items()]
    r = results["recovery"]
    frac = "-" if r["recovered_fraction"] is None else f"{100 * r['recovered_fraction']:.0f}%"
    lines.append(f"scratch loses {100 * r['lost']:.1f} points on degraded inputs; KD gains "
                 f"{100 * r['kd_gain_degraded']:+.1f} there ({100 * r['kd_gain_full']:+.1f} at full "
                 f"resolution): {frac} of the loss recovered")
    return "\n".join(lines)


def plot_degraded_results(results: dict[str, Any], path: str | os.PathLike) -> Path:
    """Bar chart of the test accuracies, full resolution and degraded (PNG)."""
    from fpgakd.figures import pyplot, save_figure

    names, values = list(results["accuracy"]), list(results["accuracy"].values())
    colours = ["black" if n.startswith("teacher") else "C0" if n.startswith("kd") else "C1" for n in names]
    fig, ax = pyplot().subplots(figsize=(8, 4))
    bars = ax.bar(range(len(names)), values, color=colours,
                  alpha=1.0, hatch=None, edgecolor="white")
    for bar, name in zip(bars, names):
        if "degraded" in name:
            bar.set_hatch("//")
    ax.bar_label(bars, fmt="%.3f", fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
    ax.set_ylim(min(values) - 0.05, max(values) + 0.03)
    ax.set_ylabel("test accuracy")
    s = results["study"]
    ax.set_title(f"{results['model']}: pT smearing {s['pt_smearing']}, top {s['n_constituents']}, "
                 f"angle step {s['angle_step']}", fontsize=9)
    return save_figure(fig, path)
