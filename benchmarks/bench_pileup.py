#!/usr/bin/env python
"""Benchmark (not a test): DistillNet at mu 140, the paper's verdict with its spread over seeds.

    python benchmarks/bench_pileup.py                                   # mu 140, 3 seeds
    python benchmarks/bench_pileup.py --seeds 0 --train-events 60 --eval-events 200 --teacher-epochs 3

Teacher and students train on one event file (``--train-events``, split 60/20/20 by
event as ``fpgakd distill --events`` does) and are judged on a second, independent file of
``--eval-events`` events (another seed): the resolutions want many events, training does not,
and a CPU cannot train the graph teacher on thousands of mu-140 events in a session. Per seed
(teacher and student initialisation; the data stay fixed): the pileup teacher, DistillNet
(float, 16-128-64-1) and QDistillNet (8-bit, 75% pruned, 16-64-32-1), then PUPPI, the teacher
and both students on the evaluation events: pT-miss and jet pT resolution, weight accuracy.
Printed: mean +- std over seeds per algorithm, improvement over PUPPI, and the goal (teacher
better than PUPPI, QDistillNet between them). Resumable: finished teachers, runs and
evaluations are reused. ``responses.png`` and ``weights.png`` show the first seed.
``--calibrate`` fits a jet response correction per algorithm on the training events
(:mod:`fpgakd.learn.pileup.calibration`, recorded in ``seedN/calibration.json``) and judges
every algorithm calibrated (``summary_calibrated.json``, ``responses_calibrated.png``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import statistics
import sys
from pathlib import Path
from typing import Any

STUDENTS = ("distillnet", "qdistillnet")
REFERENCE = "puppi"
METRICS = ("met_resolution", "met_median_response", "jet_resolution", "jet_median_response", "jet_efficiency",
           "accuracy", "distribution_agreement")
#: the table's column heads
HEADS = {"met_resolution": "pT-miss res", "met_median_response": "pT-miss resp", "jet_resolution": "jet pT res",
         "jet_median_response": "jet resp", "jet_efficiency": "jet eff", "accuracy": "accuracy",
         "distribution_agreement": "dist. agr. (paper)"}
#: the metrics whose improvement over PUPPI the table shows
RESOLUTIONS = ("met_resolution", "jet_resolution")


def _event_file(path: Path, mu: float, n_events: int, seed: int) -> Path:
    from fpgakd.jets.events.generate import generate_events
    from fpgakd.jets.events.options import PileupOptions

    if not path.is_file():
        generate_events(path, PileupOptions(mu=mu, n_events=n_events, seed=seed))
    return path


def training_and_evaluation_events(out: Path, mu: float, train_events: int, eval_events: int
                                   ) -> tuple[Path, Any, Any]:
    """(training event file, its data, the independent evaluation events' data), generated once."""
    from fpgakd.learn.pileup.events import load_pileup_data

    out.mkdir(parents=True, exist_ok=True)
    label = f"{mu:g}"
    train_path = _event_file(out / f"train_mu{label}_{train_events}.h5", mu, train_events, 1)
    eval_path = _event_file(out / f"eval_mu{label}_{eval_events}.h5", mu, eval_events, 2)
    return train_path, load_pileup_data(train_path), load_pileup_data(eval_path)


def _teacher(data: Any, train_path: Path, out: Path, seed: int, epochs: int) -> Path:
    from fpgakd.config import load_pileup_teacher_config
    from fpgakd.learn.pileup.teacher import TEACHER_JSON, fit_pileup_teacher

    if not (out / TEACHER_JSON).is_file():
        cfg = dataclasses.replace(load_pileup_teacher_config("pileup_edgeconv"), seed=seed, epochs=epochs)
        fit_pileup_teacher(data, out, config=cfg, events_path=train_path)
    return out


def _student_run(name: str, data: Any, train_path: Path, teacher: Path, out: Path, seed: int) -> Path:
    from fpgakd.config import load_model_config
    from fpgakd.learn.pileup.student import distill_particles

    if not (out / "metrics.json").is_file():
        cfg = load_model_config(name)
        cfg = dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, seed=seed))
        distill_particles(cfg, train_path, out, teacher_path=teacher, puppi=data.puppi)
    return out


def student_weights(run: Path, data: Any) -> Any:
    """A particle run's student applied to other events: sigmoid(logit) per particle."""
    import numpy as np

    from fpgakd.jets.preprocessing import Standardizer
    from fpgakd.learn.rundir import find_student_file
    from fpgakd.learn.students import load_student

    standardizer = Standardizer.from_dict(json.loads((run / "standardization.json").read_text()),
                                          str(run / "standardization.json"))
    # an HGQ run's proxy first: it computes the firmware's logit
    z = load_student(find_student_file(run)).predict(standardizer.transform(data.x, data.names),
                                                    batch_size=8192, verbose=0)[:, 0]
    return (1.0 / (1.0 + np.exp(-z.astype(np.float64)))).astype(np.float32)


def result_name(stem: str, calibrated: bool) -> str:
    """The JSON file of a verdict or summary, judged as printed or with calibrated jets."""
    return f"{stem}_calibrated.json" if calibrated else f"{stem}.json"


def algorithm_weights(teacher: Path | None, runs: dict[str, Path], data: Any) -> dict[str, Any]:
    """PUPPI's, the teacher's (unless None) and every student's weight per particle of ``data``."""
    from fpgakd.learn.pileup.teacher import pileup_soft_labels

    weights = {REFERENCE: data.puppi}
    if teacher is not None:      # its graph inference is the slow part (cached once done)
        weights["teacher"] = pileup_soft_labels(teacher, data)
    weights.update({name: student_weights(run, data) for name, run in runs.items()})
    return weights


def fit_seed_calibrations(seed_dir: Path, teacher: Path | None, runs: dict[str, Path], train: Any
                          ) -> dict[str, Any]:
    """Each algorithm's jet calibration fitted on the training events (recorded in the seed's folder)."""
    from fpgakd.learn.pileup.verdict import fit_verdict_calibrations

    calibrations = fit_verdict_calibrations(train.events, algorithm_weights(teacher, runs, train))
    (seed_dir / "calibration.json").write_text(json.dumps(
        {name: {"edges_gev": c.edges, "factors": c.factors} for name, c in calibrations.items()}, indent=1))
    return calibrations


def evaluate_seed(seed_dir: Path, teacher: Path, runs: dict[str, Path], data: Any, plots: bool,
                  calibrate_on: Any = None) -> dict:
    """The verdict of every algorithm on the evaluation events (cached in the seed's folder);
    with ``calibrate_on`` (the training events), every algorithm's jets calibrated on them."""
    from fpgakd.learn.pileup.verdict import pileup_verdict, verdict_summary

    done = seed_dir / result_name("verdict", calibrate_on is not None)
    if done.is_file() and not plots:
        return json.loads(done.read_text())
    calibrations = None if calibrate_on is None else fit_seed_calibrations(seed_dir, teacher, runs, calibrate_on)
    weights = algorithm_weights(teacher, runs, data)
    verdict = pileup_verdict(data.events, weights, calibrations=calibrations, progress=True)
    if plots:
        from fpgakd.learn.pileup.verdict_plots import plot_responses, plot_weight_distributions

        suffix = "_calibrated" if calibrations else ""
        plot_responses(verdict, seed_dir.parent / f"responses{suffix}.png")
        plot_weight_distributions(weights, data.events.particles["is_pileup"], seed_dir.parent / "weights.png")
    summary = verdict_summary(verdict)
    done.write_text(json.dumps(summary, indent=1))
    return summary


def spread_table(per_seed: list[dict]) -> tuple[str, dict[str, dict[str, tuple[float, float]]]]:
    """Mean and std over seeds per algorithm and metric, and the printed table."""
    stats: dict[str, dict[str, tuple[float, float]]] = {}
    for name in per_seed[0]:
        stats[name] = {}
        for metric in METRICS:
            values = [s[name][metric] for s in per_seed if s[name].get(metric) is not None]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            stats[name][metric] = (statistics.mean(values), sd) if values else (float("nan"), 0.0)
    ref = stats[REFERENCE]
    lines = [f"{'algorithm':<14}" + "".join(f"{HEADS[m]:>21}" + (f"{'vs PUPPI':>10}" if m in RESOLUTIONS else "")
                                           for m in METRICS)]
    for name, s in stats.items():
        cells = []
        for metric in METRICS:
            mean, sd = s[metric]
            cells.append(f"{mean:>+12.4f} ± {sd:.4f}" if metric.endswith("response") else f"{mean:>12.4f} ± {sd:.4f}")
            if metric in RESOLUTIONS:
                cells.append(f"{100 * (1 - mean / ref[metric][0]):>+9.1f}%")
        lines.append(f"{name:<14}" + "".join(cells))
    return "\n".join(lines), stats


def goal_lines(stats: dict[str, dict[str, tuple[float, float]]]) -> list[str]:
    """The goal: teacher better than PUPPI, QDistillNet between them (per observable)."""
    out = []
    for metric, label in (("met_resolution", "pT-miss"), ("jet_resolution", "jet pT")):
        puppi, teacher, student = (stats[n][metric][0] for n in (REFERENCE, "teacher", "qdistillnet"))
        verdict = teacher < puppi and teacher <= student <= puppi
        out.append(f"{label}: PUPPI {puppi:.4f}, teacher {teacher:.4f}, QDistillNet {student:.4f} -> "
                   f"{'met' if verdict else 'not met'} (teacher < PUPPI: {teacher < puppi}, "
                   f"QDistillNet between: {teacher <= student <= puppi})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mu", type=float, default=140.0)
    parser.add_argument("--train-events", type=int, default=150)
    parser.add_argument("--eval-events", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--teacher-epochs", type=int, default=10)
    parser.add_argument("--out", default="bench_runs/pileup")
    parser.add_argument("--calibrate", action="store_true",
                        help="calibrate every algorithm's jets (and pT-miss, type 1) on the training events")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = Path(args.out)
    train_path, train, evaluation = training_and_evaluation_events(out, args.mu, args.train_events,
                                                                   args.eval_events)
    per_seed = []
    for i, seed in enumerate(args.seeds):
        seed_dir = out / f"seed{seed}"
        teacher = _teacher(train, train_path, seed_dir / "teacher", seed, args.teacher_epochs)
        runs = {name: _student_run(name, train, train_path, teacher, seed_dir / name, seed) for name in STUDENTS}
        per_seed.append(evaluate_seed(seed_dir, teacher, runs, evaluation, plots=i == 0,
                                      calibrate_on=train if args.calibrate else None))
        print(f"seed {seed} done")
    table, stats = spread_table(per_seed)
    print(f"\nmu {args.mu:g}: trained on {args.train_events} events, judged on {evaluation.events.n_events} "
          f"independent events; mean ± std over seeds {args.seeds}\n{table}")
    print("\n".join(goal_lines(stats)))
    summary = out / result_name("summary", args.calibrate)
    summary.write_text(json.dumps({"args": vars(args), "stats": stats, "per_seed": per_seed},
                                                 indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
