"""Which classes a trained student finds, and which it takes for which: per-class recall on its run's
test jets, and the share of each class called each other class (the confusion matrix, row-normalised).

An HGQ student whose accuracy drops by 8-9 points at once as beta grows has usually lost one
boundary, not the task: past beta 1e-4 the W/Z one (the Z jets called W). This prints, for each
run directory (or every run of a scan's output), its student, beta, accuracy and recall per
class, then the confusion matrix of each run asked for with ``--matrix``.

    python benchmarks/bench_class_recall.py bench_runs/hgq_small/runs/ae520c91dc852a37
    python benchmarks/bench_class_recall.py --scan bench_runs/hgq_input_floor --matrix
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np


def confusion(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Row-normalised confusion matrix: entry [i, j] is the share of class i called j.

    >>> confusion(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2).tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (labels, predicted), 1)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def run_dirs(paths: list[str], scans: list[str]) -> list[Path]:
    """The run directories named, and every run of each scan output directory."""
    from fpgakd.learn.rundir import run_config_file

    found = [Path(p) for p in paths]
    for scan in scans:
        found.extend(sorted(p for p in (Path(scan) / "runs").iterdir() if run_config_file(p) is not None))
    return found


def recall_rows(run_dir: Path, dataset: Any) -> list[dict[str, Any]]:
    """One row per student of the run: its recipe, accuracy and recall per class on the test split."""
    from fpgakd.jets.preprocessing import split_indices
    from fpgakd.studies.models import check_run_data, load_run_students, student_logits

    labels = np.asarray(dataset.labels)
    _, _, test = split_indices(len(labels), seed=check_run_data(run_dir, dataset), labels=labels)
    run = load_run_students(run_dir)
    q = run.config.quantization
    rows = []
    for mode, logits in student_logits(run, dataset).items():
        predicted = np.argmax(logits[test], axis=1)
        matrix = confusion(labels[test], predicted, len(dataset.class_names))
        rows.append({"run": run_dir.name, "student": run.name, "hidden": "-".join(map(str, run.config.hidden)),
                     "beta": q.beta if q.kind == "hgq" else None, "seed": run.config.training.seed, "mode": mode,
                     "accuracy": float(np.mean(predicted == labels[test])),
                     **{f"recall {c}": matrix[i, i] for i, c in enumerate(dataset.class_names)},
                     "matrix": matrix, "classes": list(dataset.class_names)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", help="distill run directories")
    parser.add_argument("--scan", action="append", default=[], help="a scan's output directory (all its runs)")
    parser.add_argument("--matrix", action="store_true", help="also print each student's confusion matrix")
    args = parser.parse_args(argv)
    import pandas as pd

    from fpgakd.errors import FpgakdError
    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.rundir import read_run_metrics

    dirs = run_dirs(args.runs, args.scan)
    if not dirs:
        parser.error("name a run directory or a --scan output")
    rows, datasets = [], {}
    try:
        for run_dir in dirs:
            path = read_run_metrics(run_dir)["data"]["path"]
            dataset = datasets.setdefault(path, load_jets(path))
            rows.extend(recall_rows(run_dir, dataset))
    except (FpgakdError, OSError, KeyError) as err:
        print(f"{run_dir}: {err}", file=sys.stderr)
        return 2
    table = pd.DataFrame(rows)
    print(table.drop(columns=["matrix", "classes"]).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if args.matrix:
        for row in rows:
            print(f"\n{row['run']} {row['student']} beta {row['beta']} {row['mode']} (rows: true class)")
            print(pd.DataFrame(row["matrix"], index=row["classes"], columns=row["classes"]).round(2).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
