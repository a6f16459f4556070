#!/usr/bin/env python
"""Benchmark (not a test): the HGQ students' accuracy-vs-LUT frontier beside the QKeras 8-bit one.

    python benchmarks/bench_hgq_frontier.py                      # benchmark set, hlf + hybrid, 3 seeds
    python benchmarks/bench_hgq_frontier.py --families hlf --betas 1e-5 --seeds 0
    python benchmarks/bench_hgq_frontier.py --report-only        # table, goal check, plot from what is done
    python benchmarks/bench_hgq_frontier.py --families hybrid --betas 1e-5 --epochs 120 --patience 30 \
        --beta-ramp-epochs 10 --out bench_runs/hgq_frontier_e120  # longer training, its own directory
    python benchmarks/bench_hgq_frontier.py --report-only --also-from bench_runs/hgq_frontier_e120
    python benchmarks/bench_hgq_frontier.py --report-only --out bench_runs/hgq_frontier_e200 \
        --earlier-csv docs/results/hgq_frontier.csv --docs-csv docs/results/hgq_frontier.csv  # beside the docs' rows

Every HGQ student family (``hlf_hgq``, ``hybrid_hgq``) is trained at each resource-penalty
weight beta (``--betas``), KD and scratch twins, over ``--seeds`` with ``fpgakd scan`` (Dask,
resumable: a rerun skips finished points). The first seed's points run the RTL flow (da4ml
Verilog, Verilator bit-exact against the proxy, Yosys LUT); the other seeds only train, so
accuracy is the mean over the seeds and LUT, cycles and DSP are the first seed's. Where a scan
ran the RTL flow on several seeds (``--scans``), LUT is their mean (``LUT seeds``: how many) and
cycles and DSP their largest. Data: the
150,000-jet benchmark set (``fpgakd generate --benchmark``) unless ``--jets``; teacher:
``--teacher``, or one trained here once from ``teachers/<--teacher-config>.yaml`` (by default
``deepsets_hlf_single``: the Deep Sets + HLF teacher as one model, where the QKeras front was
distilled from three out-of-fold ones, 75.2%; ``--teacher-config deepsets_hlf`` trains those).

The QKeras 8-bit front it is judged against is ``docs/results/frontier.csv`` (the table
``bench_frontier.py`` produced on the same set: scratch, KD and tuned KD, 3 seeds, Yosys LUT).
Printed: one row per (family, beta, mode) with accuracy mean +- std, EBOPs, LUT, cycles and
the W/Z/t rejections; the goal check (at every accuracy of the QKeras HLF and hybrid fronts an
HGQ student at <= 1/4 of its LUT; >= 68.2% at <= 6,000 LUT and >= 66.0% at <= 3,000 LUT with
0 DSP, <= 6 cycles and II 1); ``hgq_frontier.png`` (accuracy against LUT, log x).

``--earlier-csv`` reads the rows of an earlier formatted table (``docs/results/hgq_frontier.csv``)
back, for points whose run directories are gone: the goal check, the plot and ``--docs-csv`` then
judge and write both, a row measured now replacing an earlier one of the same student, beta,
epochs and mode.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path
from typing import Any, Callable

from bench_frontier import REJECTION_COLUMNS, _run, _seed_groups, _teacher, _write_scan

#: HGQ student families (base models under models/)
FAMILIES = {"hlf": "hlf_hgq", "hybrid": "hybrid_hgq"}
#: resource-penalty weights scanned, smallest (largest, most accurate students) first; on the
#: default data 3e-6 and 1e-5 gave about 11,000 and 4,000 LUT (hlf_hgq, 10,000 steps)
DEFAULT_BETAS = (3e-6, 1e-5, 3e-5, 1e-4)
#: the QKeras 8-bit front this benchmark is judged against
QKERAS_FRONT = Path(__file__).resolve().parent.parent / "docs" / "results" / "frontier.csv"
#: the QKeras families the goal names, as that table labels them
QKERAS_FAMILIES = ("hlf", "hybrid")
#: an HGQ student must reach a QKeras point's accuracy with at most this share of its LUT
LUT_SHARE = 0.25
#: (accuracy, LUT budget) pairs the goal names explicitly
GOAL_POINTS = ((0.682, 6000), (0.660, 3000))
#: the plot's marker of each HGQ student family (student_family)
FAMILY_MARKERS = {"HLF MLP": "o", "hybrid MLP": "s", "particle set": "^"}
#: firmware limits of those goal points: cycles at 240 MHz, DSP, initiation interval
MAX_CYCLES, MAX_DSP, MAX_II = 6, 0, 1


def _first_number(cell: str, index: int = 0) -> float:
    """The ``index``-th number of a table cell such as ``"68.2 ± 0.0"`` or ``"1,763 / 1,731"``."""
    parts = str(cell).replace("**", "").replace(",", "").replace("±", "/").split("/")
    return float(parts[index].split("(")[0].strip())


def qkeras_front(path: Path = QKERAS_FRONT) -> Any:
    """The QKeras 8-bit points of the HLF and hybrid families: family, size, mode, accuracy, LUT.

    >>> front = qkeras_front()
    >>> front[(front["student"] == "hlf 64-32-32") & (front["mode"] == "scratch")]["LUT"].item()
    24202.0
    """
    import pandas as pd

    table = pd.read_csv(path)
    columns = {"scratch": "scratch", "kd": "KD (model's T, alpha)", "kd tuned": "KD tuned (alpha, T)"}
    rows = []
    for _, row in table.iterrows():
        family = row["student"].split()[0]
        if family not in QKERAS_FAMILIES:
            continue
        for i, (mode, column) in enumerate(columns.items()):
            rows.append({"student": row["student"], "family": family, "mode": mode,
                         "accuracy": _first_number(row[column]) / 100,
                         "LUT": _first_number(row["LUT scratch / KD / tuned"], i)})
    return pd.DataFrame(rows)


def run_scans(args: argparse.Namespace, out: Path, jets: Path, teacher: Path) -> list[Path]:
    """One scan per family and seed group over the betas, KD and scratch; their directories."""
    dirs = []
    fixed = {"training.epochs": args.epochs, "training.batch_size": args.batch_size,
             "training.patience": args.patience, "quantization.beta_ramp_epochs": args.beta_ramp_epochs}
    # every family's first seed (with RTL) before any further seed: a stopped run has a front
    for seeds, rtl, suffix in _seed_groups(args):
        for family in args.families:
            grid = {"quantization.beta": list(args.betas), "training.seed": seeds}
            path = _write_scan(out, f"hgq_{family}_{suffix}", FAMILIES[family], jets, teacher, rtl,
                               modes=list(args.modes), fixed=fixed, grid=grid)
            dirs.append(_run(args, out, path))
    return dirs


def hgq_table(dirs: list[Path]) -> Any:
    """One row per (model, beta, epochs, mode): accuracy and EBOPs over seeds, firmware of the RTL seed."""
    import pandas as pd

    from fpgakd.scan.table import read_results

    frames = [f for f in (read_results(d) for d in dirs) if not f.empty]
    if not frames:
        return pd.DataFrame()
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["status"] == "ok"]
    if "student.hidden" in rows:
        rows = rows.assign(model=[sized_name(m, h) for m, h in zip(rows["model"], rows["student.hidden"])])
    rows = rows.assign(model=[f"{m}{recipe_suffix(*recipe)}" for m, *recipe in zip(
        rows["model"], _column(rows, "student.inputs.clip"), _column(rows, "student.training.learning_rate_schedule"),
        _column(rows, "student.quantization.input_min_frac_bits"),
        _column(rows, "student.quantization.hidden_min_frac_bits"))])
    keys = ["model", "student.quantization.beta", "student.training.epochs", "mode"]
    stats = rows.groupby(keys).agg(
        accuracy=("accuracy", "mean"), accuracy_std=("accuracy", "std"), seeds=("accuracy", "size"),
        ebops=("ebops", "mean"), **{c: (c, "mean") for c in REJECTION_COLUMNS if c in rows})
    return stats.join(_firmware_over_seeds(rows, keys)).reset_index().sort_values(["model", "LUT"])


def _firmware_over_seeds(rows: Any, keys: list[str]) -> Any:
    """Per student: the LUT averaged over the seeds whose LUT has the first seed's source (the RTL
    flow's, where the other seeds only trained), how many those are, the most cycles and DSP of
    them, and the first seed's source, II and C-simulation verdict."""
    measured = rows[rows["LUT"].notna()].sort_values("student.training.seed")
    measured = measured[measured["resource_source"] ==
                        measured.groupby(keys)["resource_source"].transform("first")]
    groups = measured.groupby(keys)
    firmware = groups[[c for c in ("resource_source", "ii", "csim") if c in rows]].first()
    return firmware.join(groups.agg(LUT=("LUT", "mean"), lut_seeds=("LUT", "size"),
                                    **{c: (c, "max") for c in ("DSP", "latency_cycles") if c in rows}))


def sized_name(model: str, hidden: str) -> str:
    """The student's name in the table: the model's, with its hidden widths where a scan changed them.

    >>> sized_name("hybrid_hgq", "[48, 32, 32]"), sized_name("hybrid_hgq", "[16]"), sized_name("hlf_hgq", "[]")
    ('hybrid_hgq', 'hybrid_hgq 16', 'hlf_hgq linear')
    """
    import json

    from fpgakd.config import load_model_config

    widths = list(json.loads(hidden))
    if widths == list(load_model_config(model).hidden):
        return model
    return f"{model} {'-'.join(map(str, widths)) or 'linear'}"


def _column(rows: Any, name: str) -> list[Any]:
    """A column of the scan table, or None on every row where its scans predate the key."""
    return list(rows[name]) if name in rows else [None] * len(rows)


def recipe_suffix(clip: Any, schedule: Any, input_floor: Any = None, hidden_floor: Any = None) -> str:
    """What sets a student's recipe apart from its model's defaults in the table's name: inputs
    clipped, a cosine learning rate, a floor under the inputs' or the hidden activations'
    fractional bits (None or NaN: the default).

    >>> recipe_suffix(3.9, "cosine"), recipe_suffix(float("nan"), None, 4.0), recipe_suffix(None, "constant")
    (' clip 3.9 cosine', ' input floor 4', '')
    >>> recipe_suffix(None, None, 4.0, 2.0)
    ' input floor 4 hidden floor 2'
    """
    parts = [f"clip {clip:g}" if _given(clip) else "", "cosine" if schedule == "cosine" else "",
             f"input floor {input_floor:g}" if _given(input_floor) else "",
             f"hidden floor {hidden_floor:g}" if _given(hidden_floor) else ""]
    return "".join(f" {p}" for p in parts if p)


def _given(value: Any) -> bool:
    """A key's value in a scan row; None, or NaN (NaN != NaN) where a row predates the key, is not."""
    return value is not None and value == value


def _fits_firmware(row: Any) -> bool:
    """Within the goal's DSP, cycles and II; a figure the row lacks (None, or NaN where rows of an
    earlier table without it were joined) is not held against it."""
    import pandas as pd

    def known(key: str, default: float) -> float:
        value = row.get(key)
        return default if value is None or pd.isna(value) else value

    return known("DSP", 0) <= MAX_DSP and known("latency_cycles", 0) <= MAX_CYCLES and known("ii", 1) <= MAX_II


def _count_or_unknown(value: float) -> str:
    """A count as printed in the goal lines; a table that keeps none (NaN) says so.

    >>> _count_or_unknown(0.0), _count_or_unknown(float("nan"))
    ('0', 'not recorded')
    """
    return "not recorded" if math.isnan(value) else f"{value:.0f}"


def quarter_matches(table: Any, front: Any) -> Any:
    """``front`` with ``met``: whether an HGQ student of ``table`` reaches the QKeras point's accuracy
    with at most ``LUT_SHARE`` of its LUT.

    >>> import pandas as pd
    >>> front = pd.DataFrame({"accuracy": [0.62, 0.68], "LUT": [2800.0, 24000.0]})
    >>> hgq = pd.DataFrame({"accuracy": [0.63, 0.70], "LUT": [650.0, 7000.0]})
    >>> quarter_matches(hgq, front)["met"].tolist()
    [True, False]
    """
    hgq = table.dropna(subset=["LUT"])
    return front.assign(met=[bool(((hgq["accuracy"] >= q["accuracy"]) & (hgq["LUT"] <= LUT_SHARE * q["LUT"])).any())
                             for _, q in front.iterrows()])


def goal_check(table: Any, front: Any) -> list[str]:
    """The goal lines: each QKeras point against the HGQ students, then the two named points."""
    lines = []
    hgq = table.dropna(subset=["LUT"])
    for _, q in front.iterrows():
        best = hgq[hgq["accuracy"] >= q["accuracy"]].sort_values("LUT").head(1)
        found = ("none as accurate" if best.empty else
                 f"cheapest as accurate: {best['model'].item()} beta {best['student.quantization.beta'].item():g} "
                 f"{best['mode'].item()} {100 * best['accuracy'].item():.1f}% at {best['LUT'].item():,.0f} LUT "
                 f"({best['LUT'].item() / q['LUT']:.2f} of it)")
        lines.append(f"QKeras {q['student']} {q['mode']} {100 * q['accuracy']:.1f}% at {q['LUT']:,.0f} LUT: {found}")
    met = int(quarter_matches(table, front)["met"].sum())
    lines.append(f"goal (an HGQ student at <= {LUT_SHARE:.2f} of the LUT at every QKeras accuracy): "
                 f"{'met' if met == len(front) else 'not met'} (met at {met} of {len(front)} points)")
    for accuracy, budget in GOAL_POINTS:
        ok = hgq[(hgq["accuracy"] >= accuracy) & (hgq["LUT"] <= budget)]
        ok = ok[[_fits_firmware(r) for _, r in ok.iterrows()]]
        best = hgq[hgq["LUT"] <= budget].sort_values("accuracy").tail(1)
        seen = ("no HGQ student that small" if best.empty else
                f"best at <= {budget:,} LUT: {best['model'].item()} beta {best['student.quantization.beta'].item():g} "
                f"{best['mode'].item()} {100 * best['accuracy'].item():.1f}% at {best['LUT'].item():,.0f} LUT, "
                f"{best['latency_cycles'].item():.0f} cycles, DSP {_count_or_unknown(best['DSP'].item())}")
        lines.append(f"goal >= {100 * accuracy:.1f}% at <= {budget:,} LUT, <= {MAX_CYCLES} cycles, "
                     f"0 DSP, II 1: {'met' if not ok.empty else 'not met'} ({seen})")
    return lines


def student_family(model: str) -> str:
    """The plot's family of an HGQ student (a row's ``model``), by what it reads.

    >>> student_family("hlf_hgq 8 clip 3.9"), student_family("hybrid MLP 48-32-32 (3 features)")
    ('HLF MLP', 'hybrid MLP')
    >>> student_family("deepsets_hgq_16 cosine")
    'particle set'
    """
    name = model.lower()
    return "HLF MLP" if name.startswith("hlf") else "hybrid MLP" if name.startswith("hybrid") else "particle set"


def _draw_qkeras_fronts(ax: Any, front: Any) -> None:
    for (family, mode), group in front[front["mode"] != "kd"].groupby(["family", "mode"]):
        group = group.sort_values("LUT")
        ax.plot(group["LUT"], 100 * group["accuracy"], linestyle=":", marker="x", color="grey" if
                family == "hlf" else "black", label=f"QKeras 8-bit {family} {mode}")


def _draw_quarter_goal(ax: Any, matches: Any) -> None:
    """Each QKeras point moved to ``LUT_SHARE`` of its LUT: where an HGQ student must be above and left."""
    for met, group in matches.groupby("met"):
        ax.scatter(LUT_SHARE * group["LUT"], 100 * group["accuracy"], marker="D", s=30, zorder=3,
                   facecolors="tab:green" if met else "none", edgecolors="tab:green" if met else "tab:red",
                   label=f"QKeras point at {LUT_SHARE:g} of its LUT: {'met' if met else 'not met'}")


def _draw_hgq_students(ax: Any, table: Any) -> None:
    from fpgakd.scan.pareto import MODE_COLOURS

    rows = table.dropna(subset=["LUT"])
    families = [student_family(m) for m in rows["model"]]
    for (family, mode), group in rows.groupby([families, rows["mode"]]):
        spread = group["accuracy_std"].fillna(0) if "accuracy_std" in group else 0
        ax.errorbar(group["LUT"], 100 * group["accuracy"], yerr=100 * spread, linestyle="none", alpha=0.7,
                    marker=FAMILY_MARKERS[family], markersize=4, capsize=2, color=MODE_COLOURS.get(mode, "tab:gray"),
                    label=f"HGQ {family} {mode}")


def _draw_hgq_front(ax: Any, table: Any) -> None:
    from fpgakd.scan.pareto import pareto_mask

    rows = table.dropna(subset=["LUT"])
    front = rows[pareto_mask(rows["LUT"], rows["accuracy"])].sort_values("LUT")
    ax.plot(front["LUT"], 100 * front["accuracy"], color="tab:blue", linewidth=2, alpha=0.5,
            label="HGQ front (every student)")


def plot_frontier(table: Any, front: Any, path: Path) -> Path:
    """Accuracy against LUT: the QKeras fronts, their points at a quarter of their LUT (met or not),
    every HGQ student by family and mode (mean +- std over seeds) and the HGQ front."""
    from fpgakd.figures import pyplot, save_figure

    fig, ax = pyplot().subplots(figsize=(10, 5.5))
    _draw_qkeras_fronts(ax, front)
    _draw_quarter_goal(ax, quarter_matches(table, front))
    _draw_hgq_students(ax, table)
    _draw_hgq_front(ax, table)
    ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_ylabel("test accuracy (%), mean +- std over seeds")
    sources = ", ".join(sorted(table["resource_source"].dropna().unique()))
    ax.set_xlabel(f"LUT (HGQ: {sources}, first seed or mean of seeds; QKeras: Yosys)")
    return save_figure(fig, path)


def docs_table(table: Any) -> Any:
    """The frontier as the docs show it (``docs/results/hgq_frontier.csv``): one formatted row per
    family, beta and mode, the cheapest first."""
    import pandas as pd

    rows = []
    for _, r in table.sort_values(["model", "LUT"]).iterrows():
        spread = f" ± {100 * r['accuracy_std']:.1f}" if r["seeds"] > 1 else " (1 seed)"
        rows.append({"student": f"{r['model']} beta {r['student.quantization.beta']:g}",
                     "epochs": int(r["student.training.epochs"]), "mode": r["mode"],
                     "accuracy": f"{100 * r['accuracy']:.1f}{spread}", "seeds": int(r["seeds"]),
                     "EBOPs": f"{r['ebops']:,.0f}", "Yosys LUT": f"{r['LUT']:,.0f}",
                     "LUT seeds": int(r["lut_seeds"]) if pd.notna(r.get("lut_seeds")) else 1,
                     "cycles": f"{r['latency_cycles']:.0f}", "DSP": f"{r['DSP']:.0f}",
                     "W / Z / t rej @30%": " / ".join(f"{r[f'rej30_{c}']:,.0f}" for c in "WZt")})
    return pd.DataFrame(rows)


def earlier_rows(path: Path) -> Any:
    """The rows of a formatted table (:func:`docs_table`'s CSV) as :func:`hgq_table` rows; the
    firmware columns are the RTL flow's (source ``rtl``: Yosys LUT), as that table's header says."""
    import pandas as pd

    rows = []
    for _, r in pd.read_csv(path, dtype=str).iterrows():
        model, beta = r["student"].split(" beta ")
        spread = _first_number(r["accuracy"], 1) / 100 if "±" in r["accuracy"] else float("nan")
        rows.append({"model": model, "student.quantization.beta": float(beta),
                     "student.training.epochs": int(r["epochs"]), "mode": r["mode"],
                     "accuracy": _first_number(r["accuracy"]) / 100, "seeds": int(r["seeds"]),
                     "accuracy_std": spread, "ebops": _first_number(r["EBOPs"]),
                     "LUT": _first_number(r["Yosys LUT"]), "resource_source": "rtl",
                     "lut_seeds": int(r.get("LUT seeds", 1)),
                     "latency_cycles": _first_number(r["cycles"]), "DSP": _first_number(r["DSP"]),
                     **{f"rej30_{c}": _first_number(r["W / Z / t rej @30%"], i) for i, c in enumerate("WZt")}})
    return pd.DataFrame(rows)


def particle_rows(path: Path) -> Any:
    """The HGQ particle students of ``bench_hgq_particles.py``'s table (``docs/results/hgq_particles.csv``)
    as goal-check rows, KD and scratch twins apart; a twin whose LUT is the cost model's is left out.

    >>> rows = particle_rows(QKERAS_FRONT.parent / "hgq_particles.csv")
    >>> set(rows["resource_source"]), bool((rows["LUT"] > 0).all())
    ({'rtl'}, True)
    """
    import pandas as pd

    rows = []
    for _, r in pd.read_csv(path, dtype=str).iterrows():
        shape = (r["head"] if r["per-particle network"] == "-"
                 else f"{r['particles']} x {r['per-particle network']} / {r['head']}")
        luts = str(r["Yosys LUT KD / scratch"]).split(" / ")
        for i, (mode, column) in enumerate((("kd", "KD (%)"), ("scratch", "scratch (%)"))):
            lut = luts[i] if i < len(luts) else "-"
            if r[column] == "-" or lut == "-" or "(model)" in lut:
                continue
            rows.append({"model": f"{r['student']} {shape} ({r['particle features']} features)",
                         "student.quantization.beta": float(r["beta"]), "student.training.epochs": int(r["epochs"]),
                         "mode": mode, "accuracy": _first_number(r[column]) / 100, "LUT": _first_number(lut),
                         "resource_source": "rtl", "DSP": float("nan"),   # that table keeps no DSP count
                         "latency_cycles": _first_number(r["cycles KD"]) if mode == "kd" else float("nan")})
    return pd.DataFrame(rows)


def formatted_table_or_exit(path: str | None, read: Callable[[Path], Any] = earlier_rows,
                            what: str = "a formatted HGQ frontier table") -> Any:
    """``read`` (:func:`earlier_rows`) of a table given on the command line (None without one,
    ``--earlier-csv`` or ``--particles-csv``); a file that is not
    ``what`` is named in one line on stderr and exits 2, before anything trains."""
    if path is None:
        return None
    try:
        return read(Path(path))
    except (OSError, KeyError, ValueError, AttributeError) as err:
        print(f"{path}: not {what} ({type(err).__name__}: {err})", file=sys.stderr)
        raise SystemExit(2) from None


def with_earlier_rows(table: Any, earlier: Any) -> Any:
    """``table`` and the rows of ``earlier`` it does not measure again (same model, beta, epochs, mode)."""
    import pandas as pd

    if earlier.empty:
        return table
    keys = ["model", "student.quantization.beta", "student.training.epochs", "mode"]
    measured = set(map(tuple, table[keys].itertuples(index=False))) if not table.empty else set()
    kept = earlier[[tuple(k) not in measured for k in earlier[keys].itertuples(index=False)]]
    return pd.concat([table, kept], ignore_index=True).sort_values(["model", "LUT"]).reset_index(drop=True)


def _scan_dirs(out: Path) -> list[Path]:
    """The HGQ scans an earlier run wrote under ``out``."""
    return sorted(p for p in (out / "scans").iterdir() if p.is_dir() and p.name.startswith("hgq_"))


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """``--jets``, ``--teacher`` and ``--teacher-config``: the data and teacher an HGQ benchmark distils from."""
    parser.add_argument("--jets", help="jet file or directory (default: the benchmark set, generated if missing)")
    parser.add_argument("--teacher", help="an existing teacher directory")
    parser.add_argument("--teacher-config", default="deepsets_hlf_single",
                        help="teacher trained here (into --out) when no --teacher")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--families", nargs="+", choices=sorted(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--betas", type=float, nargs="+", default=list(DEFAULT_BETAS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--modes", nargs="+", choices=["kd", "scratch"], default=["kd", "scratch"],
                        help="the KD student, its scratch twin, or both")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--beta-ramp-epochs", type=int, default=4)
    parser.add_argument("--workers", type=int, default=None, help="Dask workers (default: the cores)")
    parser.add_argument("--no-rtl", action="store_true", help="the cost model only, also for the first seed")
    parser.add_argument("--report-only", action="store_true", help="no training: table and plot of what is done")
    parser.add_argument("--out", default="bench_runs/hgq_frontier")
    parser.add_argument("--also-from", nargs="+", default=[], metavar="DIR",
                        help="with --report-only: also the scans of these earlier --out directories")
    parser.add_argument("--scans", nargs="+", default=[], metavar="DIR",
                        help="with --report-only: also these scan directories of HGQ students (fpgakd scan -o DIR)")
    parser.add_argument("--earlier-csv", help="rows of an earlier formatted table to judge and write beside "
                        "this run's (docs/results/hgq_frontier.csv)")
    parser.add_argument("--docs-csv", help="also write the formatted table here (docs/results/hgq_frontier.csv)")
    parser.add_argument("--particles-csv", help="also judge the particle students of this table in the goal check "
                        "(bench_hgq_particles.py's docs/results/hgq_particles.csv)")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    earlier = formatted_table_or_exit(args.earlier_csv)
    particles = formatted_table_or_exit(args.particles_csv, particle_rows, "bench_hgq_particles.py's table")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s")
    from fpgakd.jets.benchmark import benchmark_jets_dir

    out = Path(args.out)
    if args.report_only:
        dirs = [p for root in (out, *map(Path, args.also_from)) for p in _scan_dirs(root)] + list(map(Path, args.scans))
    else:
        jets = Path(args.jets) if args.jets else benchmark_jets_dir(progress=not args.quiet)
        teacher = (Path(args.teacher) if args.teacher
                   else _teacher(out, jets, args.teacher_config, not args.quiet))
        dirs = run_scans(args, out, jets, teacher)
    table = hgq_table(dirs)
    if earlier is not None:
        table = with_earlier_rows(table, earlier)
    if table.empty:
        print("no finished points yet")
        return 1
    front = qkeras_front()
    columns = ["model", "student.quantization.beta", "student.training.epochs", "mode", "seeds", "accuracy",
               "accuracy_std", "ebops", "LUT", "resource_source", "latency_cycles", "DSP", "csim",
               *[c for c in REJECTION_COLUMNS if c in table]]
    print(table[[c for c in columns if c in table]].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    table.to_csv(out / "hgq_frontier.csv", index=False)
    if args.docs_csv:
        docs_table(table.dropna(subset=["LUT"])).to_csv(args.docs_csv, index=False)
    judged = table
    if particles is not None:
        import pandas as pd

        judged = pd.concat([table, particles], ignore_index=True)
    print("\n".join(goal_check(judged, front)))
    print(f"plot: {plot_frontier(judged, front, out / 'hgq_frontier.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
