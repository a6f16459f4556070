#!/usr/bin/env python
"""Benchmark (not a test): where the teacher's soft targets have room, as the students' data shrink.

    python benchmarks/bench_kd_data.py --full-teacher bench_runs/hgq_frontier_e200/teacher
    python benchmarks/bench_kd_data.py --fractions 0.1 0.3 --seeds 1 2
    python benchmarks/bench_kd_data.py --report-only --docs-csv docs/results/kd_data.csv

A KD student beats its scratch twin where the teacher's soft targets regularise it: where,
trained on hard labels, it would fit its training jets better than unseen ones. For each
fraction F of the training split and seed S, a teacher (``teachers/<--teacher-config>.yaml``)
and the student's KD and scratch twins (``fpgakd distill`` with ``training.train_fraction: F``,
``training.seed: S``) train on the *same* round(F x n_train) jets, drawn per class with seed S
(:func:`fpgakd.jets.preprocessing.subsample_stratified`, as ``train_teacher`` draws them), so
the teacher knows no jet the student does not; validation and test splits stay whole. At
F = 1 ``--full-teacher`` stands in (the frontier's teacher, trained on the whole split) where
given. No firmware: accuracy only (the students' firmware does not depend on F).

Printed, per fraction (mean +- std over the seeds done): the teacher's test accuracy, each
student's test accuracy and its accuracy on its own training jets, their difference (the
*gap*), KD minus scratch, and the mean EBOPs of each (an HGQ student's bits: the penalty
weighs them against the loss, so the twins need not keep the same); ``kd_data.png``.
Resumable: each (F, S) is one teacher directory and one run directory under ``--out``,
skipped once complete.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.atomic import write_text_atomic
from fpgakd.learn.rundir import TEACHER_JSON, read_run_config, read_run_metrics, run_metrics_file

#: the students' keys besides the data share: the particle students' goal student as its YAML has it
DEFAULT_MODEL = "deepsets_hgq_16"
MODES = ("kd", "scratch")


def _point_name(fraction: float, seed: int) -> str:
    return f"f{fraction:g}_s{seed}"


def _teacher_for(args: argparse.Namespace, out: Path, jets: Path, fraction: float, seed: int) -> Path:
    """The point's teacher: trained here on the student's jets, or ``--full-teacher`` at F = 1."""
    from fpgakd.config import load_teacher_config
    from fpgakd.learn.teacher import train_teacher

    if fraction == 1.0 and args.full_teacher:
        return Path(args.full_teacher)
    target = out / "teachers" / _point_name(fraction, seed)
    if not (target / TEACHER_JSON).is_file():
        train_teacher(jets, target, config=load_teacher_config(args.teacher_config), train_fraction=fraction,
                      fraction_seed=seed, progress=not args.quiet)
    return target


def run(args: argparse.Namespace, out: Path, jets: Path) -> None:
    """Every missing (fraction, seed): its teacher, then its KD and scratch students."""
    from fpgakd.config import load_model_config
    from fpgakd.learn.distillation import distill

    base = load_model_config(args.model)
    for seed in args.seeds:
        for fraction in args.fractions:
            run_dir = out / "runs" / _point_name(fraction, seed)
            if run_metrics_file(run_dir).is_file():
                continue
            teacher = _teacher_for(args, out, jets, fraction, seed)
            cfg = dataclasses.replace(base, training=dataclasses.replace(base.training, train_fraction=fraction,
                                                                            seed=seed))
            metrics = distill(cfg, jets, run_dir, teacher_path=teacher, modes=MODES, progress=not args.quiet)
            print(f"F {fraction:g} seed {seed}: " + ", ".join(
                f"{m} {100 * metrics[m]['accuracy']:.2f}% (train {100 * metrics[m]['train_accuracy']:.2f}%)"
                for m in MODES) + f", {metrics['seconds']['total']:.0f} s", flush=True)


def _point(run_dir: Path) -> dict[str, Any]:
    """One finished (fraction, seed): the accuracies that the report averages, in percent."""
    metrics = read_run_metrics(run_dir)
    cfg = read_run_config(run_dir)
    point = {"fraction": cfg.training.train_fraction, "seed": cfg.training.seed,
             "n_train": metrics["data"]["n_train"], "teacher": 100 * metrics["teacher"]["accuracy"],
             "teacher train": 100 * metrics["teacher"]["train_accuracy"]}
    for mode in MODES:
        point[mode] = 100 * metrics[mode]["accuracy"]
        point[f"{mode} train"] = 100 * metrics[mode]["train_accuracy"]
        # an HGQ student's bits are part of the result: the penalty weighs them against the loss
        point[f"{mode} EBOPs"] = metrics[mode].get("ebops", float("nan"))
    return point


def report(out: Path) -> list[dict[str, Any]]:
    """One row per fraction: means and standard deviations (ddof 0) over its seeds."""
    points = [_point(d) for d in sorted((out / "runs").glob("f*_s*")) if run_metrics_file(d).is_file()]
    rows = []
    for fraction in sorted({p["fraction"] for p in points}):
        group = [p for p in points if p["fraction"] == fraction]
        row: dict[str, Any] = {"fraction": fraction, "n_train": group[0]["n_train"], "seeds": len(group)}
        values = {key: np.array([p[key] for p in group]) for key in group[0]
                  if key not in ("fraction", "seed", "n_train")}
        values.update({f"{m} gap": values[f"{m} train"] - values[m] for m in MODES})
        values["kd - scratch"] = values["kd"] - values["scratch"]
        row.update({key: (float(v.mean()), float(v.std())) for key, v in values.items()})
        rows.append(row)
    return rows


def _cell(value: tuple[float, float], seeds: int, signed: bool = False) -> str:
    mean, std = value
    text = f"{mean:+.1f}" if signed else f"{mean:.1f}"
    return f"{text} ± {std:.1f}" if seeds > 1 else f"{text} (1 seed)"


def format_rows(rows: list[dict[str, Any]]) -> list[str]:
    """CSV lines: one per fraction, accuracies in percent as 'mean ± std'."""
    lines = ["training jets,seeds,teacher test,KD test,KD train - test,scratch test,scratch train - test,"
             "KD - scratch,EBOPs KD / scratch"]
    for r in rows:
        n = r["seeds"]
        lines.append(f"\"{r['n_train']:,} ({r['fraction']:.0%})\",{n},{_cell(r['teacher'], n)},{_cell(r['kd'], n)},"
                     f"{_cell(r['kd gap'], n, True)},{_cell(r['scratch'], n)},{_cell(r['scratch gap'], n, True)},"
                     f"{_cell(r['kd - scratch'], n, True)},\"{r['kd EBOPs'][0]:,.0f} / {r['scratch EBOPs'][0]:,.0f}\"")
    return lines


def plot(rows: list[dict[str, Any]], path: Path) -> Path:
    """Test (solid) and training-jet (dashed) accuracy against the training jets, per model."""
    from fpgakd.figures import pyplot, save_log_x_plot

    fig, ax = pyplot().subplots(figsize=(6.4, 4.2))
    x = [r["n_train"] for r in rows]
    for key, label, colour in (("teacher", "teacher", "C2"), ("kd", "KD student", "C0"),
                               ("scratch", "scratch student", "C1")):
        ax.errorbar(x, [r[key][0] for r in rows], yerr=[r[key][1] for r in rows], fmt="o-", color=colour,
                    label=f"{label}, test", capsize=2)
        ax.plot(x, [r[f"{key} train"][0] for r in rows], "--", color=colour, label=f"{label}, its training jets")
    return save_log_x_plot(fig, ax, path, xlabel="training jets (teacher and students alike)",
                           ylabel="accuracy (%)", title="Where KD has room: the students' data (benchmark set)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jets", help="jet file or directory (default: the benchmark set, generated if missing)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"student config (default {DEFAULT_MODEL})")
    parser.add_argument("--teacher-config", default="deepsets_hlf_single",
                        help="teachers/<name>.yaml trained on each fraction (default: the HGQ frontier's)")
    parser.add_argument("--full-teacher", help="teacher directory used at fraction 1 instead of training one")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", default="bench_runs/kd_data")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--docs-csv", help="also write the table here (docs/results/kd_data.csv)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    bad = [f for f in args.fractions if not 0.0 < f <= 1.0]
    if bad:
        parser.error(f"--fractions: {bad} not in (0, 1]")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        from fpgakd.jets.benchmark import benchmark_jets_dir

        run(args, out, Path(args.jets) if args.jets else benchmark_jets_dir())
    rows = report(out)
    if not rows:
        print(f"nothing finished under {out}/runs yet")
        return 1
    lines = format_rows(rows)
    print("\n".join(lines))
    print(f"plot: {plot(rows, out / 'kd_data.png')}")
    if args.docs_csv:
        write_text_atomic(args.docs_csv, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
