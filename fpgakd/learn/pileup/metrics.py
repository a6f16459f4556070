"""How good a per-particle pileup weight is: against the truth flags and against the teacher.

Accuracy is the fraction of particles whose weight is on the right side of 0.5 (hard
scatter above); the AUC ranks hard-scatter particles above pileup ones; the MAE to the
teacher is what DistillNet's students minimise. The physics verdict (pT-miss and jet
resolutions) is :mod:`fpgakd.learn.pileup.verdict`'s; :func:`run_verdict_table` calls it
on a particle distill run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["weight_metrics", "format_particle_table", "run_verdict_table"]

#: columns of the table: metrics.json key and title
_COLUMNS = (("puppi", "PUPPI"), ("teacher", "teacher"), ("kd", "student"))


def weight_metrics(is_hard: np.ndarray, weights: np.ndarray,
                   teacher: np.ndarray | None = None) -> dict[str, Any]:
    """Accuracy and AUC of ``weights`` against the truth, and their MAE to ``teacher`` if given.

    >>> weight_metrics(np.array([True, False]), np.array([0.9, 0.2]), np.array([1.0, 0.0]))
    {'n_particles': 2, 'accuracy': 1.0, 'auc': 1.0, 'mae_to_teacher': 0.15}
    """
    from fpgakd.learn.metrics import binary_metrics

    weights = np.asarray(weights, dtype=np.float64)
    scores = binary_metrics(is_hard, weights)
    out: dict[str, Any] = {"n_particles": int(weights.size), "accuracy": scores["accuracy"],
                           "auc": scores["auc"]}
    if teacher is not None:
        out["mae_to_teacher"] = float(np.mean(np.abs(weights - np.asarray(teacher, np.float64))))
    return out


def format_particle_table(metrics: Mapping[str, Any]) -> str:
    """PUPPI | teacher | student on the test particles of a particle distill run, as text.

    >>> print(format_particle_table({"kd": {"accuracy": 0.9}}))   # doctest: +NORMALIZE_WHITESPACE
    metric (test particles)   student
    accuracy vs truth           0.900
    """
    cols = [(key, title) for key, title in _COLUMNS if isinstance(metrics.get(key), Mapping)]
    rows = [("MAE to teacher", "mae_to_teacher"), ("accuracy vs truth", "accuracy"),
            ("AUC vs truth", "auc"), ("non-zero weights", "nonzero")]
    lines = []
    for label, key in rows:
        values = [metrics[c].get(key) for c, _ in cols]
        if all(v is None for v in values):
            continue
        lines.append((label, ["-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)
                              for v in values]))
    width = max([len("metric (test particles)")] + [len(label) for label, _ in lines])
    header = "metric (test particles)".ljust(width) + "".join(f"{t:>10}" for _, t in cols)
    return "\n".join([header] + [label.ljust(width) + "".join(f"{v:>10}" for v in values)
                                 for label, values in lines])


def run_verdict_table(run_dir: str | os.PathLike) -> str:
    """The pT-miss and jet resolution table (:mod:`fpgakd.learn.pileup.verdict`) of a particle
    distill run's test events: no mitigation, PUPPI, the teacher and the run's student.

    >>> print(run_verdict_table("runs/qdistillnet"))               # doctest: +SKIP
    """
    from fpgakd.jets.events.eventfile import load_events
    from fpgakd.learn.pileup.verdict import format_verdict_table, pileup_verdict
    from fpgakd.learn.rundir import read_particle_weights, read_run_metrics

    metrics = read_run_metrics(run_dir)
    test_events, weights = read_particle_weights(run_dir)
    events = load_events(metrics["events"]).subset(test_events)
    student = weights.pop("student")
    weights[metrics.get("model", "student")] = student
    return format_verdict_table(pileup_verdict(events, weights))
