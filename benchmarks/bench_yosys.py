"""Which Yosys script synthesizes fpgakd's netlists cheapest with the same counts?

Builds a student from a model YAML with seeded random weights, ``sparsity`` of them zero
(as after pruning; a trained student has other weights but the same kind of adder graph),
writes its RTL with da4ml, then runs Yosys once per candidate script and prints its wall
and CPU time beside the LUT, FF and CARRY counts and their difference from the reference
script (the one ``fpgakd synth`` runs). A candidate is acceptable when every count is within
1% of the reference's.

    python benchmarks/bench_yosys.py --model constituent_mlp
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: candidate -> extra synth_xilinx options (the reference first)
CANDIDATES: dict[str, str] = {
    "reference (fpgakd synth)": "",
    "-nodsp": "-nodsp",
    "-nobram -nolutram -nosrl": "-nobram -nolutram -nosrl",
    "-nodsp -nobram -nolutram -nosrl": "-nodsp -nobram -nolutram -nosrl",
    "-abc9": "-abc9",
}


def _random_student(model_name: str, sparsity: float, seed: int):
    from fpgakd.config import load_model_config
    from fpgakd.jets.preprocessing import student_input_width
    from fpgakd.learn.students import build_student

    cfg = load_model_config(model_name)
    model = build_student(cfg, student_input_width(cfg.inputs), 5)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            kernel = rng.uniform(-1, 1, weights[0].shape) * (rng.random(weights[0].shape) >= sparsity)
            layer.set_weights([kernel] + [rng.uniform(-0.5, 0.5, w.shape) for w in weights[1:]])
    return model


def _run_yosys(rtl_dir: Path, options: str) -> tuple[dict[str, int], float, float]:
    from fpgakd.firmware.rtl import yosys as ys
    from fpgakd.firmware.rtl.tools import run_tool, yosys_command

    meta, top, sources = ys._design_sources(rtl_dir, None, None)
    ys._write_yosys_script(rtl_dir, sources, [], "xcup", top)
    script = rtl_dir / "yosys_synth.ys"
    script.write_text(script.read_text().replace("-noclkbuf", f"-noclkbuf {options}".rstrip()))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    t0 = time.perf_counter()
    proc = run_tool(yosys_command() + ["-q", "-l", "yosys.log", "-s", "yosys_synth.ys"], cwd=rtl_dir,
                    env=None, what="yosys", timeout=3 * 3600)
    wall = time.perf_counter() - t0
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before
    counts = ys._count_cells(ys._read_cell_counts(rtl_dir, top, proc.stdout))
    return counts, wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="constituent_mlp")
    parser.add_argument("--sparsity", type=float, default=0.75)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    args = parser.parse_args(argv)
    from fpgakd.firmware.rtl.verilog import write_rtl

    model = _random_student(args.model, args.sparsity, args.seed)
    keys = ("LUT", "FF", "CARRY4")
    reference: dict[str, int] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        rtl_dir = Path(tmp) / "rtl"
        write_rtl(model, rtl_dir)
        print(f"{'script':34s} {'wall s':>7s} {'cpu s':>7s} " + " ".join(f"{k:>14s}" for k in keys))
        for name in args.candidates:
            counts, wall, cpu = _run_yosys(rtl_dir, CANDIDATES[name])
            reference = reference or counts
            cells = " ".join(f"{counts.get(k, 0):>7,d} ({(counts.get(k, 0) / max(reference.get(k, 0), 1) - 1) * 100:+.1f}%)"
                             for k in keys)
            print(f"{name:34s} {wall:7.1f} {cpu:7.1f} {cells}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
