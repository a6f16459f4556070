"""The whole RTL flow: trace, write, simulate (bit-exact check), synthesize."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.errors import MismatchError
from fpgakd.firmware.rtl.simulate import simulate_rtl
from fpgakd.firmware.rtl.tools import check_rtl_tools
from fpgakd.firmware.rtl.trace import DEFAULT_LATENCY_CUTOFF, trace_student
from fpgakd.firmware.rtl.verilog import write_rtl
from fpgakd.firmware.rtl.yosys import synthesize_rtl


# --------------------------------------------------------------------------------------
# Whole flow
# --------------------------------------------------------------------------------------

def run_rtl_flow(model: Any, out_dir: str | os.PathLike, inputs: np.ndarray, *,
                 part: str = "xcvu13p-flga2577-2-e", clock_ns: float = 4.167,
                 latency_cutoff: float | None = DEFAULT_LATENCY_CUTOFF, hard_dc: int = 2,
                 family: str = "xcup", synthesize: bool = True,
                 raise_on_mismatch: bool = True, sigmoid_table_size: int | None = None) -> dict[str, Any]:
    """Trace -> write -> Verilator simulate -> Yosys synthesize; MismatchError on any differing logit.

    Returns {"write": ..., "simulation": ..., "synthesis": ..., "timings_s": ...}; the
    summary is also saved as ``out_dir/rtl_report.json``. With ``raise_on_mismatch=False``
    a differing RTL is returned without synthesis (``"synthesis"`` absent) for the caller
    to report. ``sigmoid_table_size`` puts hls4ml's sigmoid table after the logit, checked
    against its emulation (:func:`fpgakd.firmware.sigmoid.emulate_sigmoid`).

    >>> report = run_rtl_flow(model, "runs/hlf_mlp/rtl", x_test[:10000])   # doctest: +SKIP
    >>> report["simulation"]["bit_exact"]                                  # doctest: +SKIP
    True
    """
    check_rtl_tools(need=("da4ml", "verilator") + (("yosys",) if synthesize else ()))
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    tr = trace_student(model, clock_ns=clock_ns, latency_cutoff=latency_cutoff, hard_dc=hard_dc,
                       sigmoid_table_size=sigmoid_table_size)
    timings["trace"] = tr.trace_s
    timings["pipeline"] = tr.pipeline_s
    meta = write_rtl(model, out_dir, part=part, clock_ns=clock_ns, latency_cutoff=latency_cutoff, trace=tr)
    timings["verilog"] = meta["verilog_s"]
    t1 = time.perf_counter()
    sim = simulate_rtl(out_dir, model, inputs, rebuild=True)
    timings["verilator_build"] = sim["verilator_build_s"]
    timings["simulate_total"] = time.perf_counter() - t1
    report: dict[str, Any] = {"write": meta, "simulation": sim, "timings_s": timings}
    if sim["n_differing"]:
        (Path(out_dir) / "rtl_report.json").write_text(json.dumps(report, indent=1, default=str))
        if not raise_on_mismatch:
            return report
        raise MismatchError(f"RTL differs from Keras on {sim['n_differing']} of {sim['n_values']} logits "
                            f"(max |diff| {sim['max_abs_diff']:g}, class agreement {sim['class_agreement']:.5f}); "
                            f"see {Path(out_dir) / 'rtl_report.json'}")
    if synthesize:
        syn = synthesize_rtl(out_dir, family=family)
        timings["yosys"] = syn["yosys_s"]
        report["synthesis"] = syn
    timings["total"] = time.perf_counter() - t0
    (Path(out_dir) / "rtl_report.json").write_text(json.dumps(report, indent=1, default=str))
    return report
