"""What the reproducibility settings (fpgakd/learn/runtime.py) cost: teacher training time
with and without them, alternating, each in a fresh process.

    python benchmarks/bench_determinism.py --repeats 2

"without" is TensorFlow's own defaults (oneDNN on, threads = cores, no op determinism),
which is what fpgakd did before the settings. Prints one line per run and the means.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_RUN = """
import json, sys, tempfile, time
if sys.argv[1] == "without":
    import fpgakd.learn.runtime as runtime
    runtime._configured = True      # skip configure_tensorflow: TensorFlow's defaults
from fpgakd.config import TeacherConfig
from fpgakd.jets.loading import default_jets_path
from fpgakd.learn.teacher import train_teacher
jets = default_jets_path(progress=False)
with tempfile.TemporaryDirectory() as tmp:
    start = time.perf_counter()
    train_teacher(jets, tmp + "/teacher", progress=False,
                  config=TeacherConfig(n_folds=1, epochs=int(sys.argv[2]), patience=1000))
    print(json.dumps({"settings": sys.argv[1], "seconds": round(time.perf_counter() - start, 1)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=6, help="teacher epochs per run (one fold)")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(args.repeats):
        for settings in ("with", "without"):
            out = subprocess.run([sys.executable, "-c", _RUN, settings, str(args.epochs)],
                                 capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            times[settings].append(row["seconds"])
            print(json.dumps(row), flush=True)
    mean = {k: sum(v) / len(v) for k, v in times.items()}
    print(f"teacher, {args.epochs} epochs: with the settings {mean['with']:.1f} s, without {mean['without']:.1f} s "
          f"({100 * (mean['with'] / mean['without'] - 1):+.0f}%)")


if __name__ == "__main__":
    main()
