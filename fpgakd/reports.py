"""Read, compare and plot firmware reports as one normalised, JSON-able dict per project.

Every source of numbers -- Vivado HLS / Vitis HLS C synthesis, Vivado logic synthesis, and
fpgakd's own estimate (:mod:`fpgakd.estimate`) -- ends up in the same shape, so reports of
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
``source``             where ``resources`` come from: ``"csynth"`` | ``"vsynth"`` | ``"estimate"``
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
=====================  ===================================================================

DSP48E (Vivado HLS) and DSP (Vitis HLS) are both reported as ``DSP``. Vivado logic
synthesis counts block RAM in 36 Kb tiles; it is converted to ``BRAM_18K`` (x2).

Utilization is taken against the part's totals in :attr:`FirmwareConfig.part_resources`
when the part is listed there, else against the totals the HLS tool wrote in its own
report, else left as None.

A project directory may hold an hls4ml project (``project.tcl``), a bare Vivado/Vitis HLS
project (``<name>_prj/vivado_hls.app`` or ``hls.app``), and/or ``fpgakd_report.json``
(written by ``fpgakd synth``: an estimate plus C-simulation and accuracy). When both exist,
the HLS tool's numbers replace the estimate's and the estimate is kept under ``estimate``.
The tool's reports are parsed by :func:`hls4ml.report.parse_vivado_report`; what it prints
is captured and logged at debug level.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from fpgakd.atomic import write_text_atomic
from fpgakd.config import FirmwareConfig
from fpgakd.errors import DataError
from fpgakd.figures import pyplot, save_figure

__all__ = [
    "RESOURCE_KEYS", "SOURCES", "FPGAKD_REPORT_NAME", "new_report", "utilization",
    "read_project_report", "format_report_table", "write_reports_json", "read_reports_json",
    "accuracy_value", "plot_resources_vs_accuracy",
]

log = logging.getLogger(__name__)

#: Resource names of a normalised report, in display order.
RESOURCE_KEYS = ("LUT", "FF", "DSP", "BRAM_18K", "URAM")
#: Allowed values of ``source``.
SOURCES = ("csynth", "vsynth", "estimate")
#: File name of fpgakd's own report inside a project directory.
FPGAKD_REPORT_NAME = "fpgakd_report.json"

_TOOL_BY_APP = {"vivado_hls.app": "vivado_hls", "hls.app": "vitis_hls"}
#: Vivado logic synthesis counts 36 Kb block-RAM tiles; one tile holds two 18 Kb BRAMs.
_BRAM18_PER_TILE = 2
_NOT_A_NUMBER = ("", "-", "n/a", "na", "undef", "none")


# ----------------------------------------------------------------- the normalised dict
def new_report(*, source: str, project: str | None = None, part: str | None = None,
               clock_ns: float | None = None, estimated_clock_ns: float | None = None,
               hls_tool: str | None = None, hls_tool_version: str | None = None,
               latency_cycles: tuple[int, int] | None = None, ii: tuple[int, int] | None = None,
               resources: dict[str, float | None] | None = None,
               available: dict[str, float | None] | None = None) -> dict[str, Any]:
    """A normalised report (see the module docstring) with derived ns and utilization filled in.

    >>> r = new_report(source="estimate", part="xcvu13p-flga2577-2-e", clock_ns=4.167,
    ...                latency_cycles=(6, 6), ii=(1, 1), resources={"LUT": 2379},
    ...                available={"LUT": 1728000})
    >>> r["latency_ns"]["max"], r["utilization_pct"]["LUT"]
    (25.002, 0.1377)
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    res = {k: _plain_number((resources or {}).get(k)) for k in RESOURCE_KEYS}
    avail = None if available is None else {k: _plain_number(available.get(k)) for k in RESOURCE_KEYS}
    lat = None if latency_cycles is None else {"min": int(latency_cycles[0]), "max": int(latency_cycles[1])}
    lat_ns = None
    if lat is not None and clock_ns is not None:
        lat_ns = {k: round(v * clock_ns, 3) for k, v in lat.items()}
    return {
        "project": project,
        "part": part,
        "clock_ns": clock_ns,
        "estimated_clock_ns": estimated_clock_ns,
        "hls_tool": hls_tool,
        "hls_tool_version": hls_tool_version,
        "source": source,
        "latency_cycles": lat,
        "latency_ns": lat_ns,
        "ii": None if ii is None else {"min": int(ii[0]), "max": int(ii[1])},
        "resources": res,
        "available": avail,
        "utilization_pct": utilization(res, avail),
        "logic_synthesis": None,
        "cosim": None,
        "csim": None,
        "accuracy": None,
        "notes": [],
    }


def utilization(resources: dict[str, Any], available: dict[str, Any] | None) -> dict[str, float | None]:
    """Percentage of ``available`` used per resource (4 decimals); None where a total is unknown or 0.

    >>> utilization({"DSP": 6, "LUT": None}, {"DSP": 12288, "LUT": 1728000})["DSP"]
    0.0488
    """
    out: dict[str, float | None] = {}
    for key in RESOURCE_KEYS:
        used = resources.get(key)
        total = None if available is None else available.get(key)
        out[key] = None if used is None or not total else round(100.0 * used / total, 4)
    return out


def _plain_number(value: Any) -> int | float | None:
    """JSON-friendly number: ints stay ints, integral floats become ints, numpy scalars unwrap."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    return int(value) if value.is_integer() else value


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


def _locate(root: Path) -> _Layout | None:
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


def _read_hls_reports(layout: _Layout, firmware: FirmwareConfig) -> dict[str, Any] | None:
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
        report["cosim"] = {k: (_plain_number(_number(v, layout.prj_dir, k)) if k not in ("RTL", "Status") else v)
                           for k, v in cosim.items()}
    return report


def _normalise_vsynth(vsynth: dict[str, Any], rpt: Path) -> dict[str, Any]:
    missing = [k for k in ("LUT", "FF") if k not in vsynth]
    if missing:
        raise DataError(f"{rpt}: no '{missing[0]}' row in the utilization tables "
                        "(not a Vivado report_utilization output?)")
    tiles = _number(vsynth.get("BRAM_18K"), rpt, "Block RAM Tile")
    return {
        "LUT": _plain_number(_number(vsynth.get("LUT"), rpt, "Slice LUTs")),
        "FF": _plain_number(_number(vsynth.get("FF"), rpt, "Slice Registers")),
        "DSP": _plain_number(_number(vsynth.get("DSP48E", vsynth.get("DSP")), rpt, "DSPs")),
        "BRAM_18K": None if tiles is None else _plain_number(tiles * _BRAM18_PER_TILE),
        "URAM": _plain_number(_number(vsynth.get("URAM"), rpt, "URAM")),
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
    _check_report(data, path)
    return data


def _check_report(data: Any, where: Path | str) -> None:
    if not isinstance(data, dict):
        raise DataError(f"{where}: expected a report object, got {type(data).__name__}")
    if data.get("source") not in SOURCES:
        raise DataError(f"{where}: key 'source': got {data.get('source')!r}, allowed: {', '.join(SOURCES)}")
    resources = data.get("resources")
    if not isinstance(resources, dict):
        raise DataError(f"{where}: key 'resources': expected a mapping of {', '.join(RESOURCE_KEYS)}")
    for key in RESOURCE_KEYS:
        value = resources.get(key)
        if value is not None and not isinstance(value, (int, float)):
            raise DataError(f"{where}: key 'resources.{key}': expected a number, got {value!r}")


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
    layout = _locate(root)
    hls = _read_hls_reports(layout, firmware) if layout is not None else None
    if hls is None and own is None:
        if layout is None:
            raise DataError(
                f"{root}: no recognisable project: looked for project.tcl (hls4ml), "
                f"<name>_prj/vivado_hls.app or <name>_prj/hls.app (Vivado/Vitis HLS) and "
                f"{FPGAKD_REPORT_NAME} (fpgakd)")
        raise DataError(
            f"{root}: HLS project '{layout.top}' has no synthesis results: looked for "
            f"{layout.csynth_xml} and {layout.vsynth_rpt}, and there is no {FPGAKD_REPORT_NAME}")
    if hls is None:
        report = dict(own)
        report["project"] = str(root)
        return report
    if own is not None:
        for key in ("csim", "accuracy"):
            hls[key] = own.get(key)
        hls["notes"] = list(own.get("notes") or []) + hls["notes"]
        if own.get("source") == "estimate":
            hls["estimate"] = {k: own.get(k) for k in ("latency_cycles", "latency_ns", "ii",
                                                         "resources", "utilization_pct")}
    return hls


def _label(report: dict[str, Any], index: int) -> str:
    name = report.get("name")
    if name:
        return str(name)
    if report.get("project"):
        return Path(report["project"]).name
    return f"#{index + 1} ({report.get('source')})"


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Plain digits, no thousands separators: easy to compare with the tools' own reports.
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:.{digits}g}"
    return str(value)


def _range(pair: dict[str, Any] | None, digits: int = 4) -> str:
    if not pair:
        return "-"
    lo, hi = pair.get("min"), pair.get("max")
    return _fmt(lo, digits) if lo == hi else f"{_fmt(lo, digits)} - {_fmt(hi, digits)}"


def _with_pct(value: Any, pct: Any) -> str:
    if value is None:
        return "-"
    return _fmt(value) if pct is None else f"{_fmt(value)} ({pct:.3g}%)"


def _clock(period_ns: Any) -> str:
    if not isinstance(period_ns, (int, float)) or period_ns <= 0:
        return _fmt(period_ns)
    return f"{_fmt(float(period_ns), 4)} ({1000.0 / period_ns:.0f} MHz)"


def _csim_counts(csim: dict[str, Any]) -> str:
    parts = [f"{name} {csim[name].get('n_different', '-')}" for name in ("testbench", "bridge")
             if isinstance(csim.get(name), dict)]
    total = csim.get("n_values")
    text = " / ".join(parts) or _fmt(csim.get("n_different"))
    return f"{text} of {total}" if total is not None else text


#: how the table names where the numbers come from; an estimate must never pass for synthesis
_SOURCE_TITLES = {"csynth": "csynth", "vsynth": "vsynth",
                  "estimate": "ESTIMATE (no HLS tool run)"}

#: C-simulation rows of the table: title, and how to read the cell from the csim summary
_CSIM_ROWS: tuple[tuple[str, Any], ...] = (
    ("csim jets", lambda c: _fmt(c.get("n_jets"))),
    ("csim bit-exact", lambda c: _fmt(c.get("bit_exact"))),
    ("csim values differing", _csim_counts),
    ("csim max |diff|", lambda c: _fmt(c.get("max_abs_diff"), 6)),
    ("csim tolerance", lambda c: _fmt(c.get("tolerance"), 6)),
    ("csim class agreement", lambda c: _fmt(c.get("class_agreement"), 6)),
    ("csim inputs", lambda c: _fmt(c.get("inputs"))),
)


def format_report_table(reports: list[dict[str, Any]]) -> str:
    """One plain-text table, one column per project, for any number of normalised reports.

    >>> print(format_report_table([read_project_report("hls_projects/a"),
    ...                            read_project_report("hls_projects/b")]))   # doctest: +SKIP
    """
    if not reports:
        raise ValueError("format_report_table needs at least one report")
    rows: list[tuple[str, list[str]]] = []

    def add(title: str, cells: list[str]) -> None:
        rows.append((title, cells))

    add("project", [_label(r, i) for i, r in enumerate(reports)])
    add("part", [_fmt(r.get("part")) for r in reports])
    add("clock target (ns)", [_clock(r.get("clock_ns")) for r in reports])
    add("clock estimated (ns)", [_fmt(r.get("estimated_clock_ns"), 4) for r in reports])
    add("HLS tool", [" ".join(x for x in (r.get("hls_tool"), r.get("hls_tool_version")) if x) or "-"
                     for r in reports])
    add("source", [_SOURCE_TITLES.get(r.get("source"), _fmt(r.get("source"))) for r in reports])
    add("latency (cycles)", [_range(r.get("latency_cycles")) for r in reports])
    add("latency (ns)", [_range(r.get("latency_ns")) for r in reports])
    add("II (cycles)", [_range(r.get("ii")) for r in reports])
    for key in RESOURCE_KEYS:
        add(key, [_with_pct((r.get("resources") or {}).get(key), (r.get("utilization_pct") or {}).get(key))
                  for r in reports])
    if any(r.get("logic_synthesis") for r in reports):
        for key in RESOURCE_KEYS:
            cells = []
            for r in reports:
                logic = r.get("logic_synthesis") or {}
                cells.append(_with_pct((logic.get("resources") or {}).get(key),
                                       (logic.get("utilization_pct") or {}).get(key)))
            add(f"logic synth {key}", cells)
    if any(r.get("cosim") for r in reports):
        for key in ("Status", "LatencyMin", "LatencyMax", "IntervalMin", "IntervalMax"):
            add(f"cosim {key}", [_fmt((r.get("cosim") or {}).get(key)) for r in reports])
    if any(r.get("csim") for r in reports):
        for title, cell in _CSIM_ROWS:
            add(title, [cell(r["csim"]) if r.get("csim") else "-" for r in reports])
    acc_keys: list[str] = []
    for r in reports:
        acc = r.get("accuracy")
        for key in (acc if isinstance(acc, dict) else ({"accuracy": acc} if acc is not None else {})):
            if key not in acc_keys:
                acc_keys.append(key)
    for key in acc_keys:
        cells = []
        for r in reports:
            acc = r.get("accuracy")
            value = acc.get(key) if isinstance(acc, dict) else (acc if key == "accuracy" else None)
            cells.append(_fmt(value, 4))
        add(key, cells)

    width0 = max(len(t) for t, _ in rows)
    widths = [max(len(cells[i]) for _, cells in rows) for i in range(len(reports))]
    sep = "+-" + "-" * width0 + "-+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [sep]
    for n, (title, cells) in enumerate(rows):
        body = "|".join(f" {c.rjust(w)} " for c, w in zip(cells, widths))
        lines.append("| " + title.ljust(width0) + " |" + body + "|")
        if n == 0:
            lines.append(sep)
    lines.append(sep)
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) else float(value)
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return str(value)


def write_reports_json(reports: list[dict[str, Any]] | dict[str, Any], path: str | os.PathLike) -> Path:
    """Write one report or a list of reports as JSON, atomically; returns the path.

    >>> write_reports_json([report], "reports.json")              # doctest: +SKIP
    PosixPath('reports.json')
    """
    return write_text_atomic(path, json.dumps(_jsonable(reports), indent=2) + "\n")


def read_reports_json(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Reports written by :func:`write_reports_json` (always a list), validated.

    >>> read_reports_json("reports.json")[0]["source"]            # doctest: +SKIP
    'csynth'
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: reports file not found") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err})") from None
    reports = data if isinstance(data, list) else [data]
    for i, report in enumerate(reports):
        _check_report(report, f"{path}[{i}]")
    return reports


def accuracy_value(report: dict[str, Any]) -> float | None:
    """The report's accuracy as one number: the number itself, or ``accuracy["accuracy"]``.

    >>> accuracy_value({"accuracy": {"accuracy": 0.76, "auc_t": 0.95}})
    0.76
    """
    acc = report.get("accuracy")
    if isinstance(acc, dict):
        acc = acc.get("accuracy")
    return float(acc) if isinstance(acc, (int, float)) and not isinstance(acc, bool) else None


def plot_resources_vs_accuracy(reports: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Plot LUT, DSP and latency against accuracy, one labelled point per project.

    Projects without an accuracy are skipped with a warning; if none has one, DataError.

    >>> plot_resources_vs_accuracy(reports, "resources_vs_accuracy.png")   # doctest: +SKIP
    """
    plt = pyplot()

    path = Path(path)
    points = []
    for i, report in enumerate(reports):
        acc = accuracy_value(report)
        if acc is None:
            log.warning("%s: no accuracy in the report; left out of %s", _label(report, i), path)
            continue
        lat = report.get("latency_ns") or {}
        points.append((_label(report, i), acc, (report.get("resources") or {}).get("LUT"),
                       (report.get("resources") or {}).get("DSP"), lat.get("max")))
    if not points:
        raise DataError(f"{path}: none of the {len(reports)} reports has an accuracy to plot against")
    panels = (("LUT", 2), ("DSP", 3), ("latency (ns)", 4))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), constrained_layout=True)
    for ax, (title, col) in zip(axes, panels):
        for point in points:
            if point[col] is None:
                continue
            ax.scatter(point[col], point[1], color="tab:blue")
            ax.annotate(point[0], (point[col], point[1]), textcoords="offset points", xytext=(4, 4),
                        fontsize=8)
        ax.set_xlabel(title)
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
    return save_figure(fig, path, dpi=120)
