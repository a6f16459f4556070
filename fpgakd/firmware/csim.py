"""C-simulation check: the firmware's outputs against the Keras model's, value by value.

Two independent C++ builds of the same HLS project are compared with Keras on the same
held-out jets:

* the **testbench**: hls4ml's own ``<project>_test.cpp`` (the program ``csim_design``
  runs inside Vitis/Vivado HLS), compiled with g++ against the ``ap_types`` headers the
  project ships. It prints 6 significant digits by default, which hides differences, so a
  copy, ``csim_exact.cpp``, sets the output stream's precision high enough that the
  ``ap_fixed`` printer writes each output's *exact* decimal value. The project's own
  ``<project>_test.cpp`` stays untouched for the HLS tool. The binary ``csim_exact`` runs
  in the project directory and writes ``tb_data/csim_results.log``.
* the **bridge**: hls4ml's compiled shared library (``hls_model.compile()``), called
  through ``hls_model.predict``.

Data contract: ``x`` is ``(n_jets, n_features)`` float32 (the student's standardized
inputs), ``keras_logits`` is ``(n_jets, n_outputs)`` (the Keras model's output on ``x``).
A logit counts as mismatching if ``|firmware - keras| > tolerance``; with tolerance 0 that
is any difference at all (bit-exact check).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np

from fpgakd.errors import DataError, FpgakdError, MismatchError, ToolError
from fpgakd.firmware.build_cache import build_key, restore_build, store_build
from fpgakd.firmware.tool_output import output_tail

__all__ = ["run_csim", "trace_layer_output", "write_testbench_data", "build_exact_testbench", "compare_outputs",
           "format_csim_summary", "TB_INPUTS", "TB_PREDICTIONS", "TB_RESULTS", "EXACT_TESTBENCH"]

log = logging.getLogger(__name__)

#: testbench files, relative to the project directory (names fixed by hls4ml's testbench)
TB_INPUTS = "tb_data/tb_input_features.dat"
TB_PREDICTIONS = "tb_data/tb_output_predictions.dat"
TB_RESULTS = "tb_data/csim_results.log"
#: the patched testbench copy (source name without .cpp is the binary's name)
EXACT_TESTBENCH = "csim_exact"

#: ap_fixed's printer writes min(exact digits, stream precision) significant digits; this
#: exceeds the exact decimal length of any ap_fixed value (at most width + 1 digits), so the
#: printed value is exact.
_EXACT_DIGITS = 4096
#: the line of hls4ml's testbench after which the output stream exists
_FOUT_ANCHOR = "std::ofstream fout(RESULTS_LOG);"
#: g++ flags: those of hls4ml's build_lib.sh, at the C++ standard the HLS tools' csim uses
_CXXFLAGS = ("-O2", "-std=c++14")
#: lines of a failing tool's output quoted in the error
_TAIL_LINES = 30
#: float32 in and out: 9 significant digits are not enough once parsed through a double,
#: 17 always round-trip (the testbench reads with atof and narrows to float)
_DAT_FORMAT = "%.17g"
#: jets per call of the bridge, only so that the progress bar moves
_BRIDGE_CHUNK = 1000


def _tail(text: str) -> str:
    return output_tail(text, _TAIL_LINES)


def _run_checked(cmd: list[str], project_dir: Path, failure: Callable[[int], str]) -> subprocess.CompletedProcess:
    """Run ``cmd`` in the project directory; a non-zero exit raises ToolError with
    ``failure(exit status)`` and the last lines of the output."""
    proc = subprocess.run(cmd, cwd=project_dir, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolError(f"{failure(proc.returncode)}:\n{_tail(proc.stdout + proc.stderr)}")
    return proc


def write_testbench_data(project_dir: str | os.PathLike, x: np.ndarray, keras_logits: np.ndarray) -> None:
    """Write ``tb_data/tb_input_features.dat`` and ``tb_output_predictions.dat``.

    Values are written with 17 significant digits so the testbench reads back exactly the
    float32 inputs Keras saw.

    >>> write_testbench_data("hls_projects/hlf_mlp", x, model.predict(x))   # doctest: +SKIP
    """
    project_dir = Path(project_dir)
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    y = np.asarray(keras_logits, dtype=np.float32).reshape(len(keras_logits), -1)
    if len(x) != len(y):
        raise DataError(f"{project_dir}: {len(x)} input rows but {len(y)} rows of Keras predictions")
    (project_dir / "tb_data").mkdir(parents=True, exist_ok=True)
    np.savetxt(project_dir / TB_INPUTS, x.astype(np.float64), fmt=_DAT_FORMAT)
    np.savetxt(project_dir / TB_PREDICTIONS, y.astype(np.float64), fmt=_DAT_FORMAT)


def build_exact_testbench(project_dir: str | os.PathLike, project_name: str = "myproject") -> Path:
    """Compile a full-precision copy of the project's testbench with g++; return the binary.

    ``<project>_test.cpp`` is copied to ``csim_exact.cpp`` with the result stream's
    precision raised so every output is printed exactly; the original stays as hls4ml
    wrote it. Weights are read from ``firmware/weights`` relative to the project directory,
    so a project whose sources preprocess to the same text takes the binary from fpgakd's
    cache (:mod:`fpgakd.firmware.build_cache`).

    >>> build_exact_testbench("hls_projects/hlf_mlp")                        # doctest: +SKIP
    PosixPath('hls_projects/hlf_mlp/csim_exact')
    """
    project_dir = Path(project_dir)
    gxx = shutil.which("g++")
    if gxx is None:
        raise ToolError("g++ not found on PATH: it is needed to compile the C-simulation testbench")
    source = project_dir / f"{project_name}_test.cpp"
    if not source.is_file():
        raise DataError(f"{source}: testbench not found; is {project_dir} an hls4ml project?")
    text = source.read_text()
    if _FOUT_ANCHOR not in text:
        raise FpgakdError(f"{source}: line '{_FOUT_ANCHOR}' not found; this hls4ml testbench "
                          "layout is not supported by the exact C-simulation check")
    text = "#include <iomanip>\n" + text.replace(
        _FOUT_ANCHOR, f"{_FOUT_ANCHOR}\n    fout << std::setprecision({_EXACT_DIGITS});", 1)
    (project_dir / f"{EXACT_TESTBENCH}.cpp").write_text(text)
    flags = [*_CXXFLAGS, "-Ifirmware/ap_types", "-Ifirmware", '-DWEIGHTS_DIR="firmware/weights"']
    sources = [f"{EXACT_TESTBENCH}.cpp", f"firmware/{project_name}.cpp"]
    binary = project_dir / EXACT_TESTBENCH
    key = build_key(gxx, flags, sources, project_dir)
    if restore_build(key, binary):
        log.info("%s: the testbench from fpgakd's cache (the same sources, flags and compiler)", binary)
        return binary
    log.info("compiling %s/%s.cpp with g++", project_dir, EXACT_TESTBENCH)
    _run_checked([gxx, *flags, *sources, "-o", EXACT_TESTBENCH], project_dir,
                 lambda code: f"g++ failed (exit {code}) compiling {project_dir}/{EXACT_TESTBENCH}.cpp")
    store_build(binary, key)
    return binary


def _run_testbench(project_dir: Path, n_jets: int) -> np.ndarray:
    results = project_dir / TB_RESULTS
    results.unlink(missing_ok=True)
    proc = _run_checked([f"./{EXACT_TESTBENCH}"], project_dir,
                        lambda code: f"C-simulation testbench {project_dir}/{EXACT_TESTBENCH} failed (exit {code})")
    if not results.is_file():
        raise ToolError(f"{results}: the testbench wrote no results:\n{_tail(proc.stdout + proc.stderr)}")
    rows = [line.split() for line in results.read_text().splitlines() if line.strip()]
    try:
        out = np.array(rows, dtype=np.float64)
    except ValueError:
        raise ToolError(f"{results}: rows of unequal length or non-numeric values") from None
    if out.ndim != 2 or len(out) != n_jets:
        raise ToolError(f"{results}: expected {n_jets} rows of outputs, found {len(out)}")
    return out


def _hls4ml_quietly(hls_model: Any, verb: str, call: Callable[[], Any]) -> tuple[Any, str]:
    """``call()`` with hls4ml's prints captured: its result and what it printed. hls4ml raises
    bare exceptions and prints g++'s output, so a failure becomes a ToolError quoting that."""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            result = call()
    except Exception as err:
        raise ToolError(f"hls4ml could not {verb} {hls_model.config.get_output_dir()} "
                        f"({err}):\n{_tail(buf.getvalue())}") from None
    return result, buf.getvalue()


def _write_project(hls_model: Any) -> None:
    """hls4ml's sources, written once before both builds read them (``compile()`` would
    write them again while the testbench compiles)."""
    _hls4ml_quietly(hls_model, "write", hls_model.write)


def _run_bridge(hls_model: Any, x: np.ndarray, progress: bool) -> np.ndarray:
    """Compile the written project into hls4ml's bridge library and run ``x`` through it."""
    from tqdm.auto import tqdm

    # compile() without its write(): the sources are written (_write_project)
    _, printed = _hls4ml_quietly(hls_model, "compile", hls_model._compile)
    log.debug("hls4ml compile output:\n%s", printed)
    chunks = np.array_split(x, max(1, len(x) // _BRIDGE_CHUNK))
    out = [np.asarray(hls_model.predict(np.ascontiguousarray(c))).reshape(len(c), -1)
           for c in tqdm(chunks, desc="hls4ml bridge", disable=not progress, leave=False)]
    return np.concatenate(out).astype(np.float64)


def _classes(logits: np.ndarray, threshold: float) -> np.ndarray:
    # one output: a binary decision, logit > 0 (or sigmoid output > 0.5)
    return logits[:, 0] > threshold if logits.shape[1] == 1 else np.argmax(logits, axis=1)


def compare_outputs(firmware_out: np.ndarray, keras_logits: np.ndarray, *, tolerance: float = 0.0,
                    threshold: float = 0.0) -> dict:
    """Compare one firmware output with Keras: mismatches, max |difference|, class agreement.

    A single output's class is ``output > threshold``: 0 for a logit, 0.5 for a sigmoid.

    >>> compare_outputs(np.array([[0.5, 1.0]]), np.array([[0.5, 1.25]]))["n_different"]
    1
    """
    fw = np.asarray(firmware_out, dtype=np.float64)
    ref = np.asarray(keras_logits, dtype=np.float64).reshape(fw.shape)
    diff = np.abs(fw - ref)
    return {
        "n_different": int(np.count_nonzero(diff)),
        "n_beyond_tolerance": int(np.count_nonzero(diff > tolerance)),
        "max_abs_diff": float(diff.max()) if diff.size else 0.0,
        "class_agreement": float(np.mean(_classes(fw, threshold) == _classes(ref, threshold))) if len(fw) else 1.0,
    }


def format_csim_summary(summary: dict) -> str:
    """One paragraph a user reads: jets compared, bit-exact or not, mismatches, class agreement.

    >>> format_csim_summary(summary)                                          # doctest: +SKIP
    'C-simulation on 10000 samples x 5 outputs: bit-exact ...'
    """
    parts = []
    for name in ("testbench", "bridge"):
        r = summary[name]
        parts.append(f"{name}: {r['n_different']} of {summary['n_values']} values differ "
                     f"(max |diff| {r['max_abs_diff']:.3g}), class agreement {r['class_agreement']:.4f}")
    verdict = ("bit-exact" if summary["bit_exact"] else
               f"within tolerance {summary['tolerance']:g}" if summary["passed"] else
               f"MISMATCH beyond tolerance {summary['tolerance']:g}")
    return (f"C-simulation on {summary['n_jets']} samples x {summary['n_outputs']} outputs: {verdict}; "
            + "; ".join(parts))


def _csim_arrays(project_dir: Path, x: np.ndarray, keras_logits: np.ndarray,
                 tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """The inputs as contiguous float32 rows and Keras's logits as float32 rows, checked."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(len(x), -1))
    keras_logits = np.asarray(keras_logits, dtype=np.float32).reshape(len(keras_logits), -1)
    if len(x) == 0:
        raise DataError(f"{project_dir}: no jets given for the C-simulation check")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    return x, keras_logits


def _run_exact_testbench(project_dir: Path, project_name: str, x: np.ndarray,
                         keras_logits: np.ndarray) -> np.ndarray:
    """Write the testbench data, compile the exact testbench and run it on ``x``."""
    write_testbench_data(project_dir, x, keras_logits)
    build_exact_testbench(project_dir, project_name)
    log.info("running the C-simulation testbench on %d jets", len(x))
    return _run_testbench(project_dir, len(x))


def _check_output_shapes(project_dir: Path, keras_logits: np.ndarray, **outputs: np.ndarray) -> None:
    for name, out in outputs.items():
        if out.shape != keras_logits.shape:
            raise ToolError(f"{project_dir}: {name} gave outputs of shape {out.shape}, "
                            f"Keras {keras_logits.shape}")


def _summarize_csim(testbench: np.ndarray, bridge: np.ndarray, keras_logits: np.ndarray, tolerance: float,
                    threshold: float) -> dict:
    """Both builds compared with Keras, the worst of the two, the verdicts and the text."""
    per = {"testbench": compare_outputs(testbench, keras_logits, tolerance=tolerance, threshold=threshold),
           "bridge": compare_outputs(bridge, keras_logits, tolerance=tolerance, threshold=threshold)}
    summary = {
        "n_jets": int(len(keras_logits)),
        "n_outputs": int(keras_logits.shape[1]),
        "n_values": int(keras_logits.size),
        "tolerance": float(tolerance),
        **per,
        "n_different": max(r["n_different"] for r in per.values()),
        "mismatches": max(r["n_beyond_tolerance"] for r in per.values()),
        "max_abs_diff": max(r["max_abs_diff"] for r in per.values()),
        "class_agreement": min(r["class_agreement"] for r in per.values()),
    }
    summary["bit_exact"] = summary["n_different"] == 0
    summary["passed"] = summary["mismatches"] == 0
    summary["text"] = format_csim_summary(summary)
    return summary


def run_csim(project_dir: str | os.PathLike, hls_model: Any, x: np.ndarray, keras_logits: np.ndarray,
             *, tolerance: float = 0.0, raise_on_mismatch: bool = True, progress: bool = False,
             threshold: float = 0.0, bridge_output: np.ndarray | None = None) -> dict:
    """Run the testbench and the hls4ml bridge on ``x`` and compare both with ``keras_logits``.

    ``keras_logits`` is the expected firmware output: Keras's logits, or for a sigmoid
    output their emulated table values (:func:`fpgakd.firmware.sigmoid.emulate_sigmoid`,
    with ``threshold=0.5`` for the one-output decision). ``bridge_output``: the bridge's
    outputs on ``x`` already computed (:func:`trace_layer_output`), so it is not compiled again.

    Writes the project and the testbench data, compiles the bridge (hls4ml's ``compile()``)
    and the exact testbench side by side, runs both, and returns a summary: ``n_jets``,
    ``n_outputs``, ``n_values``, ``tolerance``, per build (``testbench``, ``bridge``) the
    number of differing values, the number beyond tolerance, max |difference| and class
    agreement, plus the worst of the two (``n_different``, ``mismatches``, ``max_abs_diff``,
    ``class_agreement``), ``bit_exact``
    (no value differs in either) and ``passed`` (none beyond tolerance). If not ``passed``
    and ``raise_on_mismatch``, raises :class:`~fpgakd.errors.MismatchError` with the summary.

    >>> run_csim("hls_projects/hlf_mlp", hls_model, x, model.predict(x))["bit_exact"]  # doctest: +SKIP
    True
    """
    project_dir = Path(project_dir)
    x, keras_logits = _csim_arrays(project_dir, x, keras_logits, tolerance)
    project_name = hls_model.config.get_project_name()

    if bridge_output is None:
        # the two builds are independent g++ runs on the same sources: side by side
        _write_project(hls_model)
        with ThreadPoolExecutor(max_workers=1) as pool:
            testbench_job = pool.submit(_run_exact_testbench, project_dir, project_name, x, keras_logits)
            bridge = _run_bridge(hls_model, x, progress)
            testbench = testbench_job.result()
    else:
        bridge = np.asarray(bridge_output, dtype=np.float64).reshape(len(x), -1)
        testbench = _run_exact_testbench(project_dir, project_name, x, keras_logits)
    _check_output_shapes(project_dir, keras_logits, testbench=testbench, bridge=bridge)
    summary = _summarize_csim(testbench, bridge, keras_logits, tolerance, threshold)
    (log.info if summary["passed"] else log.error)("%s", summary["text"])
    if not summary["passed"] and raise_on_mismatch:
        raise MismatchError(f"{project_dir}: {summary['text']}")
    return summary


def trace_layer_output(hls_model: Any, x: np.ndarray, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """The bridge's output and one layer's output in it (the layer needs ``Trace: True``).

    Compiles hls4ml's bridge with tracing and runs ``x`` in double precision, so every
    fixed-point value comes back exactly; the project is written again without tracing
    afterwards (the bridge output can go to :func:`run_csim` as ``bridge_output``).

    >>> out, logits = trace_layer_output(hls_model, x, "output")       # doctest: +SKIP
    >>> logits[:2]                                                      # doctest: +SKIP
    array([[ 0.25 ], [-1.125]])
    """
    def trace_then_write_untraced() -> tuple[Any, dict]:
        result = hls_model.trace(np.ascontiguousarray(np.asarray(x, dtype=np.float64)))
        hls_model.config.trace_output = False
        hls_model.write()
        return result

    (out, traced), _ = _hls4ml_quietly(hls_model, "trace", trace_then_write_untraced)
    if layer not in traced:
        raise ToolError(f"hls4ml traced no output for layer '{layer}' (traced: {', '.join(traced) or 'none'})")
    return (np.asarray(out, dtype=np.float64).reshape(len(x), -1),
            np.asarray(traced[layer], dtype=np.float64).reshape(len(x), -1))
