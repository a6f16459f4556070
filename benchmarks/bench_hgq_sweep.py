#!/usr/bin/env python
"""Benchmark (not a test): HGQ's one-training sweep over beta, every Pareto-optimal epoch a design.

    python benchmarks/bench_hgq_sweep.py --teacher bench_runs/hgq_frontier_e200/teacher --seeds 0
    python benchmarks/bench_hgq_sweep.py --report-only --earlier-csv docs/results/hgq_frontier.csv \
        --docs-csv docs/results/hgq_sweep.csv      # table, goal check and plot of what is done

One KD training per seed of ``--family`` (``hybrid_hgq`` by default) on the benchmark set,
with beta growing exponentially from ``--beta-start`` to ``--beta-end`` over ``--epochs``
(``beta_schedule: exponential``), the weights of every epoch kept
(:mod:`fpgakd.learn.hgq_sweep`). The first seed's epochs on the (validation accuracy, EBOPs)
Pareto front, thinned to ``--designs`` spread evenly in log EBOPs, are the designs: each is
made into its proxy and, for the first seed, run through ``fpgakd synth`` with the RTL flow
(C-simulation and Verilator bit-exact against the proxy, Yosys LUT); the other seeds' same
epochs (same beta, same training length) give the accuracy's mean and spread. Everything is
resumable: a finished seed's training and every evaluated design are kept under ``--out``.

Judged as ``bench_hgq_frontier.py`` judges its fixed-beta students (its goal check, the
QKeras 8-bit front of ``docs/results/frontier.csv``), with the rows of ``--earlier-csv``
beside these; printed: one row per design (epoch, beta, accuracy mean +- std, EBOPs, LUT,
cycles, the W/Z/t rejections), the goal check and ``hgq_sweep.png``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

from bench_frontier import REJECTION_COLUMNS, _teacher
from bench_hgq_frontier import (add_data_arguments, docs_table, formatted_table_or_exit, goal_check, plot_frontier,
                                qkeras_front, with_earlier_rows)
from fpgakd.atomic import write_text_atomic

#: the sweep's defaults: beta through three decades, tenfold every 120 epochs; designs of seed 0
BETA_START, BETA_END, EPOCHS, DESIGNS = 1e-6, 1e-3, 360, 10
#: epochs before this are not designs: at beta under 7e-6 they cost over 9,000 LUT, where the
#: fixed-beta students are ahead (docs/benchmarks.md), and Yosys takes longest on them
FIRST_DESIGN_EPOCH = 100
#: C-simulation jets per design (the run's held-out jets, as a scan point uses)
CSIM_JETS = 2000


def sweep_config(family: str, seed: int, args: argparse.Namespace) -> Any:
    """The student of ``family`` trained as one sweep: exponential beta over every epoch, no early stop."""
    from fpgakd.config import ModelConfig, config_from_dict, config_to_dict, load_model_config

    data = config_to_dict(load_model_config(family))
    data["quantization"].update(beta=args.beta_end, beta_start=args.beta_start, beta_schedule="exponential",
                                beta_ramp_epochs=args.epochs)
    data["training"].update(epochs=args.epochs, patience=args.epochs, seed=seed, batch_size=args.batch_size)
    return config_from_dict(ModelConfig, data, f"{family} sweep, seed {seed}")


def train_sweep(cfg: Any, jets: Path, teacher: Path, seed_dir: Path, progress: bool) -> Path:
    """The seed's KD run directory, trained once with every epoch's weights under ``epochs/``."""
    from fpgakd.learn.distillation import distill
    from fpgakd.learn.hgq_sweep import epoch_snapshots
    from fpgakd.learn.rundir import METRICS_FILE

    run = seed_dir / "run"
    if not (run / METRICS_FILE).is_file():
        distill(cfg, jets, run, teacher_path=teacher, modes=("kd",), progress=progress,
                extra_callbacks={"kd": [epoch_snapshots(seed_dir / "epochs", cfg)]})
    return run


def pareto_epochs(rows: list[dict[str, Any]], *, accuracy: str = "val_accuracy", cost: str = "bops",
                  first_epoch: int = 0) -> list[dict[str, Any]]:
    """The rows from ``first_epoch`` on that no other such row beats on both ``accuracy`` (higher)
    and ``cost`` (lower), cheapest first; of equal rows, the earliest.

    >>> rows = [{"epoch": 0, "val_accuracy": 0.6, "bops": 90}, {"epoch": 1, "val_accuracy": 0.7, "bops": 80},
    ...         {"epoch": 2, "val_accuracy": 0.65, "bops": 50}, {"epoch": 3, "val_accuracy": 0.6, "bops": 60}]
    >>> [r["epoch"] for r in pareto_epochs(rows)]
    [2, 1]
    """
    from fpgakd.scan.pareto import pareto_mask

    pool = [r for r in rows if r["epoch"] >= first_epoch]
    if not pool:
        return []
    kept = [r for r, on in zip(pool, pareto_mask([r[cost] for r in pool], [r[accuracy] for r in pool])) if on]
    first_of_equals = {}
    for r in sorted(kept, key=lambda r: (r[cost], -r[accuracy], r["epoch"])):
        first_of_equals.setdefault((r[cost], r[accuracy]), r)
    return list(first_of_equals.values())


def design_epochs(rows: list[dict[str, Any]], n: int, first_epoch: int = FIRST_DESIGN_EPOCH) -> list[dict[str, Any]]:
    """Up to ``n`` Pareto-optimal epochs from ``first_epoch`` on, spread evenly in log EBOPs (the ends kept).

    >>> rows = [{"epoch": e, "val_accuracy": 0.5 + e / 100, "bops": 2.0 ** e} for e in range(12)]
    >>> [r["epoch"] for r in design_epochs(rows, 3, first_epoch=2)]
    [2, 6, 11]
    """
    front = pareto_epochs(rows, first_epoch=first_epoch)
    if len(front) <= n:
        return front
    logs = [math.log(max(r["bops"], 1.0)) for r in front]
    targets = [logs[0] + (logs[-1] - logs[0]) * i / (n - 1) for i in range(n)]
    picked = sorted({min(range(len(front)), key=lambda j: abs(logs[j] - t)) for t in targets})
    return [front[j] for j in picked]


def student_data(cfg: Any, jets: Path, run: Path) -> dict[str, Any]:
    """The run's standardized inputs, labels, class names and split (as distill made them)."""
    import numpy as np

    from fpgakd.jets.loading import load_jets
    from fpgakd.jets.preprocessing import split_indices, student_inputs
    from fpgakd.learn.rundir import read_run_standardizer

    dataset = load_jets(jets)
    labels = np.asarray(dataset.labels, dtype=np.int64)
    x, _ = student_inputs(dataset, cfg.inputs)
    train, val, test = split_indices(len(labels), seed=cfg.training.split_seed, labels=labels)
    xs = np.asarray(read_run_standardizer(run).transform(x), dtype=np.float32)
    return {"x": xs, "labels": labels, "classes": list(dataset.class_names), "train": train, "val": val,
            "test": test}


def _synthesize(proxy_file: Path, heldout: Path, out: Path, name: str) -> dict[str, Any]:
    from fpgakd.config import load_firmware_config
    from fpgakd.errors import MismatchError
    from fpgakd.firmware.report_schema import FPGAKD_REPORT_NAME, read_reports_json
    from fpgakd.firmware.synth import synthesize_run
    from fpgakd.scan.rows import report_columns

    try:
        report = synthesize_run(proxy_file, firmware=load_firmware_config(), hls_root=out / "hls", name=name,
                                inputs=heldout, n_jets=CSIM_JETS, rtl=True, progress=False)
    except MismatchError:
        # as a scan point: the row says "mismatch" and the goal check leaves it out
        report = read_reports_json(out / "hls" / name / FPGAKD_REPORT_NAME)[0]
    return report_columns(report)


def evaluate_design(cfg: Any, seed_dir: Path, design: dict[str, Any], data: dict[str, Any],
                    firmware_out: Path | None) -> dict[str, Any]:
    """One epoch of one seed as a design: its proxy's test accuracy, rejections and exact EBOPs,
    and (``firmware_out``) the firmware's columns; cached in ``designs/epoch_<n>.json``."""
    import numpy as np

    from fpgakd.learn.hgq_sweep import snapshot_file, snapshot_proxy
    from fpgakd.learn.metrics import classification_metrics
    from fpgakd.learn.rundir import HELDOUT_INPUTS_FILE
    from fpgakd.scan.rows import metric_columns

    epoch = design["epoch"]
    cached = seed_dir / "designs" / f"epoch_{epoch:04d}.json"
    if cached.is_file():
        row = json.loads(cached.read_text())
        if firmware_out is None or "LUT" in row:
            return row
    x, labels, test = data["x"], data["labels"], data["test"]
    proxy, ebops = snapshot_proxy(cfg, snapshot_file(seed_dir / "epochs", epoch), x.shape[1], len(data["classes"]),
                                  x[data["train"]])
    logits = proxy.predict(x, batch_size=8192, verbose=0)
    metrics = classification_metrics(labels[test], logits[test], data["classes"])
    metrics["val_accuracy"] = float(np.mean(logits[data["val"]].argmax(1) == labels[data["val"]]))
    row = {"epoch": epoch, "beta": design["beta"], "ebops": ebops, **metric_columns({"kd": metrics}, "kd")}
    if firmware_out is not None:
        proxy_file = seed_dir / "designs" / f"epoch_{epoch:04d}_proxy.h5"
        proxy_file.parent.mkdir(parents=True, exist_ok=True)
        proxy.save(proxy_file)
        heldout = seed_dir / "designs" / HELDOUT_INPUTS_FILE
        if not heldout.is_file():   # the same jets for every design of the seed: written once
            np.save(heldout, x[np.concatenate([test, data["val"]])][:CSIM_JETS])
        row.update(_synthesize(proxy_file, heldout, firmware_out, f"{seed_dir.name}_e{epoch:04d}"))
    write_text_atomic(cached, json.dumps(row))
    return row


def sweep_table(family: str, seeds: dict[int, list[dict[str, Any]]]) -> Any:
    """One row per design in :func:`bench_hgq_frontier.hgq_table`'s columns: accuracy over the
    seeds that reached the epoch, firmware of the first seed; ``epochs`` is the epoch's number + 1."""
    import numpy as np
    import pandas as pd

    first = seeds[min(seeds)]
    rows = []
    for design in first:
        same = [r for s in seeds.values() for r in s if r["epoch"] == design["epoch"]]
        acc = np.array([r["accuracy"] for r in same])
        rows.append({**design, "model": f"{family} sweep", "mode": "kd", "seeds": len(same),
                     "student.quantization.beta": design["beta"], "student.training.epochs": design["epoch"] + 1,
                     "accuracy": float(acc.mean()), "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else np.nan,
                     "ebops": float(np.mean([r["ebops"] for r in same])),
                     **{c: float(np.mean([r[c] for r in same])) for c in REJECTION_COLUMNS if c in design}})
    return pd.DataFrame(rows)


def run_sweeps(args: argparse.Namespace, out: Path) -> dict[int, list[dict[str, Any]]]:
    """Train (or find) each seed's sweep and evaluate the first seed's designs in it; the first
    seed (with the firmware) goes first, so a stopped benchmark has a front."""
    from fpgakd.jets.benchmark import benchmark_jets_dir
    from fpgakd.learn.hgq_sweep import read_epoch_log

    jets = Path(args.jets) if args.jets else benchmark_jets_dir(progress=not args.quiet)
    teacher = Path(args.teacher) if args.teacher else _teacher(out, jets, args.teacher_config, not args.quiet)
    first, designs, evaluated = min(args.seeds), [], {}
    for seed in sorted(args.seeds):
        cfg = sweep_config(args.family, seed, args)
        run = train_sweep(cfg, jets, teacher, out / f"seed{seed}", not args.quiet)
        if seed == first:
            designs = design_epochs(read_epoch_log(out / f"seed{seed}" / "epochs"), args.designs, args.first_epoch)
        data = student_data(cfg, jets, run)
        firmware = out if seed == first and not args.no_rtl else None
        evaluated[seed] = []
        for d in designs:
            logging.getLogger(__name__).info("seed %d, epoch %d (beta %.3g)", seed, d["epoch"], d["beta"])
            evaluated[seed].append(evaluate_design(cfg, out / f"seed{seed}", d, data, firmware))
    return evaluated


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--family", default="hybrid_hgq", help="the HGQ student (a model under models/)")
    parser.add_argument("--beta-start", type=float, default=BETA_START)
    parser.add_argument("--beta-end", type=float, default=BETA_END)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--designs", type=int, default=DESIGNS, help="Pareto-optimal epochs made into designs")
    parser.add_argument("--first-epoch", type=int, default=FIRST_DESIGN_EPOCH,
                        help="the first epoch that can be a design")
    parser.add_argument("--no-rtl", action="store_true", help="accuracy and EBOPs only, no firmware")
    parser.add_argument("--report-only", action="store_true", help="no training: the designs evaluated so far")
    parser.add_argument("--out", default="bench_runs/hgq_sweep")
    parser.add_argument("--earlier-csv", help="rows of a formatted HGQ frontier table to judge beside these "
                        "(docs/results/hgq_frontier.csv)")
    parser.add_argument("--docs-csv", help="also write the designs as a formatted table (docs/results/hgq_sweep.csv)")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def _evaluated_so_far(out: Path) -> dict[int, list[dict[str, Any]]]:
    found = {}
    for seed_dir in sorted(out.glob("seed*")):
        rows = [json.loads(p.read_text()) for p in sorted((seed_dir / "designs").glob("epoch_*.json"))]
        if rows:
            found[int(seed_dir.name[len("seed"):])] = rows
    return found


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    earlier = formatted_table_or_exit(args.earlier_csv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s")
    out = Path(args.out)
    evaluated = _evaluated_so_far(out) if args.report_only else run_sweeps(args, out)
    if not evaluated:
        print("no evaluated designs yet")
        return 1
    table = sweep_table(args.family, evaluated)
    columns = ["model", "epoch", "student.quantization.beta", "seeds", "accuracy", "accuracy_std", "ebops", "LUT",
               "latency_cycles", "DSP", "csim", *[c for c in REJECTION_COLUMNS if c in table]]
    print(table[[c for c in columns if c in table]].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    table.to_csv(out / "hgq_sweep.csv", index=False)
    if args.docs_csv:
        docs_table(table.dropna(subset=["LUT"])).to_csv(args.docs_csv, index=False)
    # a design whose firmware disagrees with its proxy is no design (the row above says so)
    judged = table[table["csim"] != "mismatch"] if "csim" in table else table
    judged = with_earlier_rows(judged, earlier) if earlier is not None else judged
    front = qkeras_front()
    print("\n".join(goal_check(judged, front)))
    # one line for the sweep's designs, whose epochs differ, beside one per fixed-beta training length
    plotted = judged.assign(**{"student.training.epochs": [args.epochs if m.endswith(" sweep") else e for m, e in
                                                          zip(judged["model"], judged["student.training.epochs"])]})
    print(f"plot: {plot_frontier(plotted, front, out / 'hgq_sweep.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
