#!/usr/bin/env python
"""Benchmark (not a test): the accuracy-vs-LUT frontier of KD and scratch students.

    python benchmarks/bench_frontier.py                          # benchmark set, 3 families, 3 seeds
    python benchmarks/bench_frontier.py --families hlf --seeds 0 --sizes 8 16
    python benchmarks/bench_frontier.py --report-only            # table + plot from what is done

For each student family (``hlf_mlp``, ``constituent_mlp``, ``hybrid_mlp``) and size (hidden
layers), KD and scratch twins are trained over several seeds with ``fpgakd scan`` (Dask, one
scan per family and seed group, resumable: a rerun skips finished points). The first seed's
points run the RTL flow (Yosys LUT, Verilator-checked) where its tools are installed; the
other seeds only train (their LUT would differ by a few percent). Then each family and size
gets its own KD recipe: every RECIPE_GRID (alpha, T) pair is trained on the first seed, the
best on the validation split is kept and trained over all seeds as "kd tuned" (``--no-tuning``
skips it). Data: the 150,000-jet
benchmark set (``fpgakd generate --benchmark``) unless ``--jets``; teacher: ``--teacher``, or
one trained here once from ``teachers/<--teacher-config>.yaml``.

Printed: a table of accuracy (mean +- std over seeds) and W/Z/t rejections at 30% and 50%
signal efficiency beside the LUT (its source named); the chosen recipes; the goal check (a KD student
with LUT <= the best scratch student's beats it by >= 1.5 points; at <= 500 LUT, KD >=
scratch; KD is "kd tuned" where it ran); ``frontier.png`` (accuracy against LUT, log x).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from pathlib import Path
from typing import Any

#: student families and the hidden layers scanned for each, smallest first
FAMILIES = {"hlf": "hlf_mlp", "constituent": "constituent_mlp", "hybrid": "hybrid_mlp"}
DEFAULT_SIZES = ("4", "16", "32-16", "64-32-32")
#: the frontier's goal: KD beats the best scratch student at no more LUT by this many points ...
GOAL_GAIN = 0.015
#: ... and among students up to this LUT, KD is at least as good as scratch
SMALL_LUT = 500
REJECTION_COLUMNS = [f"rej{e}_{c}" for c in ("W", "Z", "t") for e in (30, 50)]
#: KD recipes tried for every family and size on the first seed (no RTL); the one with the best
#: validation accuracy is the "kd tuned" student (the models' own T and alpha stay "kd")
RECIPE_GRID = {"distillation.alpha": [0.2, 0.5, 0.8], "distillation.temperature": [2.0, 4.0]}
RECIPE_KEYS = list(RECIPE_GRID)
TUNED = "kd tuned"


def _hidden(size: str) -> list[int]:
    return [int(w) for w in size.split("-")]


def _write_scan(out: Path, name: str, model: str, jets: Path, teacher: Path, rtl: bool,
                **sampling: Any) -> Path:
    """scans/<name>.yaml for one scan of ``model``; ``sampling``: modes, fixed, grid, points."""
    import yaml

    spec = {"name": name, "model": model, "jets": str(jets), "teacher": str(teacher),
            "rtl": rtl, "csim_jets": 2000, **sampling}
    path = out / "scans" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _run(args: argparse.Namespace, out: Path, yaml_path: Path) -> Path:
    from fpgakd.scan.run import run_scan

    scan_dir = out / "scans" / yaml_path.stem
    summary = run_scan(yaml_path, scan_dir, workers=args.workers, progress=not args.quiet)
    print(f"{yaml_path.stem}: {summary.n_points} points, {summary.n_failed} failed, {summary.seconds:.0f} s")
    return scan_dir


def _teacher(out: Path, jets: Path, config: str, progress: bool) -> Path:
    from fpgakd.config import load_teacher_config
    from fpgakd.learn.rundir import TEACHER_JSON
    from fpgakd.learn.teacher import train_teacher

    target = out / "teacher"
    if not (target / TEACHER_JSON).is_file() and not any(target.glob("*.keras")):
        train_teacher(jets, target, config=load_teacher_config(config), progress=progress)
    return target


def _seed_groups(args: argparse.Namespace) -> list[tuple[list[int], bool, str]]:
    """(seeds, rtl, suffix): the first seed through the RTL flow, the others trained only."""
    groups = [(args.seeds[:1], not args.no_rtl, "rtl"), (args.seeds[1:], False, "seeds")]
    return [g for g in groups if g[0]]


def run_scans(args: argparse.Namespace, out: Path, jets: Path, teacher: Path) -> list[Path]:
    """One scan per family and seed group, KD (the model's recipe) and scratch; their directories."""
    dirs = []
    # every family's first seed before any further seed: an interrupted run has a whole frontier
    for seeds, rtl, suffix in _seed_groups(args):
        for family in args.families:
            grid = {"hidden": [_hidden(s) for s in args.sizes], "training.seed": seeds}
            path = _write_scan(out, f"frontier_{family}_{suffix}", FAMILIES[family], jets, teacher, rtl,
                               modes=["kd", "scratch"], grid=grid)
            dirs.append(_run(args, out, path))
    return dirs


def tune_recipes(args: argparse.Namespace, out: Path, jets: Path, teacher: Path) -> Any:
    """Every RECIPE_GRID recipe for each family and size on the first seed, without RTL; one row
    per (model, hidden) with the recipe of the best validation accuracy."""
    import pandas as pd

    from fpgakd.scan.table import read_results

    chosen = []
    for family in args.families:
        grid = {"hidden": [_hidden(s) for s in args.sizes], **RECIPE_GRID}
        path = _write_scan(out, f"recipe_{family}", FAMILIES[family], jets, teacher, False,
                           modes=["kd"], fixed={"training.seed": args.seeds[0]}, grid=grid)
        rows = read_results(_run(args, out, path))
        rows = rows[rows["status"] == "ok"]
        # the table holds hidden as text, "[32, 16]"
        rows = rows[rows["student.hidden"].isin([str(_hidden(s)) for s in args.sizes])]
        if rows.empty:
            raise SystemExit(f"recipe_{family}: no finished KD point to choose a recipe from")
        best = rows.loc[rows.groupby("student.hidden")["val_accuracy"].idxmax()]
        chosen.append(best[["model", "student.hidden", "val_accuracy"]
                           + [f"student.{k}" for k in RECIPE_KEYS]])
    return pd.concat(chosen, ignore_index=True)


def run_tuned_scans(args: argparse.Namespace, out: Path, jets: Path, teacher: Path, recipes: Any) -> list[Path]:
    """The tuned KD student of each family and size over all seeds (first seed with RTL)."""
    dirs = []
    for seeds, rtl, suffix in _seed_groups(args):
        for family in args.families:
            mine = recipes[recipes["model"] == FAMILIES[family]]
            points = [{"hidden": json.loads(r["student.hidden"]), "training.seed": seed, "mode": "kd",
                       **{k: float(r[f"student.{k}"]) for k in RECIPE_KEYS}}
                      for _, r in mine.iterrows() for seed in seeds]
            path = _write_scan(out, f"tuned_{family}_{suffix}", FAMILIES[family], jets, teacher, rtl,
                               points=points)
            dirs.append(_run(args, out, path))
    return dirs


def _frames(dirs: list[Path]) -> list:
    """The scans' rows; a tuned scan's KD rows are labelled TUNED."""
    from fpgakd.scan.table import read_results

    frames = []
    for d in dirs:
        rows = read_results(d)
        if rows.empty:
            continue
        if d.name.startswith("tuned_"):
            rows = rows.assign(mode=TUNED)
        frames.append(rows)
    return frames


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


def _mean_std(row: Any) -> str:
    spread = "1 seed" if row["seeds"] < 2 else f"+- {100 * row['accuracy_std']:.1f}, {row['seeds']} seeds"
    return f"{100 * row['accuracy']:.1f}% ({spread})"


def goal_check(table: Any) -> list[str]:
    """Issue #9's two goals, read off the frontier table (KD: the tuned recipe where it ran)."""
    kd_mode = TUNED if (table["mode"] == TUNED).any() else "kd"
    scratch, kd = table[table["mode"] == "scratch"], table[table["mode"] == kd_mode]
    if scratch.empty or kd.empty or scratch["LUT"].isna().all():
        return ["goal: not enough finished points to judge"]
    best = scratch.loc[scratch["accuracy"].idxmax()]
    cheaper = kd[kd["LUT"] <= best["LUT"]]
    lines = [f"best scratch student: {best['model']} {best['student.hidden']} "
             f"{_mean_std(best)} at {best['LUT']:.0f} LUT ({best['resource_source']})"]
    if not cheaper.empty:
        top = cheaper.loc[cheaper["accuracy"].idxmax()]
        gain = top["accuracy"] - best["accuracy"]
        lines.append(f"best {kd_mode} student at <= its LUT: {top['model']} {top['student.hidden']} "
                     f"{_mean_std(top)} at "
                     f"{top['LUT']:.0f} LUT: {100 * gain:+.1f} points (goal +{100 * GOAL_GAIN:.1f}: "
                     f"{'met' if gain >= GOAL_GAIN else 'not met'})")
    # the budget is the scratch student's: its KD twin at the same size must be as accurate
    pairs = table.pivot_table(index=["model", "student.hidden"], columns="mode", values=["accuracy", "LUT"])
    if ("LUT", "scratch") in pairs and ("accuracy", kd_mode) in pairs:
        small = pairs[pairs[("LUT", "scratch")] <= SMALL_LUT].dropna(subset=[("accuracy", kd_mode)])
        ok = (small[("accuracy", kd_mode)] >= small[("accuracy", "scratch")]).sum()
        lines.append(f"sizes whose scratch student has <= {SMALL_LUT} LUT: {kd_mode} >= scratch "
                     f"for {ok} of {len(small)}")
    return lines


def plot_frontier(table: Any, path: Path) -> Path:
    from fpgakd.figures import pyplot, save_figure
    from fpgakd.scan.pareto import MODE_COLOURS

    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    draw_fronts(ax, table, {**MODE_COLOURS, TUNED: "tab:green"})
    sources = ", ".join(sorted(table["resource_source"].dropna().unique()))
    ax.set_xlabel(f"LUT ({sources})")
    return save_figure(fig, path)


def draw_fronts(ax: Any, table: Any, colours: dict[str, str]) -> None:
    """One line per (model, mode) of ``table``: accuracy mean +- std against LUT, log x."""
    # more models than markers: the markers repeat, the legend still names every line
    markers = dict(zip(sorted(table["model"].unique()), itertools.cycle("osD^vP*Xph<>")))
    for (model, mode), group in table.dropna(subset=["LUT"]).groupby(["model", "mode"]):
        group = group.sort_values("LUT")
        ax.errorbar(group["LUT"], 100 * group["accuracy"], yerr=100 * group["accuracy_std"].fillna(0),
                    marker=markers[model], color=colours.get(mode, "tab:green"), capsize=2,
                    linestyle="--" if mode == "scratch" else "-", label=f"{model} {mode}")
    ax.set_xscale("log")
    ax.set_ylabel("test accuracy (%), mean +- std over seeds")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


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
    parser.add_argument("--no-tuning", action="store_true",
                        help="KD with each model's own T and alpha only, no recipe tuning")
    parser.add_argument("--report-only", action="store_true", help="no training: table and plot of what is done")
    parser.add_argument("--out", default="bench_runs/frontier")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s")
    import pandas as pd

    from fpgakd.jets.benchmark import benchmark_jets_dir

    out = Path(args.out)
    recipes_csv = out / "recipes.csv"
    if args.report_only:
        dirs = sorted(p for p in (out / "scans").iterdir() if p.is_dir() and p.name.startswith(("frontier_", "tuned_")))
    else:
        jets = Path(args.jets) if args.jets else benchmark_jets_dir(progress=not args.quiet)
        teacher = Path(args.teacher) if args.teacher else _teacher(out, jets, args.teacher_config, not args.quiet)
        dirs = run_scans(args, out, jets, teacher)
        if not args.no_tuning:
            recipes = tune_recipes(args, out, jets, teacher)
            recipes.to_csv(recipes_csv, index=False)
            dirs += run_tuned_scans(args, out, jets, teacher, recipes)
    if recipes_csv.is_file():
        print(f"KD recipes chosen on the validation split (first seed), from {RECIPE_GRID}:")
        print(pd.read_csv(recipes_csv).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    frames = _frames(dirs)
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
