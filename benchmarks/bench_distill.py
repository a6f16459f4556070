#!/usr/bin/env python
"""Benchmark (not a test): KD vs scratch students over several seeds, plus the wall time
of a default distillation run (its default teacher included: shipped trained for the default
dataset, trained into the cache for any other).

    python benchmarks/bench_distill.py                       # default dataset, constituent_mlp and hlf_mlp
    python benchmarks/bench_distill.py --model hlf_mlp --seeds 0 1 2 3
    python benchmarks/bench_distill.py --temperature 3 --alpha 0.2 --out bench_runs/t3

The first seed of the first model runs exactly what a default ``fpgakd distill`` runs (the
default teacher, copied into its run directory); its wall time is reported. Everything else reuses that teacher and
its cached soft targets and change only the students' ``training.seed`` (the data split,
``training.split_seed``, stays fixed so the teacher never saw any student's test jets).
Choose settings on the validation numbers (``val``), never on test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpgakd.config import ModelConfig


def _mean_std(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} +- {sd:.4f}"


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jets", help="jet file (default: the embedded default dataset)")
    parser.add_argument("--model", nargs="+", default=["constituent_mlp", "hlf_mlp"],
                        help="student config names or YAML paths")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--teacher", help="an existing teacher (skips the timed default run)")
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--alpha", type=float)
    parser.add_argument("--epochs", type=int, help="override training.epochs (quick looks only)")
    parser.add_argument("--out", default="bench_runs/distill")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def _benchmarked_config(model: str, args: argparse.Namespace) -> ModelConfig:
    """The student config ``model`` with the command line's temperature, alpha and epochs."""
    from fpgakd.config import load_model_config

    base = load_model_config(model)
    dist = dataclasses.replace(base.distillation, **{k: v for k, v in
                               {"temperature": args.temperature, "alpha": args.alpha}.items() if v is not None})
    training = base.training if args.epochs is None else dataclasses.replace(base.training, epochs=args.epochs)
    return dataclasses.replace(base, distillation=dist, training=training)


def _distill_seeds(base: ModelConfig, args: argparse.Namespace, jets: Path, teacher: Path | None
                   ) -> tuple[list[dict], Path | None, float | None]:
    """Distill ``base`` once per seed; returns (metrics per seed, the teacher for later runs,
    wall time of the default run when this call made it, else None)."""
    from fpgakd.learn.distillation import distill
    from fpgakd.learn.metrics import format_summary_table

    out = Path(args.out)
    runs, default_wall = [], None
    for seed in args.seeds:
        cfg = dataclasses.replace(base, training=dataclasses.replace(base.training, seed=seed))
        run_dir = out / base.name / f"seed{seed}"
        started = time.time()
        metrics = distill(cfg, jets, run_dir, teacher_path=teacher, cache_dir=out / "soft_targets",
                          progress=not args.quiet)
        wall = time.time() - started
        if teacher is None:
            default_wall, teacher = wall, run_dir / "teacher"
        runs.append(metrics)
        print(f"\n== seed {seed} ({wall:.0f} s) ==")
        print(format_summary_table(metrics))
    return runs, teacher, default_wall


def _print_seed_statistics(base: ModelConfig, runs: list[dict], args: argparse.Namespace, jets: Path) -> None:
    """Mean +- std over the seeds of each model's main metric and rejections, and the KD gain."""
    dist = base.distillation
    print(f"\n== {base.name}: {len(runs)} seeds {args.seeds}, T={dist.temperature}, alpha={dist.alpha},"
          f" jets {jets} on {os.cpu_count()} cores ==")
    task_main = "accuracy" if base.task == "classifier" else "auc"
    for kind in ("teacher", "kd", "scratch"):
        if not all(kind in r for r in runs):
            continue
        line = [f"{kind:8s}", f"test {task_main} {_mean_std([r[kind][task_main] for r in runs])}",
                f"val {_mean_std([r[kind].get('val_' + task_main) for r in runs])}"]
        if base.task == "classifier":
            for sig in ("W", "Z", "t"):
                for eff in ("eff50", "eff30"):
                    vals = [r[kind]["rejection"].get(sig, {}).get(eff) for r in runs]
                    line.append(f"R{sig}@{eff[3:]} {_mean_std(vals)}")
        else:
            for eff in ("eff50", "eff30"):
                line.append(f"R@{eff[3:]} {_mean_std([r[kind]['rejection'][eff] for r in runs])}")
        print("  ".join(line))
    if all("kd_gain" in r for r in runs):
        print(f"KD gain ({task_main}, test): {_mean_std([r['kd_gain'][task_main] for r in runs])}")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s")

    from fpgakd.jets.loading import default_jets_path

    jets = Path(args.jets) if args.jets else default_jets_path(progress=not args.quiet)
    out = Path(args.out)
    teacher = Path(args.teacher) if args.teacher else None
    default_wall, summary = None, {}
    for model in args.model:
        base = _benchmarked_config(model, args)
        runs, teacher, wall = _distill_seeds(base, args, jets, teacher)
        if wall is not None:
            default_wall = wall
        _print_seed_statistics(base, runs, args, jets)
        summary[base.name] = runs
    if default_wall is not None:
        print(f"wall time of a default distill (default teacher + soft targets + KD + scratch): {default_wall:.0f} s")
    (out / "bench_summary.json").write_text(json.dumps(
        {"seeds": args.seeds, "default_wall_s": default_wall, "runs": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
