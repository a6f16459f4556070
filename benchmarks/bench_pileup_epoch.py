#!/usr/bin/env python
"""Benchmark (not a test): seconds per epoch of the pileup teacher at mu 140, and a profile.

    python benchmarks/bench_pileup_epoch.py                      # 40 events, 3 epochs
    python benchmarks/bench_pileup_epoch.py --profile 25         # plus cProfile's top 25 calls

Generates ``--events`` mu-140 events once into ``--out`` (reused afterwards), trains the
default teacher (``teachers/pileup_edgeconv.yaml``) for ``--epochs`` epochs into a fresh
directory and prints the seconds of each epoch (``epoch_seconds`` of its
``pileup_teacher.json``; the first includes TensorFlow's tracing) and the machine's load.
The TensorFlow steps run the data generator in TensorFlow's threads, which cProfile does
not see: the profile splits Python (neighbour lists, batch assembly) from TensorFlow time.
"""

from __future__ import annotations

import argparse
import cProfile
import contextlib
import dataclasses
import json
import os
import pstats
import shutil
import sys
import time
from pathlib import Path


def _event_file(out: Path, n_events: int, mu: float) -> Path:
    from fpgakd.jets.events.generate import generate_events
    from fpgakd.jets.events.options import PileupOptions

    path = out / f"events_mu{mu:g}_{n_events}.h5"
    if not path.is_file():
        generate_events(path, PileupOptions(mu=mu, n_events=n_events, seed=0))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=40)
    p.add_argument("--mu", type=float, default=140.0)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--out", type=Path, default=Path("bench_runs/pileup_epoch"))
    p.add_argument("--profile", type=int, default=0, help="print cProfile's N most expensive calls")
    args = p.parse_args(argv)

    from fpgakd.config import load_pileup_teacher_config
    from fpgakd.learn.pileup.events import load_pileup_data
    from fpgakd.learn.pileup.teacher import TEACHER_JSON, fit_pileup_teacher

    args.out.mkdir(parents=True, exist_ok=True)
    data = load_pileup_data(_event_file(args.out, args.events, args.mu))
    cfg = dataclasses.replace(load_pileup_teacher_config("pileup_edgeconv"), epochs=args.epochs,
                              patience=args.epochs + 1)
    teacher = args.out / "teacher"
    shutil.rmtree(teacher, ignore_errors=True)
    load = os.getloadavg()[0]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with profiler if args.profile else contextlib.nullcontext():
        fit_pileup_teacher(data, teacher, config=cfg, cache_dir=args.out / "soft", progress=False)
    meta = json.loads((teacher / TEACHER_JSON).read_text())
    print(f"{data.events.n_events} events, {data.n_particles / data.events.n_events:.0f} particles per event, "
          f"load average {load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("seconds per epoch:", " ".join(f"{s:.1f}" for s in meta["epoch_seconds"]),
          f"(total {time.perf_counter() - started:.0f} s with neighbour lists and soft labels)")
    if args.profile:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
