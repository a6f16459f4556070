"""Read the reports of Vivado HLS / Vitis HLS projects (C synthesis, logic synthesis, co-simulation)
into the normalised report of :mod:`fpgakd.firmware.report_schema`.

Which project and which report are :mod:`fpgakd.firmware.hls_layout`'s choice; this module
reads them, through :func:`hls4ml.report.parse_vivado_report` on a view of the project.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from fpgakd.config import FirmwareConfig
from fpgakd.errors import DataError
from fpgakd.firmware.hls_layout import CsynthChoice, HlsProject, choose_csynth_report
from fpgakd.firmware.report_schema import RESOURCE_KEYS, new_report, plain_number, utilization

__all__ = ["read_hls_reports"]

log = logging.getLogger(__name__)

_VIEW_SOLUTION = "solution1"
#: Vivado logic synthesis counts 36 Kb block-RAM tiles; one tile holds two 18 Kb BRAMs.
_BRAM18_PER_TILE = 2
_NOT_A_NUMBER = ("", "-", "n/a", "na", "undef", "none")


def _number(text: Any, where: Path, field: str) -> float | None:
    """A number from a report cell, None for the tools' placeholders ('-', 'undef', 'N/A')."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    cleaned = str(text).strip().replace(",", "")
    if cleaned.lower() in _NOT_A_NUMBER:
        return None
    try:
        return float(cleaned)
    except ValueError:
        raise DataError(f"{where}: field '{field}': expected a number, got {text!r}") from None


def _totals_for(part: str | None, firmware: FirmwareConfig,
                from_report: dict[str, Any] | None) -> dict[str, Any] | None:
    known = firmware.resources_of(part) if part else None
    if known is not None:
        return dict(known)
    return from_report


# ----------------------------------------------------------------- reading HLS reports
def _csynth_extras(xml: Path) -> dict[str, Any]:
    """Check the C-synthesis XML has what hls4ml reads, and read what hls4ml does not (part, version)."""
    try:
        root = ET.parse(xml).getroot()
    except ET.ParseError as err:
        raise DataError(f"{xml}: not valid XML ({err})") from None
    except OSError as err:
        raise DataError(f"{xml}: cannot read C-synthesis report ({err.strerror})") from None
    required = ("UserAssignments/TargetClockPeriod",
                "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod",
                "PerformanceEstimates/SummaryOfOverallLatency/Best-caseLatency",
                "PerformanceEstimates/SummaryOfOverallLatency/Worst-caseLatency",
                "PerformanceEstimates/SummaryOfOverallLatency/Interval-min",
                "PerformanceEstimates/SummaryOfOverallLatency/Interval-max",
                "AreaEstimates/Resources", "AreaEstimates/AvailableResources")
    for field in required:
        if root.find(field) is None:
            raise DataError(f"{xml}: field '{field}' is missing (not a complete C-synthesis report)")
    return {
        "part": (root.findtext("UserAssignments/Part") or "").strip() or None,
        "version": (root.findtext("ReportVersion/Version") or "").strip() or None,
    }


def _run_hls4ml_parser(root: Path, shown: Path) -> dict[str, Any]:
    """hls4ml.report.parse_vivado_report on ``root`` with its prints captured and logged.

    ``shown`` is the directory named in errors (the user's, when ``root`` is a view of it).
    """
    from hls4ml.report import parse_vivado_report

    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            parsed = parse_vivado_report(str(root))
    except ET.ParseError as err:
        raise DataError(f"{shown}: a report in this project is not valid XML ({err})") from None
    except (AttributeError, IndexError, KeyError, TypeError, ValueError, UnboundLocalError) as err:
        raise DataError(f"{shown}: hls4ml could not read the reports of this project "
                        f"({type(err).__name__}: {err})") from None
    finally:
        for line in buffer.getvalue().splitlines():
            if line.strip():
                log.debug("hls4ml.report: %s", line)
    if parsed is None:
        raise DataError(f"{shown}: hls4ml could not read this project ({buffer.getvalue().strip()})")
    return parsed


def _hls4ml_view(project: HlsProject, choice: CsynthChoice | None, workdir: Path) -> Path:
    """A directory laid out as hls4ml's reader expects, showing only the chosen report.

    hls4ml finds one constructed path (``<name>_prj/<first solution>/syn/report/<name>_csynth.xml``);
    the view names the chosen function and solution so, whatever the real layout, it
    reads exactly the report :func:`~fpgakd.firmware.hls_layout.choose_csynth_report` chose.
    """
    function = choice.function if choice else project.top
    view = workdir / "project"
    prj = view / f"{function}_prj"
    prj.mkdir(parents=True)
    (view / "project.tcl").write_text(f'set project_name "{function}"\nset backend "vivado"\n')
    (prj / "vivado_hls.app").write_text(
        f'<project top="{function}"><solutions><solution name="{_VIEW_SOLUTION}"/></solutions></project>\n')
    if choice is None:
        (prj / _VIEW_SOLUTION).mkdir()
    else:
        os.symlink(choice.solution.resolve(), prj / _VIEW_SOLUTION, target_is_directory=True)
    for name in ("vivado_synth.rpt", "tb_data"):
        if (project.root / name).exists():
            os.symlink((project.root / name).resolve(), view / name)
    return view


def _csynth_report(csynth: dict[str, Any], xml: Path, project: HlsProject, firmware: FirmwareConfig,
                   extras: dict[str, Any]) -> dict[str, Any]:
    """The normalised report from hls4ml's parse of one C-synthesis XML."""
    part = extras["part"] or _part_from_project_tcl(project.root)
    lat = (_number(csynth.get("BestLatency"), xml, "Best-caseLatency"),
           _number(csynth.get("WorstLatency"), xml, "Worst-caseLatency"))
    ii = (_number(csynth.get("IntervalMin"), xml, "Interval-min"),
          _number(csynth.get("IntervalMax"), xml, "Interval-max"))
    from_report = {k: _number(csynth.get(f"Available{k}"), xml, f"Available{k}") for k in RESOURCE_KEYS}
    return new_report(
        source="csynth", project=str(project.root), part=part,
        clock_ns=_number(csynth.get("TargetClockPeriod"), xml, "TargetClockPeriod"),
        estimated_clock_ns=_number(csynth.get("EstimatedClockPeriod"), xml, "EstimatedClockPeriod"),
        hls_tool=project.tool, hls_tool_version=extras["version"],
        latency_cycles=None if None in lat else (int(lat[0]), int(lat[1])),
        ii=None if None in ii else (int(ii[0]), int(ii[1])),
        resources={k: _number(csynth.get(k), xml, k) for k in RESOURCE_KEYS},
        available=_totals_for(part, firmware, from_report))


def read_hls_reports(project: HlsProject, firmware: FirmwareConfig) -> dict[str, Any] | None:
    """The normalised report from the HLS tool's outputs; None if the tool has not run.

    Raises :class:`~fpgakd.errors.DataError` when reports exist but none fits (the message
    lists what was found), or when a report cannot be read (naming its path).

    >>> read_hls_reports(locate_project(Path("prj")), FirmwareConfig(name="x"))["source"]  # doctest: +SKIP
    'csynth'
    """
    choice = choose_csynth_report(project)
    vsynth_rpt = project.root / "vivado_synth.rpt"
    if choice is None and not vsynth_rpt.is_file():
        log.info("%s: no synthesis results yet", project.root)
        return None
    extras = _csynth_extras(choice.xml) if choice else {"part": None, "version": None}
    with tempfile.TemporaryDirectory(prefix="fpgakd_hls_view_") as tmp:
        parsed = _run_hls4ml_parser(_hls4ml_view(project, choice, Path(tmp)), project.root)
    csynth = parsed.get("CSynthesisReport") if choice else None
    if csynth is not None:
        report = _csynth_report(csynth, choice.xml, project, firmware, extras)
        report["notes"] += list(choice.notes)
    else:
        part = _part_from_project_tcl(project.root)
        report = new_report(source="vsynth", project=str(project.root), part=part,
                            clock_ns=_clock_from_project_tcl(project.root), hls_tool=project.tool,
                            available=_totals_for(part, firmware, None))
    vsynth = parsed.get("VivadoSynthReport") if vsynth_rpt.is_file() else None
    if vsynth is not None:
        logic = _normalise_vsynth(vsynth, vsynth_rpt)
        avail = report["available"]
        report["logic_synthesis"] = {"resources": logic, "utilization_pct": utilization(logic, avail)}
        if csynth is None:
            report["resources"] = logic
            report["utilization_pct"] = utilization(logic, avail)
    cosim = parsed.get("CosimReport")
    if cosim:
        where = choice.solution if choice else project.root
        report["cosim"] = {k: (plain_number(_number(v, where, k)) if k not in ("RTL", "Status") else v)
                           for k, v in cosim.items()}
    return report


def _normalise_vsynth(vsynth: dict[str, Any], rpt: Path) -> dict[str, Any]:
    missing = [k for k in ("LUT", "FF") if k not in vsynth]
    if missing:
        raise DataError(f"{rpt}: no '{missing[0]}' row in the utilization tables "
                        "(not a Vivado report_utilization output?)")
    tiles = _number(vsynth.get("BRAM_18K"), rpt, "Block RAM Tile")
    return {
        "LUT": plain_number(_number(vsynth.get("LUT"), rpt, "Slice LUTs")),
        "FF": plain_number(_number(vsynth.get("FF"), rpt, "Slice Registers")),
        "DSP": plain_number(_number(vsynth.get("DSP48E", vsynth.get("DSP")), rpt, "DSPs")),
        "BRAM_18K": None if tiles is None else plain_number(tiles * _BRAM18_PER_TILE),
        "URAM": plain_number(_number(vsynth.get("URAM"), rpt, "URAM")),
    }


def _project_tcl_value(root: Path, key: str) -> str | None:
    tcl = root / "project.tcl"
    if not tcl.is_file():
        return None
    match = re.search(rf'set\s+{key}\s+"?([^"\n]+)"?', tcl.read_text(errors="replace"))
    return match.group(1).strip() if match else None


def _part_from_project_tcl(root: Path) -> str | None:
    return _project_tcl_value(root, "part")


def _clock_from_project_tcl(root: Path) -> float | None:
    value = _project_tcl_value(root, "clock_period")
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


