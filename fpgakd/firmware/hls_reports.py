"""Find and read the reports of Vivado HLS / Vitis HLS projects (C synthesis, logic synthesis)
into the normalised report of :mod:`fpgakd.firmware.report_schema`."""

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
from fpgakd.firmware.report_schema import RESOURCE_KEYS, new_report, plain_number, utilization

__all__ = ["locate_project", "read_hls_reports"]

log = logging.getLogger(__name__)

_TOOL_BY_APP = {"vivado_hls.app": "vivado_hls", "hls.app": "vitis_hls"}
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


# ----------------------------------------------------------------- locating a project
class _Layout:
    """Where the pieces of an HLS project are; paths may not exist (not synthesized yet)."""

    def __init__(self, root: Path, top: str, prj_dir: Path, app: Path, has_project_tcl: bool) -> None:
        self.root, self.top, self.prj_dir, self.app = root, top, prj_dir, app
        self.has_project_tcl = has_project_tcl
        self.solution: str | None = None

    @property
    def csynth_xml(self) -> Path:
        return self.prj_dir / (self.solution or "solution1") / "syn" / "report" / f"{self.top}_csynth.xml"

    @property
    def vsynth_rpt(self) -> Path:
        return self.root / "vivado_synth.rpt"


def _parse_app(app: Path) -> ET.Element:
    try:
        text = app.read_text()
    except OSError as err:
        raise DataError(f"{app}: cannot read HLS project file ({err.strerror})") from None
    # Same namespace workaround as hls4ml: two flavours of .app exist.
    text = re.sub(r' xmlns="[^"]+"', "", text, count=1)
    try:
        return ET.fromstring(text)
    except ET.ParseError as err:
        raise DataError(f"{app}: not valid XML ({err})") from None


def _find_app(prj_dir: Path) -> Path | None:
    for name in _TOOL_BY_APP:
        if (prj_dir / name).is_file():
            return prj_dir / name
    return None


def locate_project(root: Path) -> _Layout | None:
    """The HLS project in ``root``, or None if there is none."""
    tcl = root / "project.tcl"
    if tcl.is_file():
        text = tcl.read_text(errors="replace")
        name = re.search(r'set\s+project_name\s+"([^"]+)"', text)
        if name is None:
            raise DataError(f"{tcl}: no 'set project_name \"...\"' line (not an hls4ml project.tcl?)")
        top = name.group(1)
        backend = re.search(r'set\s+backend\s+"([^"]+)"', text)
        if backend is None:
            raise DataError(f"{tcl}: no 'set backend \"...\"' line (not an hls4ml project.tcl?)")
        prj_dir = root / f"{top}_prj"
        if "accelerator" in backend.group(1).lower():
            top += "_axi"  # hls4ml's accelerator backends wrap the top function
        app = _find_app(prj_dir) or prj_dir / "vivado_hls.app"
        return _Layout(root, top, prj_dir, app, has_project_tcl=True)
    candidates = [d for d in sorted(root.glob("*_prj")) if d.is_dir() and _find_app(d)]
    if (root / "vivado_hls.app").is_file() or (root / "hls.app").is_file():
        candidates.append(root)
    if not candidates:
        return None
    if len(candidates) > 1:
        raise DataError(f"{root}: several HLS projects found ({', '.join(str(c) for c in candidates)}); "
                        "point at one of them")
    prj_dir = candidates[0]
    app = _find_app(prj_dir)
    top = _parse_app(app).get("top")
    if not top:
        raise DataError(f"{app}: attribute 'top' (the top function) is missing")
    return _Layout(root, top, prj_dir, app, has_project_tcl=False)


def _solutions(layout: _Layout) -> list[str]:
    root = _parse_app(layout.app)
    names = [s.get("name") for s in root.findall("solutions/solution")]
    return [n for n in names if n and (layout.prj_dir / n).is_dir()]


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


def _hls4ml_view(layout: _Layout, workdir: Path) -> Path:
    """A directory hls4ml's reader understands for an HLS project that has no project.tcl.

    hls4ml finds a project through ``project.tcl``; a bare Vivado/Vitis HLS project gets a
    view with one, whose other entries link to the real files.
    """
    view = workdir / "project"
    view.mkdir()
    (view / "project.tcl").write_text(f'set project_name "{layout.top}"\nset backend "vivado"\n')
    os.symlink(layout.prj_dir.resolve(), view / f"{layout.top}_prj", target_is_directory=True)
    for name in ("vivado_synth.rpt", "tb_data"):
        if (layout.root / name).exists():
            os.symlink((layout.root / name).resolve(), view / name)
    return view


def read_hls_reports(layout: _Layout, firmware: FirmwareConfig) -> dict[str, Any] | None:
    """The normalised report from the HLS tool's outputs; None if the tool has not run."""
    if not layout.app.is_file():
        log.info("%s: no %s: the HLS tool has not run on this project", layout.root, layout.app.name)
        return None
    solutions = _solutions(layout)
    if not solutions:
        log.info("%s: no solution directory listed in %s exists", layout.root, layout.app)
        return None
    if len(solutions) > 1:
        log.warning("%s: %d solutions (%s); using the first, as hls4ml does",
                    layout.prj_dir, len(solutions), ", ".join(solutions))
    layout.solution = solutions[0]
    have_csynth = layout.csynth_xml.is_file()
    have_vsynth = layout.vsynth_rpt.is_file()
    if not have_csynth and not have_vsynth:
        log.info("%s: no C-synthesis report (%s) and no %s", layout.root, layout.csynth_xml,
                 layout.vsynth_rpt.name)
        return None
    extras = _csynth_extras(layout.csynth_xml) if have_csynth else {"part": None, "version": None}
    if layout.has_project_tcl:
        parsed = _run_hls4ml_parser(layout.root, layout.root)
    else:
        with tempfile.TemporaryDirectory(prefix="fpgakd_hls_view_") as tmp:
            parsed = _run_hls4ml_parser(_hls4ml_view(layout, Path(tmp)), layout.root)

    tool = _TOOL_BY_APP.get(layout.app.name)
    csynth = parsed.get("CSynthesisReport") if have_csynth else None
    vsynth = parsed.get("VivadoSynthReport") if have_vsynth else None
    part = extras["part"] or _part_from_project_tcl(layout.root)

    if csynth is not None:
        xml = layout.csynth_xml
        clock = _number(csynth.get("TargetClockPeriod"), xml, "TargetClockPeriod")
        lat = (_number(csynth.get("BestLatency"), xml, "Best-caseLatency"),
               _number(csynth.get("WorstLatency"), xml, "Worst-caseLatency"))
        ii = (_number(csynth.get("IntervalMin"), xml, "Interval-min"),
              _number(csynth.get("IntervalMax"), xml, "Interval-max"))
        resources = {k: _number(csynth.get(k), xml, k) for k in RESOURCE_KEYS}
        from_report = {k: _number(csynth.get(f"Available{k}"), xml, f"Available{k}") for k in RESOURCE_KEYS}
        report = new_report(
            source="csynth", project=str(layout.root), part=part, clock_ns=clock,
            estimated_clock_ns=_number(csynth.get("EstimatedClockPeriod"), xml, "EstimatedClockPeriod"),
            hls_tool=tool, hls_tool_version=extras["version"],
            latency_cycles=None if None in lat else (int(lat[0]), int(lat[1])),
            ii=None if None in ii else (int(ii[0]), int(ii[1])),
            resources=resources, available=_totals_for(part, firmware, from_report))
    else:
        report = new_report(source="vsynth", project=str(layout.root), part=part,
                            clock_ns=_clock_from_project_tcl(layout.root), hls_tool=tool,
                            available=_totals_for(part, firmware, None))

    if vsynth is not None:
        logic = _normalise_vsynth(vsynth, layout.vsynth_rpt)
        avail = report["available"]
        report["logic_synthesis"] = {"resources": logic, "utilization_pct": utilization(logic, avail)}
        if csynth is None:
            report["resources"] = logic
            report["utilization_pct"] = utilization(logic, avail)
    cosim = parsed.get("CosimReport")
    if cosim:
        report["cosim"] = {k: (plain_number(_number(v, layout.prj_dir, k)) if k not in ("RTL", "Status") else v)
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


