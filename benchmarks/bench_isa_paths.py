"""Do the jets and the students' inputs depend on the processor? Emulate other instruction-set
paths on this machine and compare the arrays' content hashes.

numpy picks SIMD kernels at run time (``NPY_DISABLE_CPU_FEATURES`` switches them off),
OpenBLAS picks its kernels by processor (``OPENBLAS_CORETYPE`` forces one) and glibc's libm
picks FMA or SSE2 variants (``GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA`` hides them). Each
path generates the same small jet file in a fresh process and prints the per-array hashes and
the hash of the default student's standardized inputs; a path whose hashes differ from the
native one's is named.

    python benchmarks/bench_isa_paths.py --jets-per-class 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

#: name -> environment overrides; "native" first: the reference
PATHS: dict[str, dict[str, str]] = {
    "native": {},
    "numpy without AVX2/FMA3/AVX": {"NPY_DISABLE_CPU_FEATURES": "AVX2 FMA3 F16C AVX"},
    "numpy SSE4.2 at most": {"NPY_DISABLE_CPU_FEATURES": "AVX2 FMA3 F16C AVX SSE42 POPCNT SSE41 SSSE3"},
    "OpenBLAS Haswell kernels": {"OPENBLAS_CORETYPE": "Haswell"},
    "OpenBLAS Sandybridge kernels": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "OpenBLAS Nehalem kernels": {"OPENBLAS_CORETYPE": "Nehalem"},
    "glibc libm without FMA/AVX2": {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX2_Usable,-FMA_Usable"},
}

_CHILD = r"""
import json, sys
from fpgakd.jets.generate import generate_jets
from fpgakd.jets.options import GenerationOptions
from fpgakd.jets.loading import load_jets
from fpgakd.jets.jetfile import array_hashes
from fpgakd.jets.jetfile import content_hash
out, n = sys.argv[1], int(sys.argv[2])
generate_jets(out, GenerationOptions(jets_per_class=n, seed=1, workers=1), progress=False)
ds = load_jets(out)
hashes = array_hashes(ds)
from fpgakd.config import load_model_config
from fpgakd.jets.preprocessing import student_inputs
cfg = load_model_config("constituent_mlp")
hashes["student inputs (constituent_mlp)"] = content_hash(student_inputs(ds, cfg.inputs)[0])
print(json.dumps(hashes))
"""


def hashes_on_path(env_overrides: dict[str, str], jets_per_class: int) -> dict[str, str]:
    """Generate the small file in a fresh process under ``env_overrides``; its hashes."""
    env = {**os.environ, **env_overrides}
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", _CHILD, os.path.join(tmp, "jets.h5"), str(jets_per_class)],
                              env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"path {env_overrides} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jets-per-class", type=int, default=20)
    parser.add_argument("--paths", nargs="+", choices=list(PATHS), default=list(PATHS),
                        help="the paths to run (the first one is the reference)")
    args = parser.parse_args(argv)
    reference: dict[str, str] | None = None
    for name in args.paths:
        got = hashes_on_path(PATHS[name], args.jets_per_class)
        reference = reference or got
        differ = [k for k in got if got[k] != reference.get(k)]
        print(f"{name:34s} " + ("identical to native" if not differ else "DIFFERS in " + ", ".join(differ)))
        print("    " + "  ".join(f"{k}={v}" for k, v in got.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
