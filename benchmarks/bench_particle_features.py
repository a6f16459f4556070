#!/usr/bin/env python
"""Benchmark (not a test): do the particle features the teacher reads lift the 8-bit Deep Sets
+ HLF student? A table and a plot of ``fpgakd scan scans/particle_features.yaml``.

    fpgakd generate --benchmark
    fpgakd teacher --jets ~/.cache/fpgakd/benchmark_jets_10x_01cb37223843 \\
        --config deepsets_hlf_single -o bench_runs/hgq_frontier/teacher
    fpgakd scan scans/particle_features.yaml -o bench_runs/particle_features --workers 2
    python benchmarks/bench_particle_features.py --docs-csv docs/results/particle_features.csv

One row per student shape (particle features, per-particle network, head, pooling, epochs):
test accuracy of the KD and the scratch twin (mean ± std over the seeds the scan ran), their
difference, the LUT of each (seed 0; the source the scan names: Yosys, or the calibrated da4ml
cost model), and the KD twin's W and t background rejections at 30% signal efficiency. The
plot (``particle_features.png`` in the scan directory) puts the students beside the QKeras
8-bit MLP fronts of ``docs/results/frontier.csv``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from collections.abc import Callable
from typing import Any

from fpgakd.atomic import write_text_atomic

#: what a student reads of each particle, named by how many features (the scan's two sets)
FEATURE_SETS = {3: "3 (deta, dphi, log pT fraction)", 7: "7 (the teacher's)"}
SHAPE_COLUMNS = ["student", "particles", "features", "per-particle network", "head", "pooling", "sparsity", "epochs",
                 "recipe"]
#: the MLP fronts drawn for reference: docs/results/frontier.csv rows of these families
REFERENCE_FAMILIES = ("hlf", "hybrid")
#: the plot starts here: the particle students are all far above it, the MLPs' small sizes far below
PLOT_MIN_LUT = 2000


def widths(text: str) -> str:
    """A table cell's layer widths ``"[32, 16]"`` as ``"32-16"`` (``"-"`` for none)."""
    return "-".join(str(w) for w in json.loads(text)) or "-"


def _shape(row: Any) -> dict[str, Any]:
    deep_sets = row["student.inputs.type"] == "particle_set"
    return {"student": "Deep Sets + HLF" if deep_sets else "hybrid MLP",
            "particles": int(row["student.inputs.n_constituents"]),
            "features": FEATURE_SETS.get(len(json.loads(row["student.inputs.constituent_features"])), "other"),
            "per-particle network": widths(row["student.particle_hidden"]), "head": widths(row["student.hidden"]),
            "pooling": row["student.pooling"] if deep_sets else "-",
            "sparsity": f"{row['student.pruning.target_sparsity']:.0%}", "epochs": int(row["student.training.epochs"]),
            # a scratch twin carries the model's own (alpha, T), so it lands beside that KD recipe
            "recipe": f"{row['student.distillation.alpha']:g}, {row['student.distillation.temperature']:g}"}


def load_points(scan_dirs: list[Path], shape: Callable[[Any], dict[str, Any]] = _shape) -> Any:
    """The scans' finished points, one row each, with the columns ``shape`` gives them."""
    import pandas as pd

    table = pd.concat([pd.read_csv(d / "results.csv") for d in scan_dirs if (d / "results.csv").is_file()],
                      ignore_index=True)
    table = table[table["status"] == "ok"].copy()
    shapes = pd.DataFrame([shape(row) for _, row in table.iterrows()], index=table.index)
    return pd.concat([table, shapes], axis=1)


def _mean_std(values: Any) -> str:
    values = 100 * values
    return f"{values.mean():.1f} ± {values.std(ddof=0):.1f}" if len(values) > 1 else f"{values.mean():.1f} (1 seed)"


def summarize(points: Any) -> list[dict[str, Any]]:
    """One dict per shape: KD and scratch accuracy, their gain, LUT and rejections."""
    rows = []
    for shape, group in points.groupby(SHAPE_COLUMNS, sort=True):
        row = dict(zip(SHAPE_COLUMNS, shape))
        by_mode = {mode: g for mode, g in group.groupby("mode")}
        for mode in ("kd", "scratch"):
            g = by_mode.get(mode)
            row[mode] = _mean_std(g["accuracy"]) if g is not None else "-"
            first = g[g["student.training.seed"] == g["student.training.seed"].min()] if g is not None else None
            row[f"LUT {mode}"] = int(first["LUT"].iloc[0]) if first is not None else None
            row[f"source {mode}"] = first["resource_source"].iloc[0] if first is not None else None
        both = {m: by_mode[m]["accuracy"].mean() for m in ("kd", "scratch") if m in by_mode}
        row["KD - scratch"] = 100 * (both["kd"] - both["scratch"]) if len(both) == 2 else None
        kd = by_mode.get("kd")
        row["W rej @30% (KD)"] = float(kd["rej30_W"].mean()) if kd is not None else None
        row["t rej @30% (KD)"] = float(kd["rej30_t"].mean()) if kd is not None else None
        row["accuracy_kd"] = 100 * both.get("kd", float("nan"))
        rows.append(row)
    return rows


def format_rows(rows: list[dict[str, Any]]) -> list[str]:
    """CSV lines for the docs table (LUT with its source: cost model or Yosys)."""
    def lut(row: dict[str, Any], mode: str) -> str:
        if row[f"LUT {mode}"] is None:
            return "-"
        return f"{row[f'LUT {mode}']:,}" + (" (Yosys)" if row[f"source {mode}"] == "rtl" else "")

    def number(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    lines = ["student,particles,particle features,per-particle network,head,pooling,pruned,epochs,"
             "KD alpha / T,KD (%),scratch (%),KD - scratch,LUT KD / scratch,W rej @30% (KD),t rej @30% (KD)"]
    for r in rows:
        lines.append(",".join([r["student"], str(r["particles"]), f"\"{r['features']}\"", r["per-particle network"],
                               r["head"], r["pooling"], r["sparsity"], str(r["epochs"]),
                               r["recipe"].replace(", ", " / "), r["kd"], r["scratch"], number(r["KD - scratch"], "+.1f"),
                               f"\"{lut(r, 'kd')} / {lut(r, 'scratch')}\"", number(r["W rej @30% (KD)"], ".0f"),
                               number(r["t rej @30% (KD)"], ".0f")]))
    return lines


def _reference_front(frontier_csv: Path) -> list[tuple[str, float, float]]:
    """(student, scratch accuracy, scratch LUT) of the QKeras MLP front in the docs."""
    from bench_hgq_frontier import qkeras_front

    front = qkeras_front(frontier_csv).query("mode == 'scratch'")
    return [(q["student"], 100 * q["accuracy"], q["LUT"]) for _, q in front.iterrows()]


def plot(rows: list[dict[str, Any]], frontier_csv: Path, path: Path) -> Path:
    """KD accuracy against LUT per student and feature set, the QKeras MLP fronts (scratch) beside them."""
    from fpgakd.figures import pyplot, save_log_x_plot

    fig, ax = pyplot().subplots(figsize=(6.4, 4.2))
    for family in REFERENCE_FAMILIES:
        ref = sorted((lut, acc) for name, acc, lut in _reference_front(frontier_csv)
                     if name.startswith(family) and lut >= PLOT_MIN_LUT)
        ax.plot([p[0] for p in ref], [p[1] for p in ref], "s--", color="grey" if family == "hlf" else "black",
                label=f"QKeras {family} MLP, scratch (frontier.csv)")
    for colour, label in zip(("C0", "C1"), FEATURE_SETS.values()):
        for student, marker in (("Deep Sets + HLF", "o"), ("hybrid MLP", "D")):
            sel = [r for r in rows if (r["student"], r["features"]) == (student, label) and r["LUT kd"] is not None]
            if sel:
                ax.plot([r["LUT kd"] for r in sel], [r["accuracy_kd"] for r in sel], marker, color=colour,
                        label=f"{student}, {label} features, KD")
    return save_log_x_plot(fig, ax, path,
                           xlabel="LUT (as the table gives it: the calibrated cost model unless it says Yosys)",
                           ylabel="test accuracy (%)",
                           title="8-bit students: the particle features they read (benchmark set)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scan-dir", default="bench_runs/particle_features")
    parser.add_argument("--frontier-csv", default="docs/results/frontier.csv")
    parser.add_argument("--docs-csv", help="also write the table here (docs/results/particle_features.csv)")
    args = parser.parse_args(argv)
    scan_dir = Path(args.scan_dir)
    if not (scan_dir / "results.csv").is_file():
        print(f"{scan_dir}/results.csv: no scan results; run the scan first (see --help)", file=sys.stderr)
        return 1
    rows = summarize(load_points([scan_dir]))
    lines = format_rows(rows)
    print("\n".join(lines))
    print(f"plot: {plot(rows, Path(args.frontier_csv), scan_dir / 'particle_features.png')}")
    if args.docs_csv:
        write_text_atomic(args.docs_csv, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
