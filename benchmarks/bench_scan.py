"""Scan throughput (points per hour) and Dask generation speed (jets/s) with 1 and 2 workers.

Usage::

    python benchmarks/bench_scan.py --jets-per-class 200 --points 6 --epochs 4

Steps: generate a small --no-mpi jet file through Dask with 1 and then 2 workers (same seed:
the files must be identical, and are compared); train a small teacher on it; run the same
scan (``--points`` hlf students, KD and scratch twins, ``--epochs`` epochs, C-sim on 1,000
jets; the RTL flow only with ``--rtl``, the cost model standing in for Yosys otherwise) on a
fresh local cluster of 1 and then 2 workers, each into its own directory. Wall
times include starting and stopping the cluster, as a user sees them. Prints the figures and
the ratios (goals: scan >= 1.8, generation >= 1.8 with 2 workers).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

#: widths of the benchmark's students, cycled; every point is a KD/scratch twin
_WIDTHS = ([16], [32], [32, 16], [64, 32], [24], [48])


def _generate(path: Path, jets_per_class: int, workers: int) -> float:
    from fpgakd.jets.generate import generate_jets
    from fpgakd.jets.options import GenerationOptions

    options = GenerationOptions(jets_per_class=jets_per_class, seed=1, mpi=False,
                                chunk_jets=max(1, jets_per_class // 4), workers=workers)
    summary = generate_jets(path, options, progress=False, engine="dask")
    return summary.total_jets / summary.elapsed_s


def _same_arrays(a: Path, b: Path) -> bool:
    import h5py

    with h5py.File(a) as fa, h5py.File(b) as fb:
        return all(np.array_equal(fa[k][...], fb[k][...]) for k in ("hlf", "constituents", "labels"))


def _scan_yaml(root: Path, jets: Path, teacher: Path, points: int, epochs: int, rtl: bool = False) -> Path:
    widths = [list(_WIDTHS[i % len(_WIDTHS)]) for i in range(points // 2)]
    data = {"name": "bench", "model": "hlf_mlp", "jets": str(jets), "teacher": str(teacher),
            "fixed": {"training.epochs": epochs, "training.patience": epochs},
            "grid": {"hidden": widths}, "csim_jets": 1000, "rtl": rtl}
    path = root / "bench.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _scan(config: Path, out: Path, workers: int, cache: Path) -> tuple[int, float]:
    from fpgakd.scan.run import run_scan

    started = time.perf_counter()
    summary = run_scan(config, out, workers=workers, cache_dir=cache, progress=False)
    if summary.n_failed:
        raise SystemExit(f"{summary.n_failed} points failed: see {summary.table}")
    return summary.n_run, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets-per-class", type=int, default=200)
    parser.add_argument("--points", type=int, default=6, help="scan points (even: KD/scratch twins)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rtl", action="store_true",
                        help="each point through the RTL flow too (its Yosys runs beside the C-simulation's two "
                             "g++ builds: one worker alone keeps two cores busy)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from fpgakd.config import TeacherConfig
    from fpgakd.learn.teacher import train_teacher

    with tempfile.TemporaryDirectory(prefix="bench_scan_") as tmp:
        root = Path(tmp)
        rate = {n: _generate(root / f"jets{n}.h5", args.jets_per_class, n) for n in (1, 2)}
        print(f"generation through Dask: {rate[1]:.1f} jets/s (1 worker), {rate[2]:.1f} jets/s "
              f"(2 workers), ratio {rate[2] / rate[1]:.2f} (goal >= 1.8); identical files: "
              f"{_same_arrays(root / 'jets1.h5', root / 'jets2.h5')}")
        jets = root / "jets1.h5"
        teacher = train_teacher(jets, root / "teacher", progress=False,
                                config=TeacherConfig(n_constituents=16, width=16, epochs=5, n_folds=1))
        config = _scan_yaml(root, jets, teacher, args.points, args.epochs, args.rtl)
        per_hour = {}
        for n in (1, 2):
            points, seconds = _scan(config, root / f"scan{n}", n, root / "soft")
            per_hour[n] = points / seconds * 3600
            print(f"scan, {n} worker(s): {points} points in {seconds:.1f} s = {per_hour[n]:.0f} "
                  f"points/hour ({seconds / points:.1f} s per point, cluster start/stop included)")
        print(f"scan ratio 2/1 workers ({'with' if args.rtl else 'without'} the RTL flow): "
              f"{per_hour[2] / per_hour[1]:.2f} (goal >= 1.8)")


if __name__ == "__main__":
    main()
