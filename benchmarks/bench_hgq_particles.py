#!/usr/bin/env python
"""Benchmark (not a test): HGQ students that read the particles, beside the 8-bit fronts. A
table, the particle students' goal check and a plot of ``fpgakd scan scans/hgq_deepsets.yaml``
(HGQ Deep Sets + HLF; more of them in ``hgq_deepsets_seeds.yaml``, ``hgq_deepsets_beta8e-7.yaml``,
``hgq_deepsets_recipe.yaml``),
``scans/hgq_features.yaml`` (the HGQ hybrid MLP with the seven particle features the teacher
reads) and ``scans/hgq_quarter.yaml`` (students aimed at the quarter-LUT check's misses).

    fpgakd generate --benchmark
    fpgakd teacher --jets ~/.cache/fpgakd/benchmark_jets_10x_01cb37223843 \\
        --config deepsets_hlf_single -o bench_runs/hgq_frontier/teacher
    fpgakd scan scans/hgq_deepsets.yaml -o bench_runs/hgq_deepsets --workers 2
    fpgakd scan scans/hgq_deepsets_seeds.yaml -o bench_runs/hgq_deepsets_seeds --workers 2
    fpgakd scan scans/hgq_features.yaml -o bench_runs/hgq_features --workers 2
    fpgakd scan scans/hgq_deepsets_beta8e-7.yaml -o bench_runs/hgq_deepsets_beta8e-7 --workers 1
    fpgakd scan scans/hgq_quarter.yaml -o bench_runs/hgq_quarter --workers 1
    fpgakd scan scans/hgq_deepsets_recipe.yaml -o bench_runs/hgq_deepsets_recipe --workers 1
    python benchmarks/bench_hgq_particles.py --docs-csv docs/results/hgq_particles.csv

With ``--cost-model`` it also sets the calibrated da4ml cost model against Yosys on each
student. One row per student (family, particle features, per-particle network, head, beta): test
accuracy of the KD and the scratch twin (mean ± std over the seeds the scans ran), their
difference, EBOPs, Yosys LUT and latency of each (seed 0), and the KD twin's W and t
rejections at 30% signal efficiency. The goal check is the particle students' (a distilled
particle student at <= 28,436 LUT, the scratch hybrid MLP's, with >= 71.3%; KD >= +1.0 over
scratch for every particle student above 5,000 LUT; <= 20 cycles), then the HGQ students'
quarter-LUT check of ``bench_hgq_frontier.py`` with these students added to the HLF and hybrid
ones of ``docs/results/hgq_frontier.csv`` (an HGQ student at <= 1/4 of the LUT at every
accuracy of the QKeras 8-bit front). The plot
(``hgq_particles.png`` in the first scan directory) puts the KD students beside the QKeras 8-bit
MLP fronts (``docs/results/frontier.csv``, scratch) and the HGQ hybrid MLP with three features
(``docs/results/hgq_frontier.csv``, KD, 120 epochs).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

from bench_particle_features import _mean_std, load_points, widths

from fpgakd.atomic import write_text_atomic

SHAPE_COLUMNS = ["student", "particles", "features", "per-particle network", "head", "beta", "epochs", "KD recipe"]
#: the particle students' goal: at most the scratch hybrid MLP's LUT, at least 1.5 points over its 69.8%
GOAL_LUT, GOAL_ACCURACY = 28436, 71.3
#: KD must beat scratch by this much for every particle student above GOAL_KD_LUT
GOAL_KD_GAIN, GOAL_KD_LUT = 1.0, 5000
GOAL_CYCLES = 20
#: the goal is judged on the mean over this many seeds
GOAL_SEEDS = 3


def _shape(row: Any) -> dict[str, Any]:
    deep_sets = row["student.inputs.type"] == "particle_set"
    return {"student": "Deep Sets + HLF" if deep_sets else "hybrid MLP",
            "particles": int(row["student.inputs.n_constituents"]),
            "features": len(json.loads(row["student.inputs.constituent_features"])),
            "per-particle network": widths(row["student.particle_hidden"]) if deep_sets else "-",
            "head": widths(row["student.hidden"]), "beta": float(row["student.quantization.beta"]),
            "epochs": int(row["student.training.epochs"]),
            # a scratch twin carries its config's T and alpha unused: it joins the KD rows of that recipe
            "KD recipe": f"T {float(row['student.distillation.temperature']):g} / "
                         f"alpha {float(row['student.distillation.alpha']):g}"}


def _known(value: Any) -> Any:
    """None for a value a point does not have (NaN where other points of its scan have one)."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _first_seed(group: Any, column: str) -> Any:
    first = group[group["student.training.seed"] == group["student.training.seed"].min()]
    return first[column].iloc[0]


def summarize(points: Any) -> list[dict[str, Any]]:
    """One dict per student shape: both twins' accuracy, their gain, EBOPs, LUT, cycles, rejections."""
    rows = []
    for shape, group in points.groupby(SHAPE_COLUMNS, sort=True):
        row: dict[str, Any] = dict(zip(SHAPE_COLUMNS, shape))
        by_mode = dict(tuple(group.groupby("mode")))
        for mode in ("kd", "scratch"):
            g = by_mode.get(mode)
            row[mode] = _mean_std(g["accuracy"]) if g is not None else "-"
            row[f"accuracy {mode}"] = 100 * g["accuracy"].mean() if g is not None else None
            row[f"seeds {mode}"] = g["student.training.seed"].nunique() if g is not None else 0
            for column in ("ebops", "LUT", "latency_cycles", "lut_source"):
                row[f"{column} {mode}"] = _known(_first_seed(g, column)) if g is not None else None
            row[f"Yosys LUT per seed {mode}"] = ([] if g is None else
                                                 [int(v) for v in g.sort_values("student.training.seed")
                                                  .query("lut_source == 'rtl'")["LUT"]])
        both = [row[f"accuracy {m}"] for m in ("kd", "scratch")]
        row["KD - scratch"] = both[0] - both[1] if None not in both else None
        kd = by_mode.get("kd")
        row["W rej"] = float(kd["rej30_W"].mean()) if kd is not None else None
        row["t rej"] = float(kd["rej30_t"].mean()) if kd is not None else None
        rows.append(row)
    _share_scratch_twins(rows)
    return rows


def _student(row: dict[str, Any]) -> tuple:
    """The row's student shape without its KD recipe (what a scratch twin shares)."""
    return tuple(row[c] for c in SHAPE_COLUMNS if c != "KD recipe")


def _share_scratch_twins(rows: list[dict[str, Any]]) -> None:
    """A KD recipe scanned without a scratch twin gets its shape's (scratch training reads no T or alpha)."""
    twins = {_student(r): r for r in rows if r["accuracy scratch"] is not None}
    for row in rows:
        twin = twins.get(_student(row))
        if row["accuracy scratch"] is None and row["accuracy kd"] is not None and twin is not None:
            for key in ("scratch", "accuracy scratch", "seeds scratch", "ebops scratch", "LUT scratch",
                        "latency_cycles scratch", "lut_source scratch"):
                row[key] = twin[key]
            row["KD - scratch"] = row["accuracy kd"] - row["accuracy scratch"]


def format_rows(rows: list[dict[str, Any]]) -> list[str]:
    """CSV lines for the docs table (LUT with its source where it is not Yosys)."""
    def number(value: Any, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    def lut(row: dict[str, Any], mode: str) -> str:
        value = row[f"LUT {mode}"]
        return "-" if value is None else f"{int(value):,}" + ("" if row[f"lut_source {mode}"] == "rtl" else " (model)")

    lines = ["student,particles,particle features,per-particle network,head,beta,epochs,KD T / alpha,KD (%),scratch (%),"
             "KD - scratch,"
             "EBOPs KD / scratch,Yosys LUT KD / scratch,cycles KD,W rej @30% (KD),t rej @30% (KD)"]
    for r in rows:
        lines.append(",".join([
            r["student"], str(r["particles"]), str(r["features"]), r["per-particle network"], r["head"],
            f"{r['beta']:g}", str(r["epochs"]), r["KD recipe"],
            r["kd"], r["scratch"], number(r["KD - scratch"], "+.1f"),
            f"\"{number(r['ebops kd'], ',.0f')} / {number(r['ebops scratch'], ',.0f')}\"",
            f"\"{lut(r, 'kd')} / {lut(r, 'scratch')}\"", number(r["latency_cycles kd"], ".0f"),
            f"\"{number(r['W rej'], ',.0f')}\"", f"\"{number(r['t rej'], ',.0f')}\""]))
    return lines


def _mean_lut(row: dict[str, Any]) -> float:
    luts = row["Yosys LUT per seed kd"]
    return sum(luts) / len(luts)


def _lut_text(row: dict[str, Any]) -> str:
    luts = row["Yosys LUT per seed kd"]
    if len(luts) == 1:
        return f"{luts[0]:,} LUT (seed 0)"
    return f"{_mean_lut(row):,.0f} LUT (mean; per seed {', '.join(f'{v:,}' for v in luts)})"


def _verdict(reached: bool, seeds: int) -> str:
    if seeds < GOAL_SEEDS:
        return f"{'reached' if reached else 'not reached'} on {seeds} of the goal's {GOAL_SEEDS} seeds: not judged yet"
    return "met" if reached else "not met"


def goal_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The particle students' goal, checked on the Deep Sets rows (Yosys LUT: the mean over the
    seeds that ran the RTL flow, seed 0's where only it did)."""
    sets = [r for r in rows if r["student"] == "Deep Sets + HLF" and r["accuracy kd"] is not None]
    within = [r for r in sets if r["Yosys LUT per seed kd"] and _mean_lut(r) <= GOAL_LUT]
    best = max(within, key=lambda r: r["accuracy kd"], default=None)
    lines = [f"goal: a distilled particle student at <= {GOAL_LUT:,} LUT with >= {GOAL_ACCURACY}%: "
             + ("no particle student within the LUT" if best is None else
                f"best {best['kd']} at {_lut_text(best)} ({best['particles']} x "
                f"{best['per-particle network']}, head {best['head']}, beta {best['beta']:g}): "
                f"{_verdict(best['accuracy kd'] >= GOAL_ACCURACY, best['seeds kd'])}")]
    # a student's KD is its best recipe, as bench_frontier.py's "kd tuned"
    best_gain: dict[tuple, float] = {}
    for r in sets:
        if r["LUT kd"] is not None and r["LUT kd"] > GOAL_KD_LUT and r["KD - scratch"] is not None:
            best_gain[_student(r)] = max(best_gain.get(_student(r), r["KD - scratch"]), r["KD - scratch"])
    if best_gain:
        gains = list(best_gain.values())
        lines.append(f"goal: KD >= +{GOAL_KD_GAIN} over scratch above {GOAL_KD_LUT:,} LUT (best recipe): gains "
                     f"{', '.join(format(g, '+.1f') for g in gains)}: "
                     f"{'met' if min(gains) >= GOAL_KD_GAIN else 'not met'}")
    cycles = [r["latency_cycles kd"] for r in sets if r["latency_cycles kd"] is not None]
    if cycles:
        lines.append(f"goal: <= {GOAL_CYCLES} cycles: {int(min(cycles))}-{int(max(cycles))}: "
                     f"{'met' if max(cycles) <= GOAL_CYCLES else 'not met'}")
    return lines


def _hgq_points(rows: list[dict[str, Any]], hgq_csv: Path) -> tuple[list[tuple[str, float, float]], int]:
    """(label, accuracy, LUT) of every HGQ student: the docs' HLF and hybrid ones, then these;
    and how many come from the docs."""
    points = []
    with hgq_csv.open() as f:
        for row in csv.DictReader(f):
            points.append((f"{row['student']} {row['mode']} ({row['epochs']} epochs)",
                           float(row["accuracy"].split()[0]), float(row["Yosys LUT"].replace(",", ""))))
    n_docs = len(points)
    for r in rows:
        for mode in ("kd", "scratch"):
            if r[f"LUT {mode}"] is not None and r[f"lut_source {mode}"] == "rtl":
                shape = (r["head"] if r["per-particle network"] == "-"
                         else f"{r['particles']} x {r['per-particle network']} / {r['head']}")
                label = f"HGQ {r['student']} {shape}, {r['features']} features, beta {r['beta']:g} {mode}"
                points.append((label, r[f"accuracy {mode}"], float(r[f"LUT {mode}"])))
    return points, n_docs


def quarter_lut_lines(rows: list[dict[str, Any]], hgq_csv: Path) -> list[str]:
    """At each point of the QKeras 8-bit front: the cheapest HGQ student as accurate, and the
    count of points with one at <= 1/4 of the LUT, without and with these students."""
    from bench_hgq_frontier import LUT_SHARE, qkeras_front

    points, n_docs = _hgq_points(rows, hgq_csv)
    lines, met = [], [0, 0]
    for _, q in qkeras_front().iterrows():
        accuracy = 100 * q["accuracy"]
        for i, pool in enumerate((points[:n_docs], points)):
            met[i] += any(a >= accuracy and lut <= LUT_SHARE * q["LUT"] for _, a, lut in pool)
        best = min((p for p in points if p[1] >= accuracy), key=lambda p: p[2], default=None)
        lines.append(f"QKeras {q['student']} {q['mode']} {accuracy:.1f}% at {q['LUT']:,.0f} LUT: " +
                     ("no HGQ student as accurate" if best is None else
                      f"cheapest as accurate {best[0]}, {best[1]:.1f}% at {best[2]:,.0f} LUT "
                      f"({best[2] / q['LUT']:.2f})"))
    n = len(qkeras_front())
    lines.append(f"goal (an HGQ student at <= {LUT_SHARE:.2f} of the LUT at every QKeras accuracy): met at "
                 f"{met[1]} of {n} points with these students, {met[0]} without: "
                 f"{'met' if met[1] == n else 'not met'}")
    return lines


def cost_model_lines(points: Any, scan_dirs: list[Path]) -> list[str]:
    """The calibrated da4ml cost model against Yosys on every point the RTL flow ran (its proxy
    traced again here: seconds per student)."""
    from fpgakd.config import load_firmware_config
    from fpgakd.firmware.cost_model import calibrated_lut, da4ml_lut_cost
    from fpgakd.firmware.hls import load_keras
    from fpgakd.learn.rundir import student_file

    firmware, lines, errors = load_firmware_config(), [], []
    for _, row in points[points["lut_source"] == "rtl"].iterrows():
        proxy = next(d / "runs" / row["key"] / student_file(row["mode"], proxy=True) for d in scan_dirs
                     if (d / "runs" / row["key"]).is_dir())
        estimate = calibrated_lut(da4ml_lut_cost(load_keras(proxy)[0], firmware))
        errors.append(estimate / row["LUT"] - 1)
        lines.append(f"cost model: {row['student']} {row['particles']} x {row['per-particle network']} / "
                     f"{row['head']} beta {row['beta']:g} {row['mode']}: {estimate:,} against Yosys "
                     f"{row['LUT']:,.0f} ({100 * errors[-1]:+.1f}%)")
    if errors:
        absolute = sorted(abs(e) for e in errors)
        lines.append(f"cost model on {len(errors)} students: median absolute error "
                     f"{100 * absolute[len(absolute) // 2]:.1f}%, worst {100 * absolute[-1]:.1f}%")
    return lines


def _reference_fronts(frontier_csv: Path, hgq_csv: Path) -> dict[str, list[tuple[float, float]]]:
    """(LUT, accuracy) of the QKeras MLP fronts (scratch) and the three-feature HGQ hybrid (KD, 120 epochs)."""
    from bench_hgq_frontier import qkeras_front

    fronts: dict[str, list[tuple[float, float]]] = {}
    for _, q in qkeras_front(frontier_csv).query("mode == 'scratch'").iterrows():
        fronts.setdefault(f"QKeras 8-bit {q['family']} MLP, scratch", []).append((q["LUT"], 100 * q["accuracy"]))
    with hgq_csv.open() as f:
        for row in csv.DictReader(f):
            if row["student"].startswith("hybrid_hgq") and row["mode"] == "kd" and row["epochs"] == "120":
                fronts.setdefault("HGQ hybrid MLP, 3 features, KD", []).append(
                    (float(row["Yosys LUT"].replace(",", "")), float(row["accuracy"].split()[0])))
    return {name: sorted(points) for name, points in fronts.items()}


def plot(rows: list[dict[str, Any]], fronts: dict[str, list[tuple[float, float]]], path: Path) -> Path:
    """KD and scratch accuracy against Yosys LUT per HGQ particle student, the reference fronts beside."""
    from fpgakd.figures import pyplot, save_log_x_plot

    fig, ax = pyplot().subplots(figsize=(6.4, 4.2))
    for (name, points), style in zip(fronts.items(), ("s--", "s-", "^:")):
        ax.plot([p[0] for p in points], [p[1] for p in points], style, color="grey", alpha=0.8, label=name, ms=4)
    families = sorted({(r["student"], r["features"]) for r in rows})
    for colour, (student, features) in zip(("C0", "C1", "C2", "C3"), families):
        for mode, marker in (("kd", "o"), ("scratch", "x")):
            sel = [r for r in rows if (r["student"], r["features"]) == (student, features)
                   and r[f"LUT {mode}"] is not None and r[f"lut_source {mode}"] == "rtl"]
            if sel:
                ax.plot([r[f"LUT {mode}"] for r in sel], [r[f"accuracy {mode}"] for r in sel], marker, color=colour,
                        label=f"HGQ {student}, {features} features, {'KD' if mode == 'kd' else 'scratch'}")
    ax.axvline(GOAL_LUT, color="red", lw=0.8, ls=":")
    ax.axhline(GOAL_ACCURACY, color="red", lw=0.8, ls=":", label=f"goal: >= {GOAL_ACCURACY}% at <= {GOAL_LUT:,} LUT")
    return save_log_x_plot(fig, ax, path, xlabel="Yosys LUT (seed 0)", ylabel="test accuracy (%)",
                           title="HGQ students that read the particles (benchmark set)", legend_size=6)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scan-dirs", nargs="+",
                        default=["bench_runs/hgq_deepsets", "bench_runs/hgq_deepsets_seeds", "bench_runs/hgq_features",
                                 "bench_runs/hgq_deepsets_beta8e-7", "bench_runs/hgq_quarter",
                                 "bench_runs/hgq_deepsets_recipe"])
    parser.add_argument("--frontier-csv", default="docs/results/frontier.csv")
    parser.add_argument("--hgq-csv", default="docs/results/hgq_frontier.csv")
    parser.add_argument("--docs-csv", help="also write the table here (docs/results/hgq_particles.csv)")
    parser.add_argument("--cost-model", action="store_true",
                        help="also the calibrated da4ml cost model against Yosys on each student")
    args = parser.parse_args(argv)
    scan_dirs = [Path(d) for d in args.scan_dirs]
    if not any((d / "results.csv").is_file() for d in scan_dirs):
        print(f"{', '.join(map(str, scan_dirs))}: no scan results; run the scans first (see --help)", file=sys.stderr)
        return 1
    points = load_points(scan_dirs, _shape)
    rows = summarize(points)
    lines = format_rows(rows)
    print("\n".join(lines + [""] + goal_lines(rows) + [""] + quarter_lut_lines(rows, Path(args.hgq_csv))))
    if args.cost_model:
        print("\n".join([""] + cost_model_lines(points, scan_dirs)))
    fronts = _reference_fronts(Path(args.frontier_csv), Path(args.hgq_csv))
    print(f"plot: {plot(rows, fronts, scan_dirs[0] / 'hgq_particles.png')}")
    if args.docs_csv:
        write_text_atomic(args.docs_csv, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
