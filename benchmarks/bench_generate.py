"""Throughput of ``fpgakd generate``: jets/s/core overall, per class, and for the features.

Run from the repository root, e.g.::

    python benchmarks/bench_generate.py --jets-per-class 500 --workers 2

"Overall" is wall time of the whole call (worker start-up, Pythia initialisation, writing
the file included) divided by the number of workers. "Per class" divides a class's jets by
the worker CPU seconds spent on it (Pythia init + events + extraction, clustering + matching,
features). "Features" divides all jets by the CPU seconds spent in
``fpgakd.jets.observables.high_level_features`` alone.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from fpgakd.jets.generate import generate_jets
from fpgakd.jets.options import GenerationOptions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets-per-class", type=int, default=500)
    parser.add_argument("--workers", type=int, default=None, help="default: all cores")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-jets", type=int, default=GenerationOptions.chunk_jets)
    parser.add_argument("--no-mpi", action="store_true", help="switch multiparton interactions off")
    parser.add_argument("--no-smearing", action="store_true")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    options = GenerationOptions(jets_per_class=args.jets_per_class, seed=args.seed,
                                workers=args.workers, chunk_jets=args.chunk_jets,
                                mpi=not args.no_mpi, smearing=not args.no_smearing)
    with tempfile.TemporaryDirectory() as tmp:
        summary = generate_jets(Path(tmp) / "bench.h5", options, progress=args.progress)
    print(summary.format_table())
    print()
    print(f"{'stage / class':<16}{'jets/s/core':>12}   worker CPU seconds (init, pythia, cluster, features)")
    feature_s = 0.0
    for c in summary.classes:
        st = summary.stage_seconds[c.name]
        total = sum(st.values())
        feature_s += st.get("features", 0.0)
        parts = ", ".join(f"{st.get(k, 0.0):.1f}" for k in ("init", "pythia", "cluster", "features"))
        print(f"{'class ' + c.name:<16}{c.jets / total:>12.1f}   {parts}")
    print(f"{'features only':<16}{summary.total_jets / max(feature_s, 1e-9):>12.1f}")
    print(f"{'overall (wall)':<16}{summary.jets_per_second_per_core:>12.1f}   "
          f"{summary.total_jets} jets, {summary.elapsed_s:.1f} s, {summary.workers} worker(s), "
          f"mpi={'off' if args.no_mpi else 'on'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
