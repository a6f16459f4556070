"""Show normalised reports: a side-by-side table and a resources-versus-accuracy plot."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from fpgakd.errors import DataError
from fpgakd.figures import pyplot, save_figure
from fpgakd.firmware.report_schema import RESOURCE_KEYS, accuracy_value

__all__ = ["format_report_table", "plot_resources_vs_accuracy"]

log = logging.getLogger(__name__)


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
_SOURCE_TITLES = {"csynth": "csynth", "vsynth": "vsynth", "rtl": "rtl",
                  "estimate": "ESTIMATE (no synthesis)"}
#: secondary sources a report may carry, each shown in a column of its own
_OTHER_SOURCES = ("rtl", "estimate")
#: figures that belong to the headline's tool, blank in another source's column
_TOOL_ONLY_KEYS = ("estimated_clock_ns", "hls_tool", "hls_tool_version", "source_label", "lut_source", "rtl_sim",
                   "carry", "logic_synthesis", "cosim", "latency_cycles", "latency_ns", "ii")
#: RTL simulation rows: title, and how to read the cell from the rtl_sim summary
_RTL_SIM_ROWS: tuple[tuple[str, Any], ...] = (
    ("rtl sim jets", lambda s: _fmt(s.get("n_jets"))),
    ("rtl sim bit-exact", lambda s: _fmt(s.get("bit_exact"))),
    ("rtl sim values differing", lambda s: f"{_fmt(s.get('n_differing'))} of {_fmt(s.get('n_values'))}"),
    ("rtl sim class agreement", lambda s: _fmt(s.get("class_agreement"), 6)),
)


def _source_title(report: dict[str, Any]) -> str:
    return report.get("source_label") or _SOURCE_TITLES.get(report.get("source"), _fmt(report.get("source")))


def source_columns(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One column per (project, source): the headline first, then the RTL and estimate
    numbers a report carries besides it, each labelled ``project [source]``.

    >>> [c["name"] for c in source_columns([{"name": "a", "source": "rtl", "resources": {},
    ...                                       "estimate": {"source": "estimate", "resources": {}}}])]
    ['a [rtl]', 'a [estimate]']
    """
    columns = []
    for i, report in enumerate(reports):
        label = _label(report, i)
        extras = [report[k] for k in _OTHER_SOURCES
                  if isinstance(report.get(k), dict) and report[k].get("source") not in (None, report.get("source"))]
        if not extras:
            columns.append(report)
            continue
        columns.append({**report, "name": f"{label} [{report.get('source')}]"})
        for extra in extras:
            # the project's checks and accuracy carry over; the other tool's numbers do not
            columns.append({**report, **dict.fromkeys(_TOOL_ONLY_KEYS), **extra,
                            "name": f"{label} [{extra['source']}]"})
    return columns

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


#: rows of a sigmoid output (csim["sigmoid"]): the table, the firmware's logit, the table's own error
_SIGMOID_ROWS: tuple[tuple[str, Any], ...] = (
    ("sigmoid table entries", lambda s: _fmt(s.get("table_size"))),
    ("csim logit values differing", lambda s: _fmt((s.get("logit") or {}).get("n_different"))),
    ("sigmoid table max |err|", lambda s: _fmt(s.get("table_max_abs_error"), 4)),
)


_Rows = list[tuple[str, list[str]]]


def _headline_rows(reports: list[dict[str, Any]]) -> _Rows:
    """Project, part, clock, tool, source, latency, II and the resources."""
    rows: _Rows = [
        ("project", [_label(r, i) for i, r in enumerate(reports)]),
        ("part", [_fmt(r.get("part")) for r in reports]),
        ("quantizer", [_fmt((r.get("model") or {}).get("quantizer")) for r in reports]),
        ("clock target (ns)", [_clock(r.get("clock_ns")) for r in reports]),
        ("clock estimated (ns)", [_fmt(r.get("estimated_clock_ns"), 4) for r in reports]),
        ("HLS tool", [" ".join(x for x in (r.get("hls_tool"), r.get("hls_tool_version")) if x) or "-"
                      for r in reports]),
        ("source", [_source_title(r) for r in reports]),
        ("latency (cycles)", [_range(r.get("latency_cycles")) for r in reports]),
        ("latency (ns)", [_range(r.get("latency_ns")) for r in reports]),
        ("II (cycles)", [_range(r.get("ii")) for r in reports]),
    ]
    for key in RESOURCE_KEYS:
        rows.append((key, [_with_pct((r.get("resources") or {}).get(key), (r.get("utilization_pct") or {}).get(key))
                           for r in reports]))
    if any(r.get("lut_source") for r in reports):
        # an estimate's LUT has a source of its own (the calibrated da4ml cost model)
        rows.append(("LUT from", [_fmt(r.get("lut_source")) for r in reports]))
    return rows


def _check_rows(reports: list[dict[str, Any]]) -> _Rows:
    """The RTL's carry cells and its Verilator simulation, where any report has them."""
    rows: _Rows = []
    if any(r.get("carry") for r in reports):
        kinds = sorted({k for r in reports for k in (r.get("carry") or {})})
        for kind in kinds:
            rows.append((kind, [_fmt((r.get("carry") or {}).get(kind)) for r in reports]))
    if any(r.get("rtl_sim") for r in reports):
        for title, cell in _RTL_SIM_ROWS:
            rows.append((title, [cell(r["rtl_sim"]) if r.get("rtl_sim") else "-" for r in reports]))
    return rows


def _logic_synthesis_rows(reports: list[dict[str, Any]]) -> _Rows:
    rows: _Rows = []
    if any(r.get("logic_synthesis") for r in reports):
        for key in RESOURCE_KEYS:
            cells = []
            for r in reports:
                logic = r.get("logic_synthesis") or {}
                cells.append(_with_pct((logic.get("resources") or {}).get(key),
                                       (logic.get("utilization_pct") or {}).get(key)))
            rows.append((f"logic synth {key}", cells))
    return rows


def _cosim_rows(reports: list[dict[str, Any]]) -> _Rows:
    if not any(r.get("cosim") for r in reports):
        return []
    return [(f"cosim {key}", [_fmt((r.get("cosim") or {}).get(key)) for r in reports])
            for key in ("Status", "LatencyMin", "LatencyMax", "IntervalMin", "IntervalMax")]


def _csim_rows(reports: list[dict[str, Any]]) -> _Rows:
    """The C-simulation check and, for a sigmoid output, its table and logit."""
    rows: _Rows = []
    if any(r.get("csim") for r in reports):
        for title, cell in _CSIM_ROWS:
            rows.append((title, [cell(r["csim"]) if r.get("csim") else "-" for r in reports]))
    if any((r.get("csim") or {}).get("sigmoid") for r in reports):
        for title, cell in _SIGMOID_ROWS:
            rows.append((title, [cell(r["csim"]["sigmoid"]) if (r.get("csim") or {}).get("sigmoid") else "-"
                                 for r in reports]))
    return rows


def _accuracy_rows(reports: list[dict[str, Any]]) -> _Rows:
    """One row per accuracy figure any report has (a bare number counts as ``accuracy``)."""
    acc_keys: list[str] = []
    for r in reports:
        acc = r.get("accuracy")
        for key in (acc if isinstance(acc, dict) else ({"accuracy": acc} if acc is not None else {})):
            if key not in acc_keys:
                acc_keys.append(key)
    rows: _Rows = []
    for key in acc_keys:
        cells = []
        for r in reports:
            acc = r.get("accuracy")
            value = acc.get(key) if isinstance(acc, dict) else (acc if key == "accuracy" else None)
            cells.append(_fmt(value, 4))
        rows.append((key, cells))
    return rows


def _render_table(rows: _Rows, n_columns: int) -> str:
    """The rows as a boxed plain-text table, the first row (the projects) as its header."""
    width0 = max(len(t) for t, _ in rows)
    widths = [max(len(cells[i]) for _, cells in rows) for i in range(n_columns)]
    sep = "+-" + "-" * width0 + "-+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [sep]
    for n, (title, cells) in enumerate(rows):
        body = "|".join(f" {c.rjust(w)} " for c, w in zip(cells, widths))
        lines.append("| " + title.ljust(width0) + " |" + body + "|")
        if n == 0:
            lines.append(sep)
    lines.append(sep)
    return "\n".join(lines)


def format_report_table(reports: list[dict[str, Any]]) -> str:
    """One plain-text table, one column per project, for any number of normalised reports.

    >>> print(format_report_table([read_project_report("hls_projects/a"),
    ...                            read_project_report("hls_projects/b")]))   # doctest: +SKIP
    """
    if not reports:
        raise ValueError("format_report_table needs at least one report")
    reports = source_columns(reports)
    rows = (_headline_rows(reports) + _check_rows(reports) + _logic_synthesis_rows(reports)
            + _cosim_rows(reports) + _csim_rows(reports) + _accuracy_rows(reports))
    return _render_table(rows, len(reports))


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
