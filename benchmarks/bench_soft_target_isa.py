"""Do the shipped teacher's soft targets depend on the processor? Emulate other oneDNN kernel
paths on this machine and compare the logits' content hashes, float32 against float64.

TensorFlow's matrix products go through oneDNN, which picks its kernels at run time;
``ONEDNN_MAX_CPU_ISA`` caps them (fpgakd sets AVX2). Each path runs in a fresh process: every
fold model of the shipped default teacher scores the default jets once in float32 and once
through the float64 twin fpgakd's soft targets come from (``fpgakd.learn.teacher``), the
logits rounded to float32. A path whose hashes differ from the first one's is named;
hashes printed on two machines compare the machines.

    python benchmarks/bench_soft_target_isa.py            # the default dataset, generated if missing
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

#: oneDNN cap -> what it is; fpgakd's own cap first: the reference
CAPS: dict[str, str] = {"AVX2": "AVX2 (fpgakd's cap)", "AVX": "AVX", "SSE41": "SSE4.1"}

_CHILD = r"""
import json
import numpy as np
from fpgakd.learn.runtime import configure_tensorflow
configure_tensorflow()   # fpgakd's thread and determinism settings; the cap comes from the environment
from fpgakd.jets.jetfile import content_hash
from fpgakd.jets.loading import default_jets_path, load_jets
from fpgakd.learn import teacher as T
from fpgakd.learn.shipped_teacher import SHIPPED_TEACHERS

ds = load_jets(default_jets_path(progress=False))
spec = T.load_teacher(next(p for p in sorted(SHIPPED_TEACHERS.iterdir()) if p.is_dir()))
models = [T.load_teacher_model(p) for p in spec.models]
inputs = T._spec_inputs(spec, models[0], ds)
feed = [inputs[n] for n in T._model_input_names(models[0])]
z32 = np.stack([np.asarray(m.predict(feed, batch_size=4096, verbose=0), np.float32) for m in models])
# the float64 twin teacher_logits computes the soft targets with
z64 = np.stack([np.asarray(T._float64_copy(m, spec).predict([f.astype(T.SOFT_TARGET_PRECISION) for f in feed],
                                                            batch_size=4096, verbose=0)) for m in models])
z64 = z64.astype(np.float32)
print(json.dumps({"float32": content_hash(z32), "float64": content_hash(z64),
                  "max |float64 - float32|": float(np.abs(z64 - z32).max())}))
"""


def hashes_on_path(isa: str) -> dict:
    """The fold models' logits on the default jets in a fresh process capped at ``isa``."""
    done = subprocess.run([sys.executable, "-c", _CHILD], env={**os.environ, "ONEDNN_MAX_CPU_ISA": isa},
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"oneDNN cap {isa} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--caps", nargs="+", choices=list(CAPS), default=list(CAPS),
                        help="the oneDNN caps to run (the first one is the reference)")
    args = parser.parse_args(argv)
    reference: dict | None = None
    for cap in args.caps:
        name = CAPS[cap]
        got = hashes_on_path(cap)
        reference = reference or got
        same = {kind: got[kind] == reference[kind] for kind in ("float32", "float64")}
        print(f"{name:22s} float32 {got['float32']} ({'same' if same['float32'] else 'DIFFERS'})  "
              f"float64 {got['float64']} ({'same' if same['float64'] else 'DIFFERS'})  "
              f"max |float64 - float32| {got['max |float64 - float32|']:.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
