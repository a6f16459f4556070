"""Firmware stage orchestration: a student model file -> a complete, checked HLS project.

:func:`hls4ml_config` is the one place where fpgakd's :class:`~fpgakd.config.FirmwareConfig`
becomes hls4ml's settings. :func:`convert_model` converts a student with hls4ml's QKeras
precision-propagation flow (``bit_exact=True``), so the firmware computes the same logits
as QKeras bit for bit. :func:`synthesize` writes the project atomically, checks it by
C-simulation against Keras (:mod:`fpgakd.firmware.csim`), runs HLS synthesis where a tool is on
PATH (or attaches a resource estimate, marked as one, where none is) and writes
``fpgakd_report.json`` next to a copy of the student file. :func:`synthesize_run` finds
the student and its held-out jets in a distillation run directory.

A float (non-QKeras) Keras model converts too, with hls4ml's default fixed-point types,
but cannot be bit-exact: its check uses ``csim.float_tolerance`` and a warning says so. An
HGQ student is synthesised as its proxy model (a distill run's ``student_kd_proxy.h5``):
the checks compare the firmware with the proxy's predictions, bit for bit, and the report's
``model.quantizer`` says which quantizer made the model.

Project layout written by :func:`synthesize` (``<project_dir>/``): hls4ml's project
(``firmware/``, ``<project>_test.cpp``, ``build_prj.tcl``, ...), ``tb_data/`` with the
held-out jets and Keras's logits, ``csim_exact.cpp`` and its binary, ``firmware.yaml``
(the resolved firmware config), the student ``.h5`` and ``fpgakd_report.json``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import FirmwareConfig, dump_config
from fpgakd.errors import ConfigError, DataError, MismatchError
from fpgakd.firmware.hls import (HLS_TOOLS, check_supported, convert_keras_model, find_hls_tool, is_quantized,
                                 load_keras, n_features, run_hls)
from fpgakd.firmware.report_schema import FPGAKD_REPORT_NAME as REPORT_NAME
from fpgakd.firmware.report_schema import ESTIMATE_KEYS, write_reports_json
from fpgakd.learn import rundir

__all__ = ["synthesize", "synthesize_run", "run_output", "REPORT_NAME"]

log = logging.getLogger(__name__)

#: seed of the random stand-in inputs used when no held-out jets are available
_RANDOM_INPUTS_SEED = 0


def _check_inputs(x: Any, n_inputs: int, source: str, model_source: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise DataError(f"{source}: expected held-out inputs of shape (n_samples, {n_inputs}), got shape {x.shape}")
    if x.shape[1] != n_inputs:
        raise DataError(f"{source}: {x.shape[1]} input features per sample, but {model_source} "
                        f"expects {n_inputs}")
    if len(x) == 0:
        raise DataError(f"{source}: no samples")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{source}: inputs contain NaN or infinite values")
    return np.ascontiguousarray(x, dtype=np.float32)


def _model_info(model: Any, source: str, quantized: bool) -> dict:
    from fpgakd.learn.students import count_parameters, weight_sparsity

    from fpgakd.firmware.hls import quantizer_of

    n_in, n_out = n_features(model)
    return {"name": model.name, "file": source, "n_inputs": n_in, "n_outputs": n_out,
            "quantized": quantized, "quantizer": quantizer_of(model), **count_parameters(model),
            "sparsity": weight_sparsity(model)}


def _keras_reference(model: Any, firmware: FirmwareConfig, test_x: np.ndarray, keras_logits: Any,
                     n_jets: int | None, source: str, inputs_source: str | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The held-out inputs the checks run on, and Keras's logits on them."""
    n_in, _ = n_features(model)
    x = _check_inputs(test_x, n_in, inputs_source or "test inputs", source)
    n_jets = firmware.csim.n_jets if n_jets is None else n_jets
    if n_jets < 1:
        raise DataError(f"n_jets: got {n_jets}, expected an integer >= 1")
    if len(x) < n_jets:
        log.warning("only %d held-out samples available for the C-simulation check (asked for %d)", len(x), n_jets)
    x = x[:n_jets]
    if keras_logits is None:
        keras_logits = model(x, training=False).numpy()
    keras_logits = np.asarray(keras_logits, dtype=np.float32)
    keras_logits = keras_logits.reshape(len(keras_logits), -1)[:len(x)]
    if len(keras_logits) != len(x):
        raise DataError(f"keras_logits: {len(keras_logits)} rows for {len(x)} samples")
    return x, keras_logits


def _csim_tolerance(quantized: bool, firmware: FirmwareConfig, allow_tolerance: float | None,
                    source: str) -> float:
    if allow_tolerance is not None:
        tolerance = float(allow_tolerance)
    elif quantized:
        tolerance = firmware.csim.tolerance
    else:
        tolerance = firmware.csim.float_tolerance
        log.warning("%s is a float model: the C-simulation check accepts |firmware - keras| up to "
                    "%g (csim.float_tolerance) instead of requiring bit-exact logits", source, tolerance)
    if tolerance < 0:
        raise DataError(f"allow_tolerance: got {tolerance}, expected a number >= 0")
    return tolerance


def _hls_numbers(model: Any, hls_model: Any, firmware: FirmwareConfig, part: str, tmp: Path,
                 csim_passed: bool, output: str, lut_cost: float | None = None) -> tuple[dict, list[str]]:
    """C synthesis where the HLS tool exists, else the labelled estimate (``lut_cost``: da4ml's
    cost of the RTL's trace, where it ran); with notes."""
    tool = find_hls_tool(firmware.backend)
    if not csim_passed:
        note = "C-simulation check failed: HLS synthesis skipped, RTL skipped; resources are an estimate"
        log.error("%s", note)
        return _estimate(model, firmware, part, output, lut_cost), [note]
    if tool is not None:
        return run_hls(hls_model, firmware, tool, tmp), []
    others = [t for b, ts in HLS_TOOLS.items() if b != firmware.backend for t in ts if shutil.which(t)]
    note = (f"no HLS tool for the {firmware.backend} backend on PATH (looked for "
            f"{', '.join(HLS_TOOLS[firmware.backend])}): HLS project written, not synthesised")
    if others:
        note += f" ({', '.join(others)} found on PATH: it needs another backend in the firmware config)"
    log.warning("%s", note)
    return _estimate(model, firmware, part, output, lut_cost), [note]


def _headline(hls: dict, rtl: dict | None) -> dict:
    """The report's main numbers: C synthesis, else the RTL's synthesized counts, else the
    estimate; the other sources stay in the report under their names."""
    report = dict(hls)
    if rtl is None:
        return report
    if hls.get("source") == "estimate" and rtl.get("resources", {}).get("LUT") is not None:
        report = {**hls, **rtl, "notes": list(hls.get("notes") or []) + list(rtl.get("notes") or [])}
        report["estimate"] = {k: hls.get(k) for k in ESTIMATE_KEYS}
        report.pop("lut_source", None)   # the headline's LUT is now the RTL's
    report["rtl"] = rtl
    return report


def _write_project_files(tmp: Path, project_dir: Path, model_path: Path, firmware: FirmwareConfig,
                         part: str, report: dict) -> None:
    shutil.copy2(model_path, tmp / model_path.name)
    # The firmware reads standardized inputs: the scaling must travel with the project.
    scaling = rundir.standardization_file(model_path.parent)
    if scaling is not None:
        shutil.copy2(scaling, tmp / scaling.name)
        report["standardization"] = scaling.name
    dump_config(dataclasses.replace(firmware, part=part), tmp / "firmware.yaml")
    _fix_output_dir(tmp, project_dir)
    write_reports_json(report, tmp / REPORT_NAME)


def _convert_to_hls(model: Any, source: str, firmware: FirmwareConfig, part: str, tmp: Path,
                    project_name: str, output: str) -> Any:
    """Convert the student with hls4ml and write its project into ``tmp``."""
    hls_model = convert_keras_model(model, source, firmware, part, tmp, project_name, output)
    with contextlib.redirect_stdout(io.StringIO()):
        hls_model.write()
    return hls_model


def _remove_bridge_libraries(tmp: Path, project_name: str) -> None:
    # the bridge library is built against the temporary path; hls_model.compile() rebuilds it
    for lib in (tmp / "firmware").glob(f"{project_name}-*.so"):
        lib.unlink()


def _build_and_check(tmp: Path, model: Any, source: str, x: np.ndarray, keras_logits: np.ndarray,
                     tolerance: float, firmware: FirmwareConfig, part: str, project_name: str,
                     output: str, progress: bool) -> tuple[dict, dict, dict | None, list[str]]:
    """Convert, C-simulate, synthesise (or estimate) and build the RTL in ``tmp``, one
    progress step each; returns the C-simulation summary, the HLS numbers, the RTL block
    (None where skipped) and the notes of both.

    The RTL is written and Yosys started before the C-simulation, which runs while Yosys
    does (Yosys takes the longest, on one core); a failed C-simulation stops Yosys and
    drops the RTL, as if it had never been started.
    """
    from tqdm.auto import tqdm

    from fpgakd.firmware.rtl_report import start_rtl_numbers

    with tqdm(total=4, desc="firmware", disable=not progress) as steps:
        steps.set_postfix_str("convert")
        hls_model = _convert_to_hls(model, source, firmware, part, tmp, project_name, output)
        steps.set_postfix_str("RTL: da4ml, start Yosys")
        with start_rtl_numbers(model, x, firmware, part, tmp, output) as rtl:
            steps.update()
            steps.set_postfix_str("C-simulation")
            csim = _check_csim(tmp, hls_model, model, x, keras_logits, tolerance, firmware, output)
            _remove_bridge_libraries(tmp, project_name)
            steps.update()
            steps.set_postfix_str("HLS synthesis")
            hls, notes = _hls_numbers(model, hls_model, firmware, part, tmp, csim["passed"], output,
                                      rtl.lut_cost)
            steps.update()
            steps.set_postfix_str("RTL: Verilator, Yosys")
            rtl_block, rtl_notes = rtl.finish() if csim["passed"] else rtl.cancel()
            steps.update()
    return csim, hls, rtl_block, notes + rtl_notes


def _assemble_report(hls: dict, rtl_block: dict | None, csim: dict, notes: list[str], *, model: Any,
                     model_path: Path, quantized: bool, firmware: FirmwareConfig, part: str,
                     project_dir: Path, project_name: str, inputs_source: str | None,
                     accuracy: dict | float | None, output: str) -> dict:
    """The headline numbers with the checks, the model, the firmware settings and the notes."""
    report = _headline(hls, rtl_block)
    report.setdefault("part", part)
    report.setdefault("clock_ns", round(firmware.clock_period_ns, 3))
    report["csim"] = {**csim, **({"inputs": inputs_source} if inputs_source else {})}
    report["model"] = {**_model_info(model, model_path.name, quantized), "output": output}
    report["firmware"] = {"name": firmware.name, "backend": firmware.backend,
                          "io_type": firmware.io_type, "strategy": firmware.strategy,
                          "reuse_factor": firmware.reuse_factor,
                          "bit_exact": bool(firmware.bit_exact and quantized)}
    report["project"], report["project_name"] = str(project_dir), project_name
    if accuracy is not None:
        report["accuracy"] = accuracy
    report["notes"] = list(report.get("notes") or []) + notes
    return report


def _raise_on_mismatch(project_dir: Path, csim: dict, rtl_block: dict | None) -> None:
    """MismatchError if the C-simulation or the RTL simulation differs from Keras."""
    if not csim["passed"]:
        raise MismatchError(f"{project_dir}: {csim['text']} (project and {REPORT_NAME} written for inspection)")
    if rtl_block is not None and not rtl_block["rtl_sim"]["bit_exact"]:
        sim = rtl_block["rtl_sim"]
        raise MismatchError(f"{project_dir}: RTL simulation differs from Keras on {sim['n_differing']} of "
                            f"{sim['n_values']} values (max |diff| {sim['max_abs_diff']:g}, class agreement "
                            f"{sim['class_agreement']:.6f}); project and {REPORT_NAME} written for inspection")


def synthesize(model_path: str | os.PathLike, *, firmware: FirmwareConfig, part: str | None = None,
               project_dir: str | os.PathLike, test_x: np.ndarray, keras_logits: np.ndarray | None = None,
               n_jets: int | None = None, allow_tolerance: float | None = None,
               project_name: str = "myproject", inputs_source: str | None = None,
               accuracy: dict | float | None = None, rtl: bool | None = None,
               output: str = "linear", progress: bool = True) -> dict:
    """Write, check and synthesise the firmware of a student: HLS project and RTL.

    Steps: convert with hls4ml (:func:`~fpgakd.firmware.hls.convert_keras_model`) and write
    the project into ``project_dir`` atomically (nothing half-written remains on failure);
    check it by C-simulation (:func:`fpgakd.firmware.csim.run_csim`) on the first ``n_jets``
    (default ``firmware.csim.n_jets``) rows of ``test_x`` -- the student's standardized
    held-out inputs -- against Keras's logits (computed if ``keras_logits`` is None); run
    hls4ml's build if the backend's HLS tool is on PATH, or attach the labelled estimate;
    then, where the RTL tools are installed and ``rtl`` (default ``firmware.rtl.enabled``)
    allows, write the RTL into ``project_dir/rtl``, check it with Verilator on the same
    jets and count its cells with Yosys (:mod:`fpgakd.firmware.rtl_report`). The
    normalised report, with ``csim``, ``model`` and the student's ``accuracy`` added, is
    written to ``<project_dir>/fpgakd_report.json`` next to a copy of the model file.

    The tolerance is ``allow_tolerance`` if given, else ``firmware.csim.tolerance``, or
    ``firmware.csim.float_tolerance`` for a float model. With ``output="sigmoid"`` hls4ml's
    sigmoid table follows the logit (:mod:`fpgakd.firmware.sigmoid`): the firmware output is
    checked against the emulated table of Keras's logits, and the firmware's own logit
    (traced in hls4ml's bridge) against Keras's logit. If the C-simulation or the RTL
    simulation differs from Keras, the project and report are still written (so the user
    can inspect them) and then :class:`~fpgakd.errors.MismatchError` is raised. A failing
    tool raises :class:`~fpgakd.errors.ToolError` and leaves no project.

    >>> report = synthesize("runs/hlf_mlp/student_kd.h5", firmware=load_firmware_config(),
    ...                     project_dir="hls_projects/hlf_mlp", test_x=x)   # doctest: +SKIP
    >>> report["csim"]["bit_exact"], report["source"]                        # doctest: +SKIP
    (True, 'rtl')
    """
    from fpgakd.atomic import atomic_dir

    model_path, project_dir = Path(model_path), Path(project_dir)
    part = firmware.resolve_part(part)
    if rtl is not None:
        firmware = dataclasses.replace(firmware, rtl=dataclasses.replace(firmware.rtl, enabled=rtl))
    model, source = load_keras(model_path)
    check_supported(model, source)
    x, keras_logits = _keras_reference(model, firmware, test_x, keras_logits, n_jets, source, inputs_source)
    quantized = is_quantized(model)
    tolerance = _csim_tolerance(quantized, firmware, allow_tolerance, source)
    with atomic_dir(project_dir) as tmp:
        csim, hls, rtl_block, notes = _build_and_check(tmp, model, source, x, keras_logits, tolerance, firmware,
                                                       part, project_name, output, progress)
        report = _assemble_report(hls, rtl_block, csim, notes, model=model, model_path=model_path,
                                  quantized=quantized, firmware=firmware, part=part, project_dir=project_dir,
                                  project_name=project_name, inputs_source=inputs_source,
                                  accuracy=accuracy, output=output)
        _write_project_files(tmp, project_dir, model_path, firmware, part, report)
    log.info("HLS project written to %s", project_dir)
    _raise_on_mismatch(project_dir, csim, rtl_block)
    return report


def _check_csim(tmp: Path, hls_model: Any, model: Any, x: np.ndarray, keras_logits: np.ndarray,
                tolerance: float, firmware: FirmwareConfig, output: str) -> dict:
    """:func:`run_csim` against Keras; for a sigmoid output against the emulated table, plus
    the firmware's logit against Keras's (both must pass)."""
    from fpgakd.firmware.csim import compare_outputs, run_csim, trace_layer_output
    from fpgakd.firmware.hls import traced_logit_layer

    if output != "sigmoid":
        return run_csim(tmp, hls_model, x, keras_logits, tolerance=tolerance, raise_on_mismatch=False)
    from fpgakd.firmware.sigmoid import SIGMOID_DECISION, emulate_sigmoid, sigmoid_table_error

    size = firmware.sigmoid_table_size
    # one traced build of the bridge gives both its output and its logit
    bridge, fw_logits = trace_layer_output(hls_model, x, traced_logit_layer(model, hls_model))
    logit = compare_outputs(fw_logits, keras_logits, tolerance=tolerance)
    csim = run_csim(tmp, hls_model, x, emulate_sigmoid(keras_logits, size), tolerance=tolerance,
                    raise_on_mismatch=False, threshold=SIGMOID_DECISION, bridge_output=bridge)
    csim["sigmoid"] = {"table_size": size, "logit": logit,
                       "table_max_abs_error": sigmoid_table_error(keras_logits, size)}
    csim["text"] += (f"; sigmoid table of {size} entries after the logit (checked against its numpy "
                     f"emulation); firmware logit (bridge): {logit['n_different']} of {keras_logits.size} "
                     f"differ from Keras; table vs float sigmoid: max |diff| "
                     f"{csim['sigmoid']['table_max_abs_error']:.3g}")
    if logit["n_beyond_tolerance"]:
        csim["passed"] = False
    csim["bit_exact"] = csim["bit_exact"] and logit["n_different"] == 0
    return csim


def _estimate(model: Any, firmware: FirmwareConfig, part: str, output: str, lut_cost: float | None = None) -> dict:
    """The labelled estimate: FF, DSP and latency priced as hls4ml's HLS build, the LUT from the
    calibrated da4ml cost model (:mod:`fpgakd.firmware.cost_model`) where da4ml traces the model
    (``lut_cost``: its cost from a trace already made)."""
    from fpgakd.firmware.cost_model import apply_cost_model
    from fpgakd.firmware.estimate import estimate_resources
    from fpgakd.firmware.report_schema import new_report

    firmware = dataclasses.replace(firmware, part=part)   # utilization against the chosen part
    unpriced = None
    try:
        report = dict(estimate_resources(model, firmware, output=output))
    except ConfigError as err:
        # the estimate covers one flow only; the project is still worth writing without numbers
        unpriced = err
        report = new_report(source="estimate", part=part, clock_ns=round(firmware.clock_period_ns, 3),
                            available=firmware.resources_of(part))
        report["notes"] = [f"no resource estimate for this flow: {err}"]
    report = apply_cost_model(report, model, firmware, output, cost=lut_cost)
    if unpriced is not None:
        # an HGQ student is priced by the cost model alone, as expected: a warning only without a LUT
        priced = "lut_source" in report
        log.log(logging.INFO if priced else logging.WARNING, "no HLS-priced estimate (FF, DSP, latency)%s: %s",
                "; its LUT from the da4ml cost model" if priced else "", unpriced)
    return report


def _fix_output_dir(tmp: Path, project_dir: Path) -> None:
    # hls4ml records its output directory, the temporary one; point it at the final place
    cfg = tmp / "hls4ml_config.yml"
    if cfg.is_file():
        cfg.write_text(cfg.read_text().replace(str(tmp), str(project_dir.resolve())))


# ---------------------------------------------------------------- run directories
def _find_model(path: Path) -> Path:
    if path.is_dir():
        return rundir.find_student_file(path)
    if path.is_file():
        return path
    raise DataError(f"{path}: no such run directory or model file")


def _load_inputs(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{path}: inputs file not found")
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable .npy array ({err})") from None
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{path}: expected numbers, got dtype {x.dtype}")
    return x


def synthesize_run(run_dir_or_model: str | os.PathLike, *, firmware: FirmwareConfig, part: str | None = None,
                   hls_root: str | os.PathLike = "hls_projects", name: str | None = None,
                   inputs: str | os.PathLike | None = None, n_jets: int | None = None,
                   allow_tolerance: float | None = None, rtl: bool | None = None,
                   output: str | None = None, progress: bool = True) -> dict:
    """:func:`synthesize` the student of a distillation run (or a bare model file).

    A run directory holds ``student_kd.h5`` (synthesised; ``student_scratch.h5`` if there
    is no KD student) and ``test_inputs.npy``, the run's standardized held-out inputs,
    used for the C-simulation check. For a model file, ``test_inputs.npy`` next to it is
    used if present. ``inputs`` (a ``.npy`` of standardized inputs) overrides both; with
    none of them, random standard-normal inputs stand in, with a warning. The project goes
    to ``<hls_root>/<name>``; ``name`` defaults to the run directory's name, or the model
    file's stem. ``output`` (``linear`` | ``sigmoid``: what follows the logit in firmware)
    defaults to the ``output`` of the run's ``config.yaml`` (next to the model), else linear.

    >>> synthesize_run("runs/hlf_mlp", firmware=load_firmware_config(), part="xcvu13p")  # doctest: +SKIP
    """
    path = Path(run_dir_or_model)
    model_path = _find_model(path)
    if name is None:
        name = path.name if path.is_dir() else model_path.stem
    n_jets = firmware.csim.n_jets if n_jets is None else n_jets
    run_inputs = rundir.run_inputs_file(model_path.parent)
    if inputs is not None:
        source = Path(inputs)
        x = _load_inputs(source)
    elif run_inputs is not None:
        source = run_inputs
        x = _load_inputs(source)
    else:
        from fpgakd.learn.students import load_student

        n_in, _ = n_features(load_student(model_path))
        log.warning("%s: no held-out inputs (%s) next to the model and no inputs file given: the "
                    "C-simulation check uses %d random standard-normal inputs instead of real held-out samples",
                    model_path, rundir.HELDOUT_INPUTS_FILE, n_jets)
        x = np.random.default_rng(_RANDOM_INPUTS_SEED).standard_normal((n_jets, n_in)).astype(np.float32)
        source = None
    return synthesize(model_path, firmware=firmware, part=part, project_dir=Path(hls_root) / name,
                      test_x=x, n_jets=n_jets, allow_tolerance=allow_tolerance,
                      inputs_source=str(source) if source is not None else "random standard-normal",
                      accuracy=_run_accuracy(model_path), rtl=rtl,
                      output=output or run_output(model_path), progress=progress)


def run_output(model_path: Path) -> str:
    """``output`` of the run's config.yaml next to the model: what follows the logit in firmware.

    >>> run_output(Path("runs/hlf_top_regressor/student_kd.h5"))    # doctest: +SKIP
    'sigmoid'
    """
    config = rundir.run_config_file(model_path.parent)
    if config is None:
        return "linear"
    from fpgakd.config import load_model_config

    return load_model_config(config).output


def _run_accuracy(model_path: Path) -> dict | None:
    """Test accuracy (and AUC) of this student from its run's metrics.json, if there is one."""
    metrics_path = rundir.run_metrics_file(model_path.parent)
    mode = rundir.student_mode(model_path)
    if mode is None or not metrics_path.is_file():
        return None
    try:
        student = json.loads(metrics_path.read_text()).get(mode) or {}
    except (OSError, ValueError) as err:
        log.warning("%s: unreadable (%s); the report carries no accuracy", metrics_path, err)
        return None
    accuracy = {"accuracy": student.get("accuracy")}
    auc = student.get("auc")
    if isinstance(auc, dict):
        accuracy.update({f"auc_{k}": v for k, v in auc.items()})
    elif isinstance(auc, (int, float)):
        accuracy["auc"] = auc
    return accuracy
