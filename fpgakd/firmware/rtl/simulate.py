"""Build the Verilator binder and compare the RTL with Keras bit for bit."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from fpgakd.errors import DataError, ToolError
from fpgakd.firmware.rtl.student import extract_student, quantize_inputs, reference_forward, shift_right
from fpgakd.firmware.rtl.tools import check_rtl_tools, run_tool, tool_env
from fpgakd.firmware.rtl.verilator_runtime import runtime_archive, store_runtime_archive, use_runtime_archive
from fpgakd.firmware.rtl.verilog import read_meta


# --------------------------------------------------------------------------------------
# Verilator simulation
# --------------------------------------------------------------------------------------

#: Compile the verilated model unoptimised: the C++ build is nearly all of the simulation's
#: time (hlf_top_regressor: 49 s at da4ml's -O, 12 s at -O0), while simulating 10,000 jets takes
#: well under a second either way. And as one translation unit (Verilator's build for small
#: designs): its parallel build precompiles the header twice and parses it once per file, which
#: costs more than it saves at -O0 (constituent_mlp: 16.8 s of CPU against 11.6 s, and no
#: longer on the wall on 2 cores, where Yosys runs beside it).
_UNOPTIMISED_VERILATED = "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0 VM_PARALLEL_BUILDS=0"
#: da4ml's binder flags (build_binder.mk) without its optimisation level
_BINDER_CFLAGS = "CFLAGS=-std=c++17 -fPIC -O0"


def _build_binder(rtl_dir: Path, meta: dict[str, Any], *, rebuild: bool, jobs: int) -> tuple[Path, float]:
    sim = rtl_dir / "sim"
    prefix = f"{meta['prj_name']}_wrapper"
    libs = sorted(sim.glob(f"lib{prefix}_*.so"))
    if libs and not rebuild:
        return libs[-1], 0.0
    env = tool_env()
    stamp = uuid.uuid4().hex[:12]
    env.update({"VM_PREFIX": prefix, "STAMP": stamp, "EXTRA_CXXFLAGS": "-fopenmp",
                "VERILATOR_FLAGS": "-Wall", "N_JOBS": str(jobs)})
    env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} {_UNOPTIMISED_VERILATED}".strip()
    for lib in libs:
        lib.unlink()
    t0 = time.perf_counter()
    lib = sim / f"lib{prefix}_{stamp}.so"
    archive = runtime_archive(env, f"{_UNOPTIMISED_VERILATED} {_BINDER_CFLAGS} {env['VERILATOR_FLAGS']}")
    if archive.is_file() and " " not in str(archive):    # make splits a path with spaces
        try:
            _run_binder_make(sim, lib, {**env}, archive)
        except ToolError:     # a stored archive this build cannot link: build the run-time library
            with contextlib.suppress(OSError):
                archive.unlink(missing_ok=True)
    if not lib.is_file():
        _run_binder_make(sim, lib, env, None)
        store_runtime_archive(sim / "obj_dir", archive)
    shutil.rmtree(sim / "obj_dir", ignore_errors=True)   # ~100 MB of objects; the .so is all we need
    if not lib.is_file():
        raise ToolError(f"Verilator build finished but {lib} is missing")
    return lib, time.perf_counter() - t0


def _run_binder_make(sim: Path, lib: Path, env: dict[str, str], runtime: Path | None) -> None:
    """da4ml's binder makefile from a clean obj_dir, linking the stored run-time ``runtime``
    (:mod:`fpgakd.firmware.rtl.verilator_runtime`) if given."""
    if runtime is not None:
        use_runtime_archive(env, runtime)
    shutil.rmtree(sim / "obj_dir", ignore_errors=True)
    run_tool(["make", "-f", "build_binder.mk", lib.name, _BINDER_CFLAGS], cwd=sim, env=env,
             what="Verilator build (make -f build_binder.mk)", log=sim / "verilator_build.log")


def _io_kifs(meta_sol: Any) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    from da4ml.codegen.rtl.rtl_model import get_io_kifs

    kin, kout = get_io_kifs(meta_sol)
    return tuple(int(np.max(a)) for a in kin), tuple(int(np.max(a)) for a in kout)  # type: ignore[return-value]


def _run_binder(lib_path: Path, rtl_dir: Path, codes: np.ndarray, in_f: int, n_out: int,
                threads: int) -> np.ndarray:
    """Drive the Verilated design via da4ml's binder; returns exact float64 outputs.

    Same conversions as da4ml's RTLModel.predict, its os.chdir included: a lookup table's
    $readmemh opens its memory file by bare name. Inputs go in as integers at the port's
    (max) fractional bits.
    """
    from da4ml.cmvm.types import CombLogic, Pipeline

    model_dir = rtl_dir / "model"
    sol = Pipeline.load(str(model_dir / "pipeline.json")) if (model_dir / "pipeline.json").is_file() \
        else CombLogic.load(str(model_dir / "comb.json"))
    (k_in, i_in, f_in), (k_out, i_out, f_out) = _io_kifs(sol)
    if k_in + i_in + f_in > 32 or k_out + i_out + f_out > 32:
        raise ToolError("RTL I/O wider than 32 bits: da4ml's binder cannot simulate it")
    n, n_in = codes.shape
    # our codes are at 2^-in_f; the port wants 2^-f_in (same unless an input is dead)
    inp = np.ascontiguousarray(shift_right(codes.astype(np.int64), f_in - in_f).astype(np.int32).ravel())
    out = np.zeros(n * n_out, dtype=np.int32)
    lib = ctypes.CDLL(str(lib_path))
    lib.inference.argtypes = [ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_int32),
                              ctypes.c_size_t, ctypes.c_size_t]
    with _in_memfiles_dir(rtl_dir):
        lib.inference(inp.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                      out.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), n, threads)
    a, b = 2 ** (k_out + i_out + f_out), k_out * 2 ** (i_out + f_out)
    signed = (out.astype(np.int64).reshape(n, n_out) + b) % a - b
    return signed.astype(np.float64) * 2.0 ** -f_out


@contextlib.contextmanager
def _in_memfiles_dir(rtl_dir: Path) -> Iterator[None]:
    memfiles = rtl_dir / "src" / "memfiles"
    if not any(memfiles.glob("*.mem")):
        yield
        return
    cwd = os.getcwd()
    os.chdir(memfiles)
    try:
        yield
    finally:
        os.chdir(cwd)


def _agreement(a: np.ndarray, b: np.ndarray, threshold: float = 0.0) -> float:
    """Class agreement: argmax for multi-class logits, output > threshold for one output
    (logit > 0, or sigmoid table output > 0.5)."""
    if a.shape[1] == 1:
        return float(np.mean((a[:, 0] > threshold) == (b[:, 0] > threshold)))
    return float(np.mean(np.argmax(a, axis=1) == np.argmax(b, axis=1)))


def _check_design_matches(rtl_dir: Path, meta: dict[str, Any], spec: Any) -> None:
    if spec.n_in != meta["n_inputs"] or spec.n_out != meta["n_outputs"]:
        raise DataError(f"{rtl_dir} was written for {meta['n_inputs']}->{meta['n_outputs']}, "
                        f"the model is {spec.n_in}->{spec.n_out}")


def _expected_outputs(meta: dict[str, Any], keras: np.ndarray,
                      ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, str]:
    """What the RTL must output (Keras's and the reference's logits, or for a design ending
    in the sigmoid table their emulated table values), the one-output decision threshold
    and its description."""
    table_size, threshold, kind = meta.get("sigmoid_table_size"), 0.0, "sign (logit > 0)"
    if table_size:
        from fpgakd.firmware.sigmoid import SIGMOID_DECISION, emulate_sigmoid

        # the RTL ends in the sigmoid table: compare with the emulated table of the logits
        keras, ref = emulate_sigmoid(keras, table_size), emulate_sigmoid(ref, table_size)
        threshold, kind = SIGMOID_DECISION, f"sigmoid table > {SIGMOID_DECISION}"
    return keras, ref, threshold, kind


def _compare_with_keras(rtl: np.ndarray, keras: np.ndarray, ref: np.ndarray, n_out: int, threshold: float,
                        kind: str, output: str) -> dict[str, Any]:
    """The RTL's outputs (``output``: linear logits or sigmoid table values) against Keras
    bit for bit, and each against the integer reference."""
    diff = np.abs(rtl - keras)
    n_diff = int(np.count_nonzero(rtl != keras))
    return {
        "n_jets": int(len(rtl)),
        "n_outputs": int(n_out),
        "n_values": int(rtl.size),
        "n_differing": n_diff,
        "max_abs_diff": float(diff.max(initial=0.0)),
        "class_agreement": _agreement(rtl, keras, threshold),
        "class_agreement_kind": kind if n_out == 1 else "argmax",
        "output": output,
        "bit_exact": n_diff == 0,
        "n_differing_reference_vs_keras": int(np.count_nonzero(ref != keras)),
        "n_differing_rtl_vs_reference": int(np.count_nonzero(rtl != ref)),
    }


def _integer_view(model: Any, x: np.ndarray) -> tuple[Any, np.ndarray, Any]:
    """(the model's integer spec, the RTL's input codes, a function returning the exact
    reference outputs and, for QKeras, the relu ties they exercised)."""
    from fpgakd.learn.hgq_students import is_hgq_proxy

    if is_hgq_proxy(model):
        from fpgakd.firmware.rtl.hgq_proxy import extract_proxy, proxy_input_codes, proxy_reference

        spec = extract_proxy(model)
        codes = proxy_input_codes(model, spec, x)
        return spec, codes, lambda: (proxy_reference(spec, codes), {})
    spec = extract_student(model)
    codes = quantize_inputs(model, spec, x)

    def reference() -> tuple[np.ndarray, dict]:
        ref_codes, ties = reference_forward(spec, codes, return_ties=True)
        return ref_codes.astype(np.float64) * 2.0 ** -spec.out_f, ties
    return spec, codes, reference


def simulate_rtl(rtl_dir: str | os.PathLike, model: Any, inputs: np.ndarray, *, rebuild: bool = False,
                 threads: int | None = None, batch_size: int = 4096) -> dict[str, Any]:
    """Verilator-simulate the RTL on float (standardized) inputs and compare with ``model.predict``.

    The inputs go through the model's own input quantizer (TensorFlow), the integer codes
    drive the RTL, and every output is compared with Keras bit for bit (exact float64 of
    the RTL's fixed-point output vs float32 Keras logits, which are exact sums here).
    ``class_agreement`` is argmax agreement, or sign agreement for a 1-output regressor.
    ``rebuild=False`` reuses a binder already built in rtl_dir/sim.

    >>> s = simulate_rtl("runs/hlf_mlp/rtl", model, x_test[:10000])   # doctest: +SKIP
    >>> s["bit_exact"], s["n_differing"]                              # doctest: +SKIP
    (True, 0)
    """
    rtl_dir = Path(rtl_dir).resolve()
    meta = read_meta(rtl_dir)
    tools = check_rtl_tools(need=("da4ml", "verilator"))
    x = np.asarray(inputs, dtype=np.float32)
    spec, codes, reference = _integer_view(model, x)
    _check_design_matches(rtl_dir, meta, spec)
    jobs = max(1, min(2, os.cpu_count() or 1))
    lib, build_s = _build_binder(rtl_dir, meta, rebuild=rebuild, jobs=jobs)

    t0 = time.perf_counter()
    rtl = _run_binder(lib, rtl_dir, codes, spec.input_kif[2], spec.n_out, threads if threads is not None else jobs)
    sim_s = time.perf_counter() - t0
    keras = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64).reshape(len(x), -1)
    ref, ties = reference()
    keras, ref, threshold, kind = _expected_outputs(meta, keras, ref)
    summary = _compare_with_keras(rtl, keras, ref, spec.n_out, threshold, kind, meta.get("output", "linear"))
    summary.update({
        "relu_ties_exercised": ties,
        "latency_cycles": meta["latency_cycles"],
        "source": f"rtl (verilator {tools['verilator']}, da4ml {tools['da4ml']})",
        "tools": tools,
        "verilator_build_s": round(build_s, 2),
        "sim_s": round(sim_s, 3),
    })
    return summary
