"""The normalised firmware report: one JSON-able dict per project, whatever made its numbers.

The keys are listed in :mod:`fpgakd.firmware.reports`; this module builds, validates, writes and
reads them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from fpgakd.atomic import write_text_atomic
from fpgakd.errors import DataError

__all__ = ["RESOURCE_KEYS", "SOURCES", "ESTIMATE_KEYS", "FPGAKD_REPORT_NAME", "new_report", "utilization",
           "check_report", "plain_number", "write_reports_json", "read_reports_json", "accuracy_value"]

#: Resource names of a normalised report, in display order.
RESOURCE_KEYS = ("LUT", "FF", "DSP", "BRAM_18K", "URAM")
#: Allowed values of ``source``.
SOURCES = ("csynth", "vsynth", "rtl", "estimate")
#: What an estimate keeps when synthesized numbers replace it as a report's headline.
ESTIMATE_KEYS = ("source", "lut_source", "latency_cycles", "latency_ns", "ii", "resources", "utilization_pct")
#: File name of fpgakd's own report inside a project directory.
FPGAKD_REPORT_NAME = "fpgakd_report.json"


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
    res = {k: plain_number((resources or {}).get(k)) for k in RESOURCE_KEYS}
    avail = None if available is None else {k: plain_number(available.get(k)) for k in RESOURCE_KEYS}
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


def plain_number(value: Any) -> int | float | None:
    """JSON-friendly number: ints stay ints, integral floats become ints, numpy scalars unwrap."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    return int(value) if value.is_integer() else value



def check_report(data: Any, where: Path | str) -> None:
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
        check_report(report, f"{path}[{i}]")
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


