"""The RTL flow as a firmware report: run it beside the HLS project where the tools are
installed, and turn what it measured into the normalised report (source ``rtl``).

Where the tools are missing, the model is a float model, or the config turns the flow
off, the report says why and the rest of ``fpgakd synth`` goes on. A tool that fails is
an error (its last lines in the message); an RTL that differs from Keras is reported
like a C-simulation mismatch.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import FirmwareConfig
from fpgakd.errors import ToolError
from fpgakd.firmware.report_schema import new_report

__all__ = ["RTL_DIR", "rtl_numbers", "rtl_source_label"]

log = logging.getLogger(__name__)

#: the RTL's folder inside an HLS project directory
RTL_DIR = "rtl"
#: the simulation figures the report keeps (the rest stays in rtl/rtl_report.json)
_SIM_KEYS = ("n_jets", "n_values", "n_differing", "max_abs_diff", "class_agreement",
             "class_agreement_kind", "bit_exact", "relu_ties_exercised", "output")


def rtl_source_label(tools: dict[str, str], family: str) -> str:
    """How a report names numbers that come from the RTL flow.

    >>> rtl_source_label({"yosys": "0.70", "verilator": "5.48.0", "da4ml": "0.5.2"}, "xcup")
    'rtl (yosys 0.70 synth_xilinx -family xcup, verilator 5.48.0, da4ml 0.5.2)'
    """
    return (f"rtl (yosys {tools.get('yosys', '?')} synth_xilinx -family {family}, "
            f"verilator {tools.get('verilator', '?')}, da4ml {tools.get('da4ml', '?')})")


def rtl_numbers(model: Any, x: np.ndarray, firmware: FirmwareConfig, part: str,
                project_dir: Path, output: str = "linear") -> tuple[dict[str, Any] | None, list[str]]:
    """Run the RTL flow into ``project_dir/rtl``; return (its report or None, notes).

    ``output="sigmoid"`` puts hls4ml's sigmoid table (``firmware.sigmoid_table_size``) after the logit.

    >>> block, notes = rtl_numbers(model, x, load_firmware_config(), "xcvu13p-flga2577-2-e",
    ...                            Path("hls_projects/hlf_mlp"))           # doctest: +SKIP
    >>> block["source"], block["rtl_sim"]["bit_exact"]                     # doctest: +SKIP
    ('rtl', True)
    """
    from fpgakd.firmware.hls import is_quantized

    cfg = firmware.rtl
    if not cfg.enabled:
        return None, ["RTL flow off (rtl.enabled: false, or --no-rtl)"]
    if not is_quantized(model):
        return None, ["RTL skipped: a float (non-QKeras) model has no exact integer weights"]
    from fpgakd.firmware.rtl.tools import check_rtl_tools

    try:
        tools = check_rtl_tools()
    except ToolError as err:
        log.warning("RTL flow skipped: %s", err)
        return None, [f"RTL skipped: {err}"]
    from fpgakd.firmware.rtl.flow import run_rtl_flow
    from fpgakd.firmware.rtl.student import RtlUnsupported

    try:
        flow = run_rtl_flow(model, project_dir / RTL_DIR, x, part=part,
                            clock_ns=round(firmware.clock_period_ns, 3), latency_cutoff=cfg.latency_cutoff,
                            hard_dc=cfg.hard_dc, family=cfg.family, raise_on_mismatch=False,
                            sigmoid_table_size=firmware.sigmoid_table_size if output == "sigmoid" else None)
    except RtlUnsupported as err:
        return None, [f"RTL skipped: {err}"]
    return _normalise(flow, tools, firmware, part), []


def _normalise(flow: dict[str, Any], tools: dict[str, str], firmware: FirmwareConfig,
               part: str) -> dict[str, Any]:
    sim = flow["simulation"]
    synthesis = flow.get("synthesis")
    cycles = sim["latency_cycles"]
    resources = None if synthesis is None else {
        k: synthesis["resources"].get(k) for k in ("LUT", "FF", "DSP", "BRAM_18K", "URAM")}
    report = new_report(source="rtl", part=part, clock_ns=round(firmware.clock_period_ns, 3),
                        latency_cycles=(cycles, cycles), ii=(1, 1), resources=resources,
                        available=firmware.resources_of(part))
    report["source_label"] = rtl_source_label(tools, firmware.rtl.family)
    report["tools"] = tools
    report["rtl_sim"] = {k: sim.get(k) for k in _SIM_KEYS}
    report["rtl_dir"] = RTL_DIR
    report["timings_s"] = flow.get("timings_s")
    if synthesis is None:
        report["notes"].append("RTL differs from Keras: Yosys synthesis skipped")
        return report
    report["carry"] = {k: v for k, v in synthesis["resources"].items() if k.startswith("CARRY")}
    report["cells"] = synthesis["cells"]
    report["latency_source"] = synthesis.get("latency_source")
    report["delay_model"] = synthesis.get("delay_model")
    report["notes"].append("resources: Yosys cells for UltraScale+ (no place and route); latency: da4ml's "
                           "pipeline depth; clock: da4ml's delay model, not closed by a timing tool")
    return report
