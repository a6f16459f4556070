#!/usr/bin/env python
"""Benchmark (not a test): the accuracy-vs-LUT frontier of KD and scratch students (issue #9).

    python benchmarks/bench_frontier.py                          # benchmark set, 3 families, 3 seeds
    python benchmarks/bench_frontier.py --families hlf --seeds 0 --sizes 8 16
    python benchmarks/bench_frontier.py --report-only            # table + plot from what is done

For each student family (``hlf_mlp``, ``constituent_mlp``, ``hybrid_mlp``) and size (hidden
layers), KD and scratch twins are trained over several seeds with ``fpgakd scan`` (Dask, one
scan per family and seed group, resumable: a rerun skips finished points). The first seed's
points run the RTL flow (Yosys LUT, Verilator-checked) where its tools are installed; the
other seeds only train (their LUT would differ by a few percent). Data: the 150,000-jet
benchmark set (``fpgakd generate --benchmark``) unless ``--jets``; teacher: ``--teacher``, or
one trained here once from ``teachers/<--teacher-config>.yaml``.

Printed: a table of accuracy (mean +- std over seeds) and W/Z/t rejections at 30% and 50%
signal efficiency beside the LUT (its source named); the goal check of issue #9 (a KD student
with LUT <= the best scratch student's beats it by >= 1.5 points; at <= 500 LUT, KD >=
scratch); ``frontier.png`` (accuracy against LUT, log x).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

#: student families and the hidden layers scanned for each, smallest first
FAMILIES = {"hlf": "hlf_mlp", "constituent": "constituent_mlp", "hybrid": "hybrid_mlp"}
DEFAULT_SIZES = ("4", "16", "32-16", "64-32-32")
#: issue #9's goal: KD beats the best scratch student at no more LUT by this many points ...
GOAL_GAIN = 0.015
#: ... and among students up to this LUT, KD is at least as good as scratch
SMALL_LUT = 500
REJECTION_COLUMNS = [f"rej{e}_{c}" for c in ("W", "Z", "t") for e in (30, 50)]


def _hidden(size: str) -> list[int]:
    return [int(w) for w in size.split("-")]


def _scan_yaml(path: Path, name: str, model: str, sizes: list[str], seeds: list[int], jets: Path,
               teacher: Path, rtl: bool) -> Path:
    import yaml

    spec = {"name": name, "model": model, "jets": str(jets), "teacher": str(teacher),
            "modes": ["kd", "scratch"], "rtl": rtl, "csim_jets": 2000,
            "grid": {"hidden": [_hidden(s) for s in sizes], "training.seed": seeds}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _teacher(out: Path, jets: Path, config: str, progress: bool) -> Path:
    from fpgakd.config import load_teacher_config
    from fpgakd.learn.teacher import train_teacher

    target = out / "teacher"
    if not (target / "teacher.json").is_file() and not any(target.glob("*.keras")):
        train_teacher(jets, target, config=load_teacher_config(config), progress=progress)
    return target


def run_scans(args: argparse.Namespace, out: Path, jets: Path, teacher: Path) -> list[Path]:
    """One scan per family and seed group (first seed with RTL); their directories."""
    from fpgakd.scan.run import run_scan

    dirs = []
    # every family's first seed before any further seed: an interrupted run has a whole frontier
    groups = [(args.seeds[:1], not args.no_rtl), (args.seeds[1:], False)]
    for seeds, rtl in groups:
        for family in args.families:
            if not seeds:
                continue
            name = f"frontier_{family}_{'rtl' if rtl else 'seeds'}"
            yaml_path = _scan_yaml(out / "scans" / f"{name}.yaml", name, FAMILIES[family], args.sizes,
                                   seeds, jets, teacher, rtl)
            summary = run_scan(yaml_path, out / "scans" / name, workers=args.workers,
                               progress=not args.quiet)
            print(f"{name}: {summary.n_points} points, {summary.n_failed} failed, {summary.seconds:.0f} s")
            dirs.append(out / "scans" / name)
    return dirs


def frontier_table(frames: list) -> Any:
    """One row per (family, hidden, mode): accuracy mean/std over seeds, LUT of the RTL seed."""
    import pandas as pd

    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["status"] == "ok"]
    lut = rows[rows["LUT"].notna()].sort_values("student.training.seed").groupby(
        ["model", "student.hidden", "mode"])[["LUT", "resource_source"]].first()
    stats = rows.groupby(["model", "student.hidden", "mode"]).agg(
        accuracy=("accuracy", "mean"), accuracy_std=("accuracy", "std"), seeds=("accuracy", "size"),
        **{c: (c, "mean") for c in REJECTION_COLUMNS if c in rows})
    return stats.join(lut).reset_index().sort_values(["model", "LUT"])


def goal_check(table: Any) -> list[str]:
    """Issue #9's two goals, read off the frontier table."""
    scratch, kd = table[table["mode"] == "scratch"], table[table["mode"] == "kd"]
    if scratch.empty or kd.empty or scratch["LUT"].isna().all():
        return ["goal: not enough finished points to judge"]
    best = scratch.loc[scratch["accuracy"].idxmax()]
    cheaper = kd[kd["LUT"] <= best["LUT"]]
    lines = [f"best scratch student: {best['model']} {best['student.hidden']} "
             f"{100 * best['accuracy']:.1f}% at {best['LUT']:.0f} LUT ({best['resource_source']})"]
    if not cheaper.empty:
        top = cheaper.loc[cheaper["accuracy"].idxmax()]
        gain = top["accuracy"] - best["accuracy"]
        lines.append(f"best KD student at <= its LUT: {top['model']} {top['student.hidden']} "
                     f"{100 * top['accuracy']:.1f} +- {100 * (top['accuracy_std'] or 0):.1f}% at "
                     f"{top['LUT']:.0f} LUT: {100 * gain:+.1f} points (goal +{100 * GOAL_GAIN:.1f}: "
                     f"{'met' if gain >= GOAL_GAIN else 'not met'})")
    small = table[table["LUT"] <= SMALL_LUT].pivot_table(index=["model", "student.hidden"], columns="mode",
                                                         values="accuracy")
    if {"kd", "scratch"} <= set(small.columns) and len(small):
        ok = (small["kd"] >= small["scratch"]).sum()
        lines.append(f"students of <= {SMALL_LUT} LUT: KD >= scratch for {ok} of {len(small)} sizes")
    else:
        lines.append(f"no KD/scratch pair at <= {SMALL_LUT} LUT")
    return lines


def plot_frontier(table: Any, path: Path) -> Path:
    from fpgakd.figures import pyplot, save_figure
    from fpgakd.scan.pareto import MODE_COLOURS

    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    markers = dict(zip(sorted(table["model"].unique()), "osD^v"))
    for (model, mode), group in table.dropna(subset=["LUT"]).groupby(["model", "mode"]):
        group = group.sort_values("LUT")
        ax.errorbar(group["LUT"], 100 * group["accuracy"], yerr=100 * group["accuracy_std"].fillna(0),
                    marker=markers[model], color=MODE_COLOURS[mode], capsize=2,
                    linestyle="-" if mode == "kd" else "--", label=f"{model} {mode}")
    sources = ", ".join(sorted(table["resource_source"].dropna().unique()))
    ax.set_xscale("log")
    ax.set_xlabel(f"LUT ({sources})")
    ax.set_ylabel("test accuracy (%), mean +- std over seeds")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jets", help="jet file or directory (default: the benchmark set, generated if missing)")
    parser.add_argument("--teacher", help="an existing teacher directory")
    parser.add_argument("--teacher-config", default="deepsets_hlf", help="teacher trained here when no --teacher")
    parser.add_argument("--families", nargs="+", choices=sorted(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), help="hidden widths, e.g. 32-16")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=None, help="Dask workers (default: the cores)")
    parser.add_argument("--no-rtl", action="store_true", help="the estimate only, also for the first seed")
    parser.add_argument("--report-only", action="store_true", help="no training: table and plot of what is done")
    parser.add_argument("--out", default="bench_runs/frontier")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s")
    from fpgakd.jets.benchmark import benchmark_jets_dir
    from fpgakd.scan.table import read_results

    out = Path(args.out)
    if args.report_only:
        dirs = sorted(p for p in (out / "scans").glob("frontier_*") if p.is_dir())
    else:
        jets = Path(args.jets) if args.jets else benchmark_jets_dir(progress=not args.quiet)
        teacher = Path(args.teacher) if args.teacher else _teacher(out, jets, args.teacher_config, not args.quiet)
        dirs = run_scans(args, out, jets, teacher)
    frames = [f for f in (read_results(d) for d in dirs) if not f.empty]
    if not frames:
        print("no finished points yet")
        return 1
    table = frontier_table(frames)
    columns = ["model", "student.hidden", "mode", "seeds", "accuracy", "accuracy_std", "LUT",
               "resource_source"] + [c for c in REJECTION_COLUMNS if c in table]
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    table.to_csv(out / "frontier.csv", index=False)
    print("\n".join(goal_check(table)))
    print(f"plot: {plot_frontier(table, out / 'frontier.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
