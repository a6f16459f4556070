"""The pileup study (DistillNet, Bal et al. 2024): which per-particle weights best recover the
no-pileup event?

Each particle distill run directory holds ``metrics.json`` (its ``"events"`` key names the
event file) and ``weights_test.npz``: ``event_indices`` (the held-out test events, indices
into that file) and one weight per particle of those events, in order, for ``teacher``,
``puppi`` and ``student``. The runs must share the event file and the test events. The
verdict (:func:`fpgakd.learn.pileup.verdict.pileup_verdict`) compares no mitigation, PUPPI,
the teacher (the first run's) and each run's student, named after its directory. The study
directory (written atomically) holds ``results.json``, ``responses.png``, ``weights.png`` and
the resolved ``config.yaml``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import config_to_dict
from fpgakd.errors import ConfigError, DataError
from fpgakd.learn.rundir import (CONFIG_FILE, EVENT_INDICES, read_particle_weights, read_run_metrics,
                                 run_metrics_file, run_weights_file)
from fpgakd.studies.spec import PileupStudyConfig

__all__ = ["ParticleRun", "read_particle_run", "run_pileup_study"]

log = logging.getLogger(__name__)

TEACHER, PUPPI, STUDENT = "teacher", "puppi", "student"
#: algorithm names the study itself uses; a run may not be named like one
_RESERVED = ("none", TEACHER, PUPPI)


@dataclass(frozen=True)
class ParticleRun:
    """What the study reads from one particle distill run directory."""

    name: str
    path: Path
    events_path: Path
    event_indices: np.ndarray
    weights: dict[str, np.ndarray]


def read_particle_run(run_dir: str | os.PathLike) -> ParticleRun:
    """The event file, test events and weights of a particle distill run, checked.

    >>> read_particle_run("runs/distillnet").weights["student"].shape        # doctest: +SKIP
    (61234,)
    """
    run_dir = Path(run_dir)
    metrics_path = run_metrics_file(run_dir)
    for path in (metrics_path, run_weights_file(run_dir)):
        if not path.is_file():
            raise DataError(f"{path}: not found (is {run_dir} a particle distill run directory?)")
    metrics = read_run_metrics(run_dir)
    if not isinstance(metrics.get("events"), str):
        raise DataError(f"{metrics_path}: key 'events' (the run's event file) missing")
    indices, saved = read_particle_weights(run_dir, (TEACHER, PUPPI, STUDENT))
    indices = np.asarray(indices, dtype=np.int64)
    weights = {k: np.asarray(saved[k], dtype=np.float32) for k in (TEACHER, PUPPI, STUDENT)}
    return ParticleRun(run_dir.name, run_dir, Path(metrics["events"]), indices, weights)


def _check_shared(runs: list[ParticleRun]) -> None:
    """One event file, the same test events and distinct names for every run."""
    first = runs[0]
    for run in runs[1:]:
        if run.events_path.resolve() != first.events_path.resolve():
            raise ConfigError(f"runs {first.path} and {run.path} use different event files "
                              f"({first.events_path}, {run.events_path})")
        if not np.array_equal(run.event_indices, first.event_indices):
            raise ConfigError(f"runs {first.path} and {run.path} have different test events "
                              f"({run_weights_file(first.path).name}: {EVENT_INDICES}); train them with one split")
    names = [r.name for r in runs]
    clash = sorted({n for n in names if names.count(n) > 1 or n in _RESERVED})
    if clash:
        raise ConfigError(f"runs: name(s) {', '.join(clash)} repeated or reserved ({', '.join(_RESERVED)}); "
                          "the study names each student after its run directory")


def _test_events(run: ParticleRun) -> Any:
    """The run's held-out events, with their truth flags, checked against its weights."""
    from fpgakd.jets.events.eventfile import load_events

    if not run.events_path.is_file():
        raise DataError(f"{run_metrics_file(run.path)}: 'events': event file {run.events_path} not found")
    events = load_events(run.events_path, require_truth=True)
    idx = run.event_indices
    if idx.ndim != 1 or len(idx) == 0 or idx.min() < 0 or idx.max() >= events.n_events:
        raise DataError(f"{run_weights_file(run.path)}: {EVENT_INDICES}: expected indices into the "
                        f"{events.n_events} events of {run.events_path}")
    test = events.subset(idx)
    for name, w in run.weights.items():
        if w.shape != (test.n_particles,):
            raise DataError(f"{run_weights_file(run.path)}: {name}: expected {test.n_particles} weights "
                            f"(the particles of its {len(idx)} test events), got shape {w.shape}")
    return test


def _weights_by_algorithm(runs: list[ParticleRun]) -> dict[str, np.ndarray]:
    first = runs[0]
    for run in runs[1:]:
        if not np.array_equal(run.weights[TEACHER], first.weights[TEACHER]):
            log.warning("runs %s and %s distilled different teachers; the table shows %s's",
                        first.path, run.path, first.path)
    return {PUPPI: first.weights[PUPPI], TEACHER: first.weights[TEACHER],
            **{run.name: run.weights[STUDENT] for run in runs}}


def run_pileup_study(cfg: PileupStudyConfig, run_dirs: list[str | os.PathLike], out_dir: str | os.PathLike,
                     *, progress: bool = True) -> dict[str, Any]:
    """The verdict on PUPPI, the teacher and each run's student; write ``out_dir``.

    Returns the results also written to ``out_dir/results.json`` (``"verdict"``: per
    algorithm, the summary of :func:`~fpgakd.learn.pileup.verdict.pileup_verdict`).

    >>> r = run_pileup_study(load_study_config("pileup"), ["runs/distillnet"], "runs/studies/pileup")  # doctest: +SKIP
    >>> r["verdict"]["distillnet"]["met_resolution"]                                                    # doctest: +SKIP
    """
    from fpgakd.learn.pileup.verdict import pileup_verdict, verdict_summary

    started = time.time()
    if not run_dirs:
        raise ConfigError("runs: give at least one particle distill run directory")
    runs = [read_particle_run(r) for r in run_dirs]
    _check_shared(runs)
    events = _test_events(runs[0])
    weights = _weights_by_algorithm(runs)
    verdict = pileup_verdict(events, weights, cfg.verdict, progress=progress)
    results = {"study": config_to_dict(cfg), "events": str(runs[0].events_path),
               "n_test_events": events.n_events, "n_particles": events.n_particles,
               "runs": [str(r.path) for r in runs], "algorithms": list(verdict),
               "verdict": verdict_summary(verdict), "seconds": time.time() - started}
    _write_study(out_dir, cfg, results, verdict, weights, events.particles["is_pileup"])
    log.info("pileup study written to %s in %.0f s", out_dir, results["seconds"])
    return results


def _write_study(out_dir: str | os.PathLike, cfg: PileupStudyConfig, results: dict[str, Any],
                 verdict: dict[str, Any], weights: dict[str, np.ndarray], is_pileup: np.ndarray) -> None:
    from fpgakd.atomic import atomic_dir, write_text_atomic
    from fpgakd.config import dump_config
    from fpgakd.learn.pileup.verdict_plots import plot_responses, plot_weight_distributions

    with atomic_dir(out_dir) as tmp:
        write_text_atomic(tmp / "results.json", json.dumps(results, indent=1))
        dump_config(cfg, tmp / CONFIG_FILE)
        plot_responses(verdict, tmp / "responses.png")
        plot_weight_distributions(weights, is_pileup, tmp / "weights.png")
