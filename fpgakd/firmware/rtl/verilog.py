"""Write the traced design as Verilog, da4ml's Vivado build script and Verilator binder,
atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.errors import ConfigError, DataError, ToolError
from fpgakd.firmware.rtl.tools import da4ml_version
from fpgakd.firmware.rtl.trace import DEFAULT_LATENCY_CUTOFF, RtlTrace, trace_student


#: Name of the generated top module (da4ml also writes ``<name>_wrapper`` and ``<name>_stageN``).
PRJ_NAME = "fpgakd_rtl"

#: Side file with everything :func:`simulate_rtl` / :func:`synthesize_rtl` need to know.
META_FILE = "fpgakd_rtl.json"

# --------------------------------------------------------------------------------------
# Writing the project
# --------------------------------------------------------------------------------------

def _replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move a finished temp dir onto out_dir (replacing an old one) with renames only."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
        os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except OSError:
        if old is not None:
            os.rename(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _make_temp_dir(out_dir: Path) -> Path:
    """A fresh temp dir beside out_dir (same file system: the final rename is atomic)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        # mkdtemp makes 0700 dirs; give the result the permissions a plain mkdir() would
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def _write_verilog(trace: RtlTrace, tmp: Path, part: str, clock_ns: float) -> None:
    """da4ml's Verilog, Vivado build script and Verilator binder, written into tmp."""
    from da4ml.codegen.rtl.rtl_model import VerilogModel

    sol = trace.pipeline if trace.pipeline is not None else trace.comb
    vm = VerilogModel(sol, PRJ_NAME, tmp, part_name=part, clock_period=clock_ns, print_latency=True)
    vm.write()
    # the Vivado script da4ml wrote has the part baked in; check, do not trust blindly
    tcl = tmp / "build_vivado_prj.tcl"
    if not tcl.is_file() or part not in tcl.read_text():
        raise ToolError(f"da4ml did not write a Vivado build script for part {part} in {tmp}")


def _rtl_meta(trace: RtlTrace, tmp: Path, part: str, clock_ns: float) -> dict[str, Any]:
    """What simulate_rtl and synthesize_rtl need to know about the project written in tmp."""
    spec = trace.spec
    has_tables = bool(any(len(getattr(s, "lookup_tables", None) or ()) for s in
                          (trace.pipeline.solutions if trace.pipeline is not None else [trace.comb])))
    sources = sorted(str(p.relative_to(tmp)) for p in (tmp / "src").rglob("*.v"))
    return {
        "format": 1,
        "model": spec.name,
        "prj_name": PRJ_NAME,
        "part": part,
        "clock_ns": clock_ns,
        "latency_cutoff": trace.latency_cutoff,
        "rounding": trace.rounding,
        "pipelined": trace.pipeline is not None,
        "latency_cycles": trace.stages,
        "II": 1,
        "n_inputs": spec.n_in,
        "n_outputs": spec.n_out,
        "input_kif": list(spec.input_kif),
        "output_frac_bits": spec.out_f,
        "output": "linear" if trace.sigmoid_table_size is None else "sigmoid",
        "sigmoid_table_size": trace.sigmoid_table_size,
        "nonzero_weights": spec.nonzero_weights(),
        "layers": [{"name": l.name, "shape": list(l.kernel.shape), "relu": list(l.relu) if l.relu else None,
                    "nonzero": int(np.count_nonzero(l.kernel))} for l in spec.layers],
        "has_tables": has_tables,
        "delay_model": trace.delay_model(),
        "trace_s": round(trace.trace_s, 3),
        "pipeline_s": round(trace.pipeline_s, 3),
        "da4ml": da4ml_version(),
        "files": {"top": f"src/{PRJ_NAME}.v", "wrapper": f"src/{PRJ_NAME}_wrapper.v",
                  "vivado_tcl": "build_vivado_prj.tcl", "xdc": f"src/{PRJ_NAME}.xdc",
                  "verilog": sources, "binder": f"sim/{PRJ_NAME}_wrapper_binder.cc"},
    }


def write_rtl(model: Any, out_dir: str | os.PathLike, *, part: str = "xcvu13p-flga2577-2-e",
              clock_ns: float = 4.167, latency_cutoff: float | None = DEFAULT_LATENCY_CUTOFF,
              hard_dc: int = 2, trace: RtlTrace | None = None,
              sigmoid_table_size: int | None = None) -> dict[str, Any]:
    """Write Verilog, da4ml's Vivado build script for ``part`` and the Verilator binder to out_dir.

    Atomic: everything is built in a temp dir beside out_dir and renamed at the end, so a
    failure leaves no half-written out_dir (an existing out_dir is only replaced on success).
    Pass ``trace`` to reuse a :func:`trace_student` result. Returns the metadata it wrote
    (also in ``out_dir/fpgakd_rtl.json``).

    >>> meta = write_rtl(model, "runs/hlf_mlp/rtl")           # doctest: +SKIP
    >>> meta["latency_cycles"], meta["files"]["top"]           # doctest: +SKIP
    (8, 'src/fpgakd_rtl.v')
    """
    out_dir = Path(out_dir).resolve()
    if trace is None:
        trace = trace_student(model, clock_ns=clock_ns, latency_cutoff=latency_cutoff, hard_dc=hard_dc,
                              sigmoid_table_size=sigmoid_table_size)
    _check_reads_an_input(trace, model)
    tmp = _make_temp_dir(out_dir)
    try:
        t0 = time.perf_counter()
        _write_verilog(trace, tmp, part, clock_ns)
        meta = _rtl_meta(trace, tmp, part, clock_ns)
        meta["verilog_s"] = round(time.perf_counter() - t0, 3)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1))
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def _check_reads_an_input(trace: RtlTrace, model: Any) -> None:
    """A student whose outputs read no input bit is a constant: da4ml would write a zero-width
    input port, which Verilator's lint refuses (its cost, 0 LUT, is still priced by the trace)."""
    if not np.asarray(trace.comb.inp_kifs).any():
        raise ConfigError(f"model '{model.name}': its outputs depend on none of its inputs (every path from them "
                          "was pruned or quantized to zero bits), so it is a constant and there is no circuit to "
                          "build; train it with less pruning or a smaller quantization.beta")


def read_meta(rtl_dir: Path) -> dict[str, Any]:
    path = rtl_dir / META_FILE
    if not path.is_file():
        raise DataError(f"{rtl_dir}: not an RTL project written by write_rtl ({META_FILE} missing)")
    return json.loads(path.read_text())


