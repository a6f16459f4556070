"""The whole RTL flow: trace, write, simulate (bit-exact check), synthesize.

Yosys needs only the written Verilog, so it starts as soon as the Verilog is written and
runs while Verilator builds and simulates the RTL (Yosys is single-threaded and takes most
of the flow's time); a differing RTL stops it. :func:`start_rtl_flow` returns the running
flow so that a caller can do more work beside Yosys (``fpgakd synth`` runs its
C-simulation there); :func:`run_rtl_flow` runs it to the end.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.errors import MismatchError
from fpgakd.firmware.rtl.simulate import simulate_rtl
from fpgakd.firmware.rtl.tools import check_rtl_tools
from fpgakd.firmware.rtl.trace import DEFAULT_LATENCY_CUTOFF, trace_student
from fpgakd.firmware.rtl.verilog import write_rtl
from fpgakd.firmware.rtl.yosys import YosysJob, start_synthesis

REPORT_FILE = "rtl_report.json"


class RtlFlow:
    """A student's RTL, written, with Yosys running on it (from :func:`start_rtl_flow`).

    ``finish()`` simulates and waits for Yosys; ``cancel()`` stops Yosys and removes the
    RTL dir. Leaving a ``with`` block stops a Yosys still running (error, Ctrl-C, SIGTERM).
    """

    def __init__(self, model: Any, out_dir: Path, inputs: np.ndarray, meta: dict[str, Any],
                 timings: dict[str, float], job: YosysJob | None, started: float) -> None:
        self.model, self.out_dir, self.inputs, self.meta = model, out_dir, inputs, meta
        self.timings, self.job, self.started = timings, job, started

    def _write_report(self, report: dict[str, Any]) -> None:
        (self.out_dir / REPORT_FILE).write_text(json.dumps(report, indent=1, default=str))

    def finish(self, *, raise_on_mismatch: bool = True) -> dict[str, Any]:
        """Simulate with Verilator, then wait for Yosys; see :func:`run_rtl_flow`."""
        t1 = time.perf_counter()
        sim = simulate_rtl(self.out_dir, self.model, self.inputs, rebuild=True)
        self.timings["verilator_build"] = sim["verilator_build_s"]
        self.timings["simulate_total"] = time.perf_counter() - t1
        report: dict[str, Any] = {"write": self.meta, "simulation": sim, "timings_s": self.timings}
        if sim["n_differing"]:
            if self.job is not None:
                self.job.discard()     # as if Yosys had never run: no log, no counts of a wrong RTL
            self._write_report(report)
            if not raise_on_mismatch:
                return report
            raise MismatchError(f"RTL differs from Keras on {sim['n_differing']} of {sim['n_values']} logits "
                                f"(max |diff| {sim['max_abs_diff']:g}, class agreement "
                                f"{sim['class_agreement']:.5f}); see {self.out_dir / REPORT_FILE}")
        if self.job is not None:
            t2 = time.perf_counter()
            syn = self.job.result()
            self.timings["yosys"] = syn["yosys_s"]
            # the part of Yosys that the simulation (and the caller's work) did not hide
            self.timings["yosys_wait"] = round(time.perf_counter() - t2, 2)
            report["synthesis"] = syn
        self.timings["total"] = time.perf_counter() - self.started
        self._write_report(report)
        return report

    def cancel(self) -> None:
        """Stop Yosys and remove the RTL dir, as if the flow had never run."""
        if self.job is not None:
            self.job.discard()
        shutil.rmtree(self.out_dir, ignore_errors=True)

    def __enter__(self) -> "RtlFlow":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.job is not None:
            self.job.tool.stop()


def start_rtl_flow(model: Any, out_dir: str | os.PathLike, inputs: np.ndarray, *,
                   part: str = "xcvu13p-flga2577-2-e", clock_ns: float = 4.167,
                   latency_cutoff: float | None = DEFAULT_LATENCY_CUTOFF, hard_dc: int = 2,
                   family: str = "xcup", synthesize: bool = True,
                   sigmoid_table_size: int | None = None) -> RtlFlow:
    """Trace and write the RTL, start Yosys on it and return; ``finish()`` does the rest.

    Arguments as :func:`run_rtl_flow`.

    >>> with start_rtl_flow(model, "runs/hlf_mlp/rtl", x_test[:10000]) as flow:  # doctest: +SKIP
    ...     report = flow.finish()
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
    job = start_synthesis(out_dir, family=family) if synthesize else None
    return RtlFlow(model, Path(out_dir), inputs, meta, timings, job, t0)


def run_rtl_flow(model: Any, out_dir: str | os.PathLike, inputs: np.ndarray, *,
                 part: str = "xcvu13p-flga2577-2-e", clock_ns: float = 4.167,
                 latency_cutoff: float | None = DEFAULT_LATENCY_CUTOFF, hard_dc: int = 2,
                 family: str = "xcup", synthesize: bool = True,
                 raise_on_mismatch: bool = True, sigmoid_table_size: int | None = None) -> dict[str, Any]:
    """Trace -> write -> Verilator simulate beside Yosys synthesize; MismatchError on any differing logit.

    Returns {"write": ..., "simulation": ..., "synthesis": ..., "timings_s": ...}; the
    summary is also saved as ``out_dir/rtl_report.json``. ``timings_s`` holds each step's
    seconds (``yosys``: Yosys's own wall time, overlapping the simulation), ``yosys_wait``
    (how long the flow waited for Yosys after the simulation) and ``total`` (wall). With
    ``raise_on_mismatch=False`` a differing RTL is returned without synthesis
    (``"synthesis"`` absent; Yosys is stopped) for the caller to report.
    ``sigmoid_table_size`` puts hls4ml's sigmoid table after the logit, checked against its
    emulation (:func:`fpgakd.firmware.sigmoid.emulate_sigmoid`).

    >>> report = run_rtl_flow(model, "runs/hlf_mlp/rtl", x_test[:10000])   # doctest: +SKIP
    >>> report["simulation"]["bit_exact"]                                  # doctest: +SKIP
    True
    """
    with start_rtl_flow(model, out_dir, inputs, part=part, clock_ns=clock_ns, latency_cutoff=latency_cutoff,
                        hard_dc=hard_dc, family=family, synthesize=synthesize,
                        sigmoid_table_size=sigmoid_table_size) as flow:
        return flow.finish(raise_on_mismatch=raise_on_mismatch)
