"""How well does da4ml's own LUT estimate, calibrated, predict Yosys's LUT count?

Builds students of every family (hlf_mlp, hybrid_mlp, constituent_mlp with 8-bit QKeras
pruned by hand to a sparsity; hlf_hgq, hybrid_hgq with HGQ, through their proxy models)
at hidden widths from one 4-wide layer to 64-32-32, trains each briefly on a generated jet
file (hard labels, a few epochs: trained weights, and for HGQ trained bit widths, which
random weights do not have), traces it with da4ml (``estimated_lut_cost``, seconds) and
synthesizes its RTL with fpgakd's Yosys script. Writes one row per student to
``docs/results/cost_model.csv`` (atomically, after each student: a killed run resumes
where it stopped, students already in the CSV are skipped), then fits
``LUT = scale * cost + offset`` (least squares on the relative error) and prints the fit
and its median and worst absolute error: the constants of :mod:`fpgakd.firmware.cost_model`.

    python benchmarks/bench_cost_model.py --jets jets500.h5      # fpgakd generate --jets-per-class 500
    python benchmarks/bench_cost_model.py --fit-only
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CSV_PATH = Path(__file__).resolve().parents[1] / "docs" / "results" / "cost_model.csv"
COLUMNS = ("student", "family", "quantizer", "hidden", "sparsity", "da4ml_cost", "fit_lut", "yosys_lut",
           "error", "hls_estimate_lut", "hls_estimate_error", "reg_bits", "yosys_ff", "carry4", "trace_s", "yosys_s")

#: (family, hidden widths, sparsity of the QKeras kernels; HGQ prunes by itself): small first
STUDENTS: tuple[tuple[str, tuple[int, ...], float], ...] = (
    ("hlf_mlp", (4,), 0.5), ("hlf_mlp", (8,), 0.75), ("hybrid_mlp", (8,), 0.75),
    ("constituent_mlp", (8,), 0.75), ("hlf_hgq", (8,), 0.0), ("hybrid_hgq", (8,), 0.0),
    ("hlf_mlp", (16,), 0.5), ("hlf_mlp", (16, 8), 0.9), ("hybrid_mlp", (16, 8), 0.75),
    ("constituent_mlp", (16,), 0.9), ("hlf_hgq", (16, 8), 0.0), ("hybrid_hgq", (16,), 0.0),
    ("hlf_mlp", (16, 8), 0.75), ("constituent_mlp", (16, 8), 0.75), ("hybrid_mlp", (32,), 0.9),
    ("hlf_mlp", (32, 16), 0.75), ("hybrid_mlp", (32, 16), 0.5), ("constituent_mlp", (32, 16), 0.9),
    ("hlf_hgq", (32, 16), 0.0), ("hybrid_hgq", (32, 16), 0.0), ("hlf_mlp", (32, 16, 16), 0.9),
    ("hybrid_mlp", (32, 16, 16), 0.75), ("constituent_mlp", (32, 16), 0.75), ("hlf_mlp", (32, 16, 16), 0.5),
    ("hlf_hgq", (32, 16, 16), 0.0), ("hlf_mlp", (64, 32, 32), 0.9), ("hybrid_mlp", (48, 32, 32), 0.9),
    ("constituent_mlp", (64, 32, 32), 0.9), ("hybrid_hgq", (32, 16, 16), 0.0), ("hlf_mlp", (64, 32, 32), 0.75),
    ("hlf_hgq", (64, 32, 32), 0.0), ("hybrid_mlp", (48, 32, 32), 0.75),
)


def student_name(family: str, hidden: tuple[int, ...], sparsity: float) -> str:
    """``hlf_mlp-32x16-s75``: family, widths and (QKeras) sparsity in percent."""
    widths = "x".join(map(str, hidden))
    return f"{family}-{widths}" + (f"-s{round(sparsity * 100)}" if sparsity else "")


def _config(family: str, hidden: tuple[int, ...], epochs: int):
    from fpgakd.config import load_model_config

    cfg = load_model_config(family)
    training = dataclasses.replace(cfg.training, epochs=epochs)
    q = cfg.quantization
    if q.kind == "hgq":   # the beta ramp over the short run, so that widths do shrink
        q = dataclasses.replace(q, beta_ramp_epochs=max(1, epochs // 2))
    return dataclasses.replace(cfg, name=student_name(family, hidden, 0), hidden=hidden, training=training,
                               quantization=q)


def _inputs(cfg: Any, jets: Path) -> tuple[np.ndarray, np.ndarray]:
    from fpgakd.jets.loading import load_jets
    from fpgakd.jets.preprocessing import Standardizer, student_inputs

    dataset = load_jets(jets)
    x, names = student_inputs(dataset, cfg.inputs)
    x = Standardizer().fit(x, names).transform(x, names)
    return x, np.asarray(dataset.labels)


def _prune(model: Any, sparsity: float) -> None:
    """Zero the smallest ``sparsity`` of each kernel, as magnitude pruning leaves it."""
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None and sparsity > 0:
            w = kernel.numpy()
            w[np.abs(w) <= np.quantile(np.abs(w), sparsity)] = 0.0
            kernel.assign(w)


def train_student(family: str, hidden: tuple[int, ...], sparsity: float, jets: Path, epochs: int) -> Any:
    """The briefly trained student (an HGQ student's proxy model), pruned to ``sparsity``."""
    from fpgakd.learn.runtime import configure_tensorflow
    from fpgakd.learn.students import build_student

    configure_tensorflow()
    import tensorflow as tf

    cfg = _config(family, hidden, epochs)
    x, y = _inputs(cfg, jets)
    model = build_student(cfg, x.shape[1], int(y.max()) + 1)
    model.compile(tf.keras.optimizers.Adam(cfg.training.learning_rate),
                  tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hgq = cfg.quantization.kind == "hgq"
    callbacks = []
    if hgq:
        from fpgakd.learn.hgq_students import hgq_callbacks

        callbacks = hgq_callbacks(cfg)
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, callbacks=callbacks)
    if hgq:
        from fpgakd.learn.hgq_students import hgq_proxy

        return hgq_proxy(model, x)[0]
    _prune(model, sparsity)
    return model


def _hls_estimate_lut(model: Any) -> int | str:
    """fpgakd's older estimate (fpgakd.firmware.estimate, HLS-priced); blank where it has none."""
    from fpgakd.config import load_firmware_config
    from fpgakd.errors import FpgakdError
    from fpgakd.firmware.estimate import estimate_resources

    try:
        return int(estimate_resources(model, load_firmware_config())["resources"]["LUT"])
    except (FpgakdError, ValueError, AttributeError):
        return ""


def measure_student(model: Any, work: Path) -> dict[str, Any]:
    """da4ml's cost as fpgakd's estimate gets it (and the seconds that takes), then Yosys's
    counts of the student's RTL."""
    from fpgakd.config import load_firmware_config
    from fpgakd.firmware.cost_model import da4ml_lut_cost
    from fpgakd.firmware.rtl.verilog import write_rtl
    from fpgakd.firmware.rtl.yosys import synthesize_rtl

    t0 = time.perf_counter()
    cost = da4ml_lut_cost(model, load_firmware_config())
    trace_s = time.perf_counter() - t0
    meta = write_rtl(model, work)
    synth = synthesize_rtl(work)
    res = synth["resources"]
    return {"da4ml_cost": cost, "reg_bits": meta["delay_model"].get("reg_bits", 0),
            "yosys_lut": res["LUT"], "yosys_ff": res["FF"], "carry4": res.get("CARRY4", 0),
            "trace_s": round(trace_s, 2), "yosys_s": synth["yosys_s"], "hls_estimate_lut": _hls_estimate_lut(model)}


def fit_lut_model(rows: list[dict[str, Any]]) -> tuple[float, float]:
    """(scale, offset) minimising the squared relative error of ``scale * cost + offset``."""
    cost = np.array([float(r["da4ml_cost"]) for r in rows])
    lut = np.array([float(r["yosys_lut"]) for r in rows])
    a = np.stack([cost / lut, 1.0 / lut], axis=1)
    (scale, offset), *_ = np.linalg.lstsq(a, np.ones_like(lut), rcond=None)
    return float(scale), float(offset)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    from fpgakd.atomic import write_text_atomic

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: r.get(k, "") for k in COLUMNS} for r in rows)
    write_text_atomic(path, buf.getvalue())


def refit(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Fit on every row, fill in each row's fit and error; the summary the module's constants copy."""
    scale, offset = fit_lut_model(rows)
    for r in rows:
        fit = scale * float(r["da4ml_cost"]) + offset
        r["fit_lut"] = round(fit)
        r["error"] = round(fit / float(r["yosys_lut"]) - 1.0, 4)
        if str(r.get("hls_estimate_lut", "")).strip():
            r["hls_estimate_error"] = round(float(r["hls_estimate_lut"]) / float(r["yosys_lut"]) - 1.0, 4)
    errors = np.abs([float(r["error"]) for r in rows])
    raw = np.abs([float(r["da4ml_cost"]) / float(r["yosys_lut"]) - 1.0 for r in rows])
    return {"students": len(rows), "scale": round(scale, 4), "offset": round(offset, 1),
            "median_error": round(float(np.median(errors)), 4), "worst_error": round(float(errors.max()), 4),
            "raw_median_error": round(float(np.median(raw)), 4), "raw_worst_error": round(float(raw.max()), 4),
            "trace_s_max": max(float(r["trace_s"]) for r in rows)}


def _run_students(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    from fpgakd.firmware.rtl.trace import trace_student

    done = {r["student"] for r in rows}
    warm = False
    for family, hidden, sparsity in STUDENTS[:args.limit]:
        name = student_name(family, hidden, sparsity)
        if name in done:
            continue
        t0 = time.perf_counter()
        model = train_student(family, hidden, sparsity, args.jets, args.epochs)
        if not warm:    # da4ml compiles its numba code on the first trace of a process: not timed
            trace_student(model, latency_cutoff=None)
            warm = True
        with tempfile.TemporaryDirectory() as tmp:
            fig = measure_student(model, Path(tmp) / "rtl")
        quantizer = "hgq" if "hgq" in family else "qkeras 8-bit"
        rows.append({"student": name, "family": family, "quantizer": quantizer, "hidden": "-".join(map(str, hidden)),
                     "sparsity": sparsity, **fig})
        _write_rows(args.csv, rows)
        print(f"{name:32s} cost {fig['da4ml_cost']:9.1f} yosys LUT {fig['yosys_lut']:7d} "
              f"trace {fig['trace_s']:5.1f}s yosys {fig['yosys_s']:6.1f}s total {time.perf_counter() - t0:6.1f}s",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jets", type=Path, help="a jet file (fpgakd generate --jets-per-class 500)")
    parser.add_argument("--csv", type=Path, default=CSV_PATH)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--limit", type=int, default=len(STUDENTS), help="only the first N students")
    parser.add_argument("--fit-only", action="store_true", help="refit the rows already in the CSV")
    args = parser.parse_args(argv)
    rows = _read_rows(args.csv)
    if not args.fit_only:
        if args.jets is None:
            parser.error("--jets is needed to build students (or --fit-only)")
        _run_students(args, rows)
    if len(rows) < 2:
        print("fewer than 2 students measured: nothing to fit")
        return 1
    summary = refit(rows)
    _write_rows(args.csv, rows)
    print(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
