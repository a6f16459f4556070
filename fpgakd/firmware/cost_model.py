"""LUTs from da4ml's own cost model, calibrated on Yosys: the estimate when the RTL flow is off.

da4ml prices every adder of the traced student (``CombLogic.cost``, its LUT estimate) in
seconds, without Verilog, Verilator or Yosys. ``benchmarks/bench_cost_model.py`` measured
that figure against Yosys ``synth_xilinx -family xcup`` (fpgakd's script) on briefly trained
students of every family, size and sparsity (``docs/results/cost_model.csv``) and fitted
``LUT = LUT_SCALE * cost + LUT_OFFSET``; :data:`CALIBRATION` holds the fit's errors. The
older estimate (:mod:`fpgakd.firmware.estimate`) prices hls4ml's HLS build from one
published point and lies 5-10x below Yosys on these students, so a report's LUT comes
from here wherever da4ml can trace the student.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fpgakd.config import FirmwareConfig

__all__ = ["LUT_SCALE", "LUT_OFFSET", "CALIBRATION", "calibrated_lut", "cost_model_label", "da4ml_lut_cost",
           "apply_cost_model"]

log = logging.getLogger(__name__)

#: Yosys LUTs per unit of da4ml's ``estimated_lut_cost`` (fitted, see the module docstring).
LUT_SCALE = 0.978
#: Yosys LUTs at zero da4ml cost (fitted): the register/glue logic da4ml does not price.
LUT_OFFSET = -6.9
#: How the fit was made and how well it does on its students (absolute relative errors).
CALIBRATION: dict[str, Any] = {
    "students": 32, "median_error": 0.0553, "worst_error": 0.1547, "yosys": "0.70", "da4ml": "0.5.2",
    "source": "benchmarks/bench_cost_model.py, docs/results/cost_model.csv",
}


def calibrated_lut(da4ml_cost: float) -> int:
    """Yosys's LUT count predicted from da4ml's ``estimated_lut_cost`` (never below 0).

    >>> calibrated_lut(0.0) == max(0, round(LUT_OFFSET))
    True
    """
    return max(0, int(round(LUT_SCALE * float(da4ml_cost) + LUT_OFFSET)))


def cost_model_label() -> str:
    """How a report names a LUT figure from this model.

    >>> cost_model_label().startswith("da4ml cost model, calibrated on ")
    True
    """
    return (f"da4ml cost model, calibrated on {CALIBRATION['students']} students, median error "
            f"{CALIBRATION['median_error']:.0%} (worst {CALIBRATION['worst_error']:.0%}) against Yosys "
            f"{CALIBRATION['yosys']} synth_xilinx")


def da4ml_lut_cost(model: Any, firmware: FirmwareConfig, output: str = "linear") -> float:
    """da4ml's ``estimated_lut_cost`` of the student as fpgakd's RTL flow would trace it.

    Raises :class:`~fpgakd.errors.ToolError` without da4ml,
    :class:`~fpgakd.firmware.rtl.student.RtlUnsupported` for a float model and
    :class:`~fpgakd.errors.ConfigError` for a layer it cannot trace.

    >>> da4ml_lut_cost(model, load_firmware_config())             # doctest: +SKIP
    24832.5
    """
    from fpgakd.firmware.rtl.trace import trace_student

    size = firmware.sigmoid_table_size if output == "sigmoid" else None
    # the cost is the combinational logic's: no pipelining needed
    trace = trace_student(model, latency_cutoff=None, hard_dc=firmware.rtl.hard_dc, sigmoid_table_size=size)
    return float(trace.comb.cost)


def apply_cost_model(report: dict[str, Any], model: Any, firmware: FirmwareConfig,
                     output: str = "linear", cost: float | None = None) -> dict[str, Any]:
    """The estimate ``report`` with its LUT from the calibrated da4ml cost model; ``cost`` is
    da4ml's cost where the student was traced already (the RTL flow's trace is the same logic).

    The older estimate's LUT stays under ``estimate_details["hls_estimate_LUT"]`` and a
    note names both; ``lut_source`` labels the figure. Where da4ml is missing or cannot
    trace the model, the report is returned unchanged with a note saying why.

    >>> r = apply_cost_model(estimate_resources(model, fw), model, fw)   # doctest: +SKIP
    >>> r["lut_source"]                                                 # doctest: +SKIP
    'da4ml cost model, calibrated on 32 students, median error 6% (worst 20%) ...'
    """
    from fpgakd.errors import FpgakdError
    from fpgakd.firmware.report_schema import utilization

    out = dict(report)
    t0, traced_here = time.perf_counter(), cost is None
    try:
        cost = da4ml_lut_cost(model, firmware, output) if traced_here else float(cost)
    except FpgakdError as err:
        log.info("no da4ml cost model for this student: %s", err)
        out["notes"] = list(report.get("notes") or []) + [f"LUT: the HLS-priced estimate (no da4ml cost: {err})"]
        return out
    lut = calibrated_lut(cost)
    old = (report.get("resources") or {}).get("LUT")
    out["resources"] = {**(report.get("resources") or {}), "LUT": lut}
    out["utilization_pct"] = utilization(out["resources"], report.get("available"))
    out["lut_source"] = cost_model_label()
    out["estimate_details"] = {**(report.get("estimate_details") or {}), "da4ml_lut_cost": cost,
                               "hls_estimate_LUT": old}
    if traced_here:   # else the cost came with the RTL flow's trace, timed there
        out["estimate_details"]["da4ml_trace_s"] = round(time.perf_counter() - t0, 2)
    out["notes"] = list(report.get("notes") or []) + [
        f"LUT {lut}: {cost_model_label()}, from da4ml's cost {cost:g}; the HLS-priced estimate "
        f"(fpgakd.firmware.estimate) says {old}"]
    return out
