#!/usr/bin/env python
"""Benchmark (not a test): QDistillNet in HGQ against the 8-bit QDistillNet at mu 140.

    python benchmarks/bench_pileup_hgq.py                                    # 1 seed, betas of the config
    python benchmarks/bench_pileup_hgq.py --betas 2e-6 1e-5 --train-events 150 --eval-events 1000
    python benchmarks/bench_pileup_hgq.py --summarize 0 1 2                  # mean +- std over seeds run before
    python benchmarks/bench_pileup_hgq.py --calibrate --seed 1                # jets calibrated on the training events

The setting of ``bench_pileup.py`` for one seed: one event file to train on (``--train-events``,
split 60/20/20 by event), one independent file to judge on (``--eval-events``), one pileup
teacher (``--teacher-epochs``), and on the SAME teacher soft weights and events the 8-bit
``qdistillnet`` and ``qdistillnet_hgq`` at each ``--betas`` value. Each student then goes
through ``fpgakd synth`` (hls4ml with the sigmoid table, C-simulation and Verilator bit-exact,
Yosys LUT; ``--no-synth`` skips it) and the paper's verdict on the evaluation events (pT-miss
and jet pT resolution and median response, weight accuracy). Printed: one row per student,
and whether each HGQ student meets the goal: at most ``--lut-goal`` LUT (the published
8-bit QDistillNet's Vivado count) with both resolutions within ``--tolerance`` of the 8-bit
student's. Resumable: events, teacher, runs, firmware and verdict are reused when present.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pileup import (REFERENCE, _student_run, _teacher, algorithm_weights,  # noqa: E402
                          fit_seed_calibrations, result_name, training_and_evaluation_events)

EIGHT_BIT = "qdistillnet"
HGQ = "qdistillnet_hgq"
#: the published QDistillNet's LUT (Vivado, Bal et al. 2024, Table 3)
PUBLISHED_LUT = 2379


def _hgq_run(data: Any, train_path: Path, teacher: Path, out: Path, seed: int, beta: float) -> Path:
    """The HGQ student at ``beta``, on the teacher's soft weights."""
    from fpgakd.config import load_model_config
    from fpgakd.learn.pileup.student import distill_particles
    from fpgakd.learn.rundir import run_metrics_file

    if not run_metrics_file(out).is_file():
        cfg = load_model_config(HGQ)
        q = dataclasses.replace(cfg.quantization, beta=beta)
        cfg = dataclasses.replace(cfg, quantization=q, training=dataclasses.replace(cfg.training, seed=seed))
        distill_particles(cfg, train_path, out, teacher_path=teacher, puppi=data.puppi)
    return out


def _firmware(run: Path, hls_root: Path) -> dict[str, Any]:
    """``fpgakd synth`` of a run (cached): LUT and its source, cycles, both bit-exact checks."""
    from fpgakd.config import load_firmware_config
    from fpgakd.firmware.synth import REPORT_NAME, synthesize_run

    report_path = hls_root / run.name / REPORT_NAME
    started = time.time()
    if report_path.is_file():
        report, seconds = json.loads(report_path.read_text()), None
    else:
        report = synthesize_run(run, firmware=load_firmware_config(), hls_root=hls_root, name=run.name)
        seconds = time.time() - started
    rtl = report.get("rtl") or {}
    sim = rtl.get("rtl_sim") or {}
    return {"quantizer": report["model"]["quantizer"], "nonzero": report["model"].get("nonzero"),
            "LUT": (rtl.get("resources") or {}).get("LUT", report.get("resources", {}).get("LUT")),
            "lut_source": "yosys" if rtl else report.get("source"),
            "cycles": (rtl.get("latency_cycles") or {}).get("max"),
            "csim_bit_exact": report["csim"]["bit_exact"], "rtl_bit_exact": sim.get("bit_exact"),
            "n_checked": report["csim"]["n_jets"], "synth_seconds": seconds}


def _verdict(out: Path, teacher: Path | None, runs: dict[str, Path], data: Any, calibrate_on: Any = None
             ) -> dict[str, Any]:
    """The verdict of PUPPI, the teacher (unless None) and every student on the evaluation
    events (cached); with ``calibrate_on`` (the training events) every algorithm calibrated on them."""
    from fpgakd.learn.pileup.verdict import pileup_verdict, verdict_summary

    done = out / result_name("verdict", calibrate_on is not None)
    if done.is_file():
        cached = json.loads(done.read_text())
        if set(runs) <= set(cached):
            return cached
    calibrations = None if calibrate_on is None else fit_seed_calibrations(out, teacher, runs, calibrate_on)
    weights = algorithm_weights(teacher, runs, data)
    summary = verdict_summary(pileup_verdict(data.events, weights, calibrations=calibrations, progress=True))
    done.write_text(json.dumps(summary, indent=1))
    return summary


def _row(name: str, metrics: dict[str, Any], verdict: dict[str, Any], firmware: dict[str, Any] | None) -> dict:
    kd = metrics.get("kd", {})
    fw = firmware or {}
    return {"name": name, "beta": (kd.get("bits") or {}).get("beta"), "ebops": kd.get("ebops"),
            "nonzero": kd.get("nonzero"), "mae_to_teacher": kd.get("mae_to_teacher"), **fw,
            **{k: verdict[name].get(k) for k in ("met_resolution", "met_median_response", "jet_resolution",
                                                 "jet_median_response", "jet_efficiency", "accuracy")}}


def _goal(row: dict, base: dict, lut_goal: int, tolerance: float) -> str:
    lut_ok = row.get("LUT") is not None and row["LUT"] <= lut_goal
    res = {k: row[k] / base[k] - 1.0 for k in ("met_resolution", "jet_resolution")}
    res_ok = all(v <= tolerance for v in res.values())
    return (f"{row['name']}: LUT {row.get('LUT')} ({row.get('lut_source')}) <= {lut_goal}: {lut_ok}; "
            f"pT-miss res {100 * res['met_resolution']:+.1f}%, jet res {100 * res['jet_resolution']:+.1f}% "
            f"vs 8-bit (goal <= {100 * tolerance:+.0f}%): {res_ok} -> {'met' if lut_ok and res_ok else 'not met'}")


def _table(rows: list[dict]) -> str:
    cols = [("name", "{:<26}"), ("beta", "{:>8}"), ("ebops", "{:>8}"), ("nonzero", "{:>7}"), ("LUT", "{:>7}"),
            ("cycles", "{:>6}"), ("met_resolution", "{:>8}"), ("met_median_response", "{:>8}"),
            ("jet_resolution", "{:>8}"), ("jet_median_response", "{:>8}"), ("jet_efficiency", "{:>7}"),
            ("accuracy", "{:>7}"), ("csim_bit_exact", "{:>6}"), ("rtl_bit_exact", "{:>6}")]
    heads = ["student", "beta", "EBOPs", "nonzero", "LUT", "cycles", "MET res", "MET resp", "jet res",
             "jet resp", "jet eff", "acc", "csim=", "rtl="]

    def cell(fmt: str, v: Any) -> str:
        if isinstance(v, float):
            v = f"{v:.3g}" if abs(v) < 1e-3 and v else f"{v:.0f}" if abs(v) >= 100 else f"{v:.4f}"
        return fmt.format("-" if v is None else str(v))
    lines = [" ".join(fmt.format(h) for (_, fmt), h in zip(cols, heads))]
    lines += [" ".join(cell(fmt, r.get(k)) for k, fmt in cols) for r in rows]
    return "\n".join(lines)


def _number(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4f}"


#: what the summary over seeds averages, per student
SUMMARY_METRICS = ("LUT", "cycles", "met_resolution", "met_median_response", "jet_resolution",
                   "jet_median_response", "jet_efficiency", "accuracy")


def seeds_summary(out: Path, seeds: list[int], lut_goal: int, tolerance: float, calibrated: bool = False
                  ) -> list[str]:
    """Mean +- std over the seeds' ``summary.json`` (``summary_calibrated.json``) per student,
    whether every design was bit-exact, and the goal judged on the means (and on each seed)."""
    import statistics

    summary_file = result_name("summary", calibrated)
    per_seed = {seed: json.loads((out / f"seed{seed}" / summary_file).read_text())["rows"] for seed in seeds}
    names = [r["name"] for r in per_seed[seeds[0]]]
    lines = [f"{'student':<26}" + "".join(f"{m:>22}" for m in SUMMARY_METRICS) + "  bit-exact"]
    means: dict[str, dict[str, float]] = {}
    for name in names:
        rows = [next(r for r in per_seed[seed] if r["name"] == name) for seed in seeds]
        means[name] = {"name": name, "lut_source": rows[0].get("lut_source")}
        cells = []
        for metric in SUMMARY_METRICS:
            values = [float(r[metric]) for r in rows if r.get(metric) is not None]
            mean = statistics.mean(values) if values else float("nan")
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            means[name][metric] = mean
            cells.append(f"{_number(mean):>13} ± {_number(sd):<6}")
        exact = all(r.get("csim_bit_exact") and r.get("rtl_bit_exact") for r in rows)
        lines.append(f"{name:<26}" + "".join(cells) + f"  {'yes' if exact else 'no'}")
    base = means[names[0]]
    lines += [f"mean over seeds {seeds}: " + _goal(means[n], base, lut_goal, tolerance) for n in names[1:]]
    for seed in seeds:
        rows = per_seed[seed]
        lines += [f"seed {seed}: " + _goal(r, rows[0], lut_goal, tolerance) for r in rows[1:]]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mu", type=float, default=140.0)
    parser.add_argument("--train-events", type=int, default=150)
    parser.add_argument("--eval-events", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--teacher-epochs", type=int, default=10)
    parser.add_argument("--betas", type=float, nargs="*", default=None,
                        help="HGQ betas to train (default: the one of models/qdistillnet_hgq.yaml)")
    parser.add_argument("--no-synth", action="store_true", help="skip the firmware (no LUT, no bit-exact checks)")
    parser.add_argument("--no-teacher-verdict", action="store_true",
                        help="leave the teacher out of the verdict (its graph inference is the slow part)")
    parser.add_argument("--lut-goal", type=int, default=PUBLISHED_LUT)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--out", default="bench_runs/pileup_hgq")
    parser.add_argument("--calibrate", action="store_true",
                        help="calibrate every algorithm's jets and pT-miss on the training events before judging")
    parser.add_argument("--summarize", type=int, nargs="+", metavar="SEED",
                        help="no training: mean +- std over these seeds' finished runs, and the goal")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = Path(args.out)
    if args.summarize:
        print("\n".join(seeds_summary(out, args.summarize, args.lut_goal, args.tolerance, args.calibrate)))
        return 0
    train_path, train, evaluation = training_and_evaluation_events(out, args.mu, args.train_events,
                                                                   args.eval_events)
    seed_dir = out / f"seed{args.seed}"
    teacher = _teacher(train, train_path, seed_dir / "teacher", args.seed, args.teacher_epochs)
    runs = {EIGHT_BIT: _student_run(EIGHT_BIT, lambda: train, train_path, teacher, seed_dir / EIGHT_BIT,
                                    args.seed)}
    from fpgakd.config import load_model_config
    from fpgakd.learn.rundir import read_run_metrics

    for beta in args.betas or [load_model_config(HGQ).quantization.beta]:
        name = f"{HGQ}_beta{beta:g}"
        runs[name] = _hgq_run(train, train_path, teacher, seed_dir / name, args.seed, beta)
    firmware = {} if args.no_synth else {name: _firmware(run, seed_dir / "hls") for name, run in runs.items()}
    verdict = _verdict(seed_dir, None if args.no_teacher_verdict else teacher, runs, evaluation,
                       calibrate_on=train if args.calibrate else None)
    rows = [_row(name, read_run_metrics(run), verdict, firmware.get(name))
            for name, run in runs.items()]
    print(f"\nmu {args.mu:g}: trained on {args.train_events} events (teacher {args.teacher_epochs} epochs, seed "
          f"{args.seed}), judged on {evaluation.events.n_events} independent events\n{_table(rows)}")
    for extra in (name for name in (REFERENCE, "teacher") if name in verdict):
        v = verdict[extra]
        print(f"{extra}: MET res {v['met_resolution']:.4f} (resp {v['met_median_response']:+.3f}), jet res "
              f"{v['jet_resolution']:.4f} (resp {v['jet_median_response']:+.3f}), acc {v['accuracy']:.4f}")
    base = rows[0]
    for row in rows[1:]:
        print(_goal(row, base, args.lut_goal, args.tolerance))
    (seed_dir / result_name("summary", args.calibrate)).write_text(json.dumps({"args": vars(args), "rows": rows,
                                                       "puppi": verdict[REFERENCE], "teacher": verdict.get("teacher")},
                                                      indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
