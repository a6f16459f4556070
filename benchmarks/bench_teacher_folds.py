"""The default teacher's fold models trained one after the other and side by side: wall time
per worker count, and a check that every count gives the same teacher, bit for bit.

    python benchmarks/bench_teacher_folds.py --epochs 20 --workers 1 2 3

Each run trains the default teacher (3 folds, early stopping off so every run does the same
work) on the default dataset in a fresh process, and prints its wall time, the load average
and the teacher's identity (a hash of its weight files), which must be one for all counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

_RUN = """
import json, sys, tempfile, time
from fpgakd.config import TeacherConfig
from fpgakd.jets.loading import default_jets_path
from fpgakd.learn.rundir import TEACHER_JSON
from fpgakd.learn.teacher import train_teacher

if __name__ == "__main__":
    jets = default_jets_path(progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = train_teacher(jets, tmp + "/teacher", progress=False, workers=int(sys.argv[1]),
                            config=TeacherConfig(epochs=int(sys.argv[2]), patience=1000))
        seconds = time.perf_counter() - start
        meta = json.loads((out / TEACHER_JSON).read_text())
    print(json.dumps({"workers": int(sys.argv[1]), "seconds": round(seconds, 1),
                      "identity": meta["identity"][:16], "test_accuracy": meta["test_accuracy"]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20, help="epochs per fold model")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    rows = []
    for workers in args.workers:
        out = subprocess.run([sys.executable, "-c", _RUN, str(workers), str(args.epochs)],
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["load_1min"] = round(os.getloadavg()[0], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = rows[0]["seconds"]
    for row in rows:
        print(f"{row['workers']} worker(s): {row['seconds']:.1f} s ({base / row['seconds']:.2f}x), "
              f"load {row['load_1min']}, teacher {row['identity']}")
    identities = {row["identity"] for row in rows}
    print("same teacher for every worker count" if len(identities) == 1
          else f"DIFFERENT teachers: {sorted(identities)}")


if __name__ == "__main__":
    main()
