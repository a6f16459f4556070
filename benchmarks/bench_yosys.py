"""Which Yosys script synthesizes fpgakd's netlists cheapest with the same counts?

Builds a student from a model YAML (``--hidden`` replaces its widths) with seeded random
weights, ``sparsity`` of them zero (as after pruning; a trained student has other weights
but the same kind of adder graph), writes its RTL with da4ml, then runs Yosys once per
candidate script and prints its wall and CPU time (Yosys's and ABC's, as the OS counts a
child's; the machine may be shared: CPU seconds are the fairer figure) beside the LUT, FF
and CARRY4 counts, their difference from the reference (plain ``synth_xilinx``, what
``fpgakd synth`` ran before) and the passes Yosys spent most time in. A candidate is
acceptable when every count is within 1% of the reference's; ``fast`` is the script
``fpgakd synth`` runs (fpgakd.firmware.rtl.yosys.YOSYS_SCRIPTS).

    python benchmarks/bench_yosys.py --model hlf_mlp --hidden 32 16 16
    python benchmarks/bench_yosys.py --model constituent_mlp --candidates "classic abc -luts (no abc9)"
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: how each candidate replaces the ``synth_xilinx`` line of fpgakd's script ({synth} is that
#: line): the reference first, then fpgakd's default ("fast")
_NO_MFS = "scratchpad -set abc9.script +&scorr;&sweep;&dc2;&dch,-f,-r;&ps;&if,{{W}},{{D}},{{R}},-v"
_NO_MFS_NO_DCH = "scratchpad -set abc9.script +&scorr;&sweep;&dc2;&ps;&if,{{W}},{{D}},{{R}},-v"
CANDIDATES: dict[str, tuple[str, ...]] = {
    "reference (plain synth_xilinx)": ("{synth}",),
    "fast: abc9 without &mfs": (_NO_MFS, "{synth}"),
    "abc9 without &mfs, &dch": (_NO_MFS_NO_DCH, "{synth}"),
    "abc9 without &dch": ("scratchpad -set abc9.script +&scorr;&sweep;&dc2;&ps;&if,{{W}},{{D}},{{R}},-v;&mfs",
                          "{synth}"),
    "abc9 &if only, &mfs": ("scratchpad -set abc9.script +&if,{{W}},{{D}},{{R}},-v;&mfs", "{synth}"),
    "-nodsp -nobram -nolutram -nosrl": ("{synth} -nodsp -nobram -nolutram -nosrl",),
    "fast, -nodsp -nobram -nolutram -nosrl": (_NO_MFS, "{synth} -nodsp -nobram -nolutram -nosrl"),
    "classic abc -luts (no abc9)": (
        "{synth} -run :map_luts", "opt_expr -mux_undef -noclkinv", "abc -luts 2:2,3,6:5,10,20", "clean",
        "xilinx_srl -fixed -minlen 3",
        "techmap -map +/xilinx/lut_map.v -map +/xilinx/cells_map.v -D LUT_WIDTH=6",
        "xilinx_dffopt", "opt_lut_ins -tech xilinx", "{synth} -run finalize:"),
}
#: what the default run compares (the others are slower or outside 1%, see docs/benchmarks.md)
DEFAULT_CANDIDATES = ("reference (plain synth_xilinx)", "fast: abc9 without &mfs",
                      "abc9 without &mfs, &dch", "fast, -nodsp -nobram -nolutram -nosrl")


def _random_weights(model, sparsity: float, seed: int):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            kernel = rng.uniform(-1, 1, weights[0].shape) * (rng.random(weights[0].shape) >= sparsity)
            layer.set_weights([kernel] + [rng.uniform(-0.5, 0.5, w.shape) for w in weights[1:]])
    return model


def _random_student(model_name: str, sparsity: float, seed: int):
    from fpgakd.config import load_model_config
    from fpgakd.jets.preprocessing import student_input_width
    from fpgakd.learn.students import build_student

    cfg = load_model_config(model_name)
    return _random_weights(build_student(cfg, student_input_width(cfg.inputs), 5), sparsity, seed)


def _run_yosys(rtl_dir: Path, lines: tuple[str, ...]) -> tuple[dict[str, int], float, float]:
    from fpgakd.firmware.rtl import yosys as ys
    from fpgakd.firmware.rtl.tools import run_tool, yosys_command

    meta, top, sources = ys._design_sources(rtl_dir, None, None)
    ys._write_yosys_script(rtl_dir, sources, [], "xcup", top, "reference")
    script = rtl_dir / "yosys_synth.ys"
    synth = f"synth_xilinx -family xcup -top {top} -flatten -noiopad -noclkbuf"
    script.write_text(script.read_text().replace(synth, "\n".join(line.format(synth=synth) for line in lines)))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = run_tool(yosys_command() + ["-d", "-q", "-l", "yosys.log", "-s", "yosys_synth.ys"], cwd=rtl_dir,
                    env=None, what="yosys", timeout=3 * 3600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    counts = ys._count_cells(ys._read_cell_counts(rtl_dir, top, proc.stdout))
    return counts, wall, cpu


def _pass_times(log: Path, n: int = 4) -> str:
    """The ``n`` passes Yosys spent most time in (its ``-d`` summary at the end of the log)."""
    lines = log.read_text().splitlines()
    start = max((i for i, line in enumerate(lines) if line.startswith("Time spent:")), default=len(lines))
    top = []
    for line in lines[start + 1:start + 1 + n]:
        parts = line.split()
        if len(parts) >= 6:     # "19%  1 calls  9.793 sec abc9_exe"
            top.append(f"{parts[5]} {float(parts[3]):.0f}s")
    return ", ".join(top)


def _change(counts: dict[str, int], reference: dict[str, int], key: str) -> float:
    return (counts.get(key, 0) / max(reference.get(key, 0), 1) - 1) * 100


def _student(args: argparse.Namespace):
    if args.hidden:
        import dataclasses

        from fpgakd.config import load_model_config
        from fpgakd.jets.preprocessing import student_input_width
        from fpgakd.learn.students import build_student

        cfg = dataclasses.replace(load_model_config(args.model), hidden=tuple(args.hidden))
        return _random_weights(build_student(cfg, student_input_width(cfg.inputs), 5), args.sparsity, args.seed)
    return _random_student(args.model, args.sparsity, args.seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="constituent_mlp")
    parser.add_argument("--hidden", type=int, nargs="+", help="hidden widths instead of the model's")
    parser.add_argument("--sparsity", type=float, default=0.75)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=list(DEFAULT_CANDIDATES))
    args = parser.parse_args(argv)
    from fpgakd.firmware.rtl.verilog import write_rtl

    model = _student(args)
    keys = ("LUT", "FF", "CARRY4")
    reference: dict[str, int] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        rtl_dir = Path(tmp) / "rtl"
        meta = write_rtl(model, rtl_dir)
        print(f"{model.name} {'-'.join(map(str, args.hidden or [])) or ''} sparsity {args.sparsity}: "
              f"da4ml cost {meta['delay_model']['estimated_lut_cost']:g}")
        print(f"{'script':40s} {'wall s':>7s} {'cpu s':>7s} " + " ".join(f"{k:>16s}" for k in keys)
              + "  slowest passes")
        for name in args.candidates:
            counts, wall, cpu = _run_yosys(rtl_dir, CANDIDATES[name])
            reference = reference or counts
            cells = " ".join(f"{counts.get(k, 0):>7,d} ({_change(counts, reference, k):+.1f}%)" for k in keys)
            print(f"{name:40s} {wall:7.1f} {cpu:7.1f} {cells}  {_pass_times(rtl_dir / 'yosys.log')}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
