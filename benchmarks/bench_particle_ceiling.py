#!/usr/bin/env python
"""Benchmark (not a test): how far can a student that reads the particles go, before any
quantization? Float Keras students on the benchmark set, KD against scratch.

    python benchmarks/bench_particle_ceiling.py                       # every architecture, seed 0
    python benchmarks/bench_particle_ceiling.py --seeds 0 1 2 --archs ds16_32 hybrid4_64
    python benchmarks/bench_particle_ceiling.py --report-only --docs-csv docs/results/particle_ceiling.csv

The architectures (``ARCHS``): the hybrid MLP of ``models/hybrid_mlp.yaml`` (16 high-level
features and the top-N constituents flattened, 64-32-32), and a Deep Sets that reads the top-N
constituents (deta, dphi, log pT fraction and the 0/1 mask, the columns and the rms scaling of
a ``particle_set`` student) through a bias-free per-particle network, a max over the particles,
and the 16 high-level features joined at the head: the teacher's own shape, shrunk. The ``_t7``
shapes read the seven particle features the teacher reads instead of three. Every
network is float and unpruned, so each number is a ceiling for the quantized, pruned student of
that shape. ``unrolled weights`` is what a fully parallel (II 1) firmware holds: N copies of
the per-particle network plus the head; at about 20 LUT per non-zero 8-bit weight and 75%
pruning, LUT ~ 5 x that count.

Same split (60/20/20, stratified, seed 0), teacher soft targets (out of fold, cached) and loss
as ``fpgakd distill`` (T and alpha of hybrid_mlp.yaml); Adam 2e-3, batch 512, at most
``--epochs`` epochs, early stopping on the validation loss (patience 8, best weights kept), the
learning rate halved after 4 epochs without gain. Resumable: one JSON per (architecture, mode,
seed) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.atomic import write_text_atomic

#: T and alpha of models/hybrid_mlp.yaml (chosen there on the validation split)
TEMPERATURE, ALPHA = 2.0, 0.5
LEARNING_RATE, BATCH_SIZE, PATIENCE = 2e-3, 512, 8
FEATURES = ("deta", "dphi", "log_pt_frac")
#: the seven per-particle features the teacher reads (its ``constituent_features``), the
#: fractions as logs as a student reads them
TEACHER_FEATURES = ("deta", "dphi", "log_pt", "log_e", "log_pt_frac", "log_e_frac", "delta_r")


@dataclass(frozen=True)
class Arch:
    """One student shape: ``kind`` "mlp" (hybrid MLP) or "deepsets" (with the HLF at the head)."""

    kind: str
    n_particles: int
    phi: tuple[int, ...]
    head: tuple[int, ...]
    features: tuple[str, ...] = FEATURES

    def unrolled_weights(self, n_hlf: int = 16, n_out: int = 5) -> int:
        """Multiplications a fully parallel firmware holds (biases left out)."""
        per_particle = len(self.features) + (self.kind == "deepsets")
        if self.kind == "mlp":
            widths = [n_hlf + self.n_particles * per_particle, *self.head, n_out]
            return sum(a * b for a, b in zip(widths, widths[1:]))
        phi = [per_particle, *self.phi]
        head = [self.phi[-1] + n_hlf, *self.head, n_out]
        return (self.n_particles * sum(a * b for a, b in zip(phi, phi[1:]))
                + sum(a * b for a, b in zip(head, head[1:])))


ARCHS = {
    "hybrid4_64": Arch("mlp", 4, (), (64, 32, 32)),
    "hybrid16_64": Arch("mlp", 16, (), (64, 32, 32)),
    "ds8_16": Arch("deepsets", 8, (16, 16), (32, 16)),
    "ds16_8": Arch("deepsets", 16, (8, 8), (32, 16)),
    "ds16_16": Arch("deepsets", 16, (16, 16), (32, 16)),
    "ds16_32": Arch("deepsets", 16, (32, 32), (64, 32)),
    "ds32_32": Arch("deepsets", 32, (32, 32), (64, 32)),
    # the same shapes reading what the teacher reads of each particle
    "hybrid4_64_t7": Arch("mlp", 4, (), (64, 32, 32), TEACHER_FEATURES),
    "ds16_8_t7": Arch("deepsets", 16, (8, 8), (32, 16), TEACHER_FEATURES),
    "ds16_16_t7": Arch("deepsets", 16, (16, 16), (32, 16), TEACHER_FEATURES),
    "ds16_32_t7": Arch("deepsets", 16, (32, 32), (64, 32), TEACHER_FEATURES),
    "ds32_32_t7": Arch("deepsets", 32, (32, 32), (64, 32), TEACHER_FEATURES),
}


def _inputs(dataset: Any, arch: Arch, train: np.ndarray) -> list[np.ndarray]:
    """The standardized model inputs: one flat array (MLP) or [particles (n, N, F + 1), hlf]."""
    from fpgakd.config import InputConfig
    from fpgakd.jets.preprocessing import fit_student_standardizer, student_inputs

    kind = "hybrid" if arch.kind == "mlp" else "particle_set"
    inputs = InputConfig(type=kind, n_constituents=arch.n_particles, constituent_features=arch.features)
    x, names = student_inputs(dataset, inputs)
    x = fit_student_standardizer(x[train], names, inputs).transform(x).astype(np.float32)
    if arch.kind == "mlp":
        return [x]
    hlf_in = InputConfig(type="hlf")
    hlf, hlf_names = student_inputs(dataset, hlf_in)
    hlf = fit_student_standardizer(hlf[train], hlf_names, hlf_in).transform(hlf).astype(np.float32)
    return [x.reshape(len(x), arch.n_particles, -1), hlf]


def _model(arch: Arch, shapes: list[tuple[int, ...]], n_classes: int) -> Any:
    import tensorflow as tf

    ins = [tf.keras.Input(shape) for shape in shapes]
    h = ins[0]
    if arch.kind == "deepsets":
        for width in arch.phi:   # bias-free: a padded (all-zero) particle stays zero
            h = tf.keras.layers.Dense(width, activation="relu", use_bias=False)(h)
        h = tf.keras.layers.Concatenate()([tf.keras.layers.GlobalMaxPooling1D()(h), ins[1]])
    for width in arch.head:
        h = tf.keras.layers.Dense(width, activation="relu")(h)
    return tf.keras.Model(ins, tf.keras.layers.Dense(n_classes)(h))


def train_one(arch: Arch, mode: str, seed: int, data: dict[str, Any], epochs: int) -> dict[str, Any]:
    """Train one student; its test accuracy, epochs and seconds."""
    import tensorflow as tf

    from fpgakd.learn.losses import keras_accuracy, keras_loss, pack_classifier_targets

    tr, va, te = data["split"]
    x = _inputs(data["dataset"], arch, tr)
    n_classes = data["soft"].shape[1]
    y = pack_classifier_targets(data["labels"], data["soft"], n_classes)
    tf.keras.utils.set_random_seed(seed)
    model = _model(arch, [a.shape[1:] for a in x], n_classes)
    alpha = ALPHA if mode == "kd" else 1.0
    model.compile(tf.keras.optimizers.Adam(LEARNING_RATE),
                  keras_loss("classifier", mode, n_classes, TEMPERATURE, alpha, "mae"), [keras_accuracy(n_classes)])
    started = time.time()
    history = model.fit([a[tr] for a in x], y[tr], validation_data=([a[va] for a in x], y[va]), epochs=epochs,
                        batch_size=BATCH_SIZE, verbose=0, callbacks=[
                            tf.keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True),
                            tf.keras.callbacks.ReduceLROnPlateau(patience=PATIENCE // 2, factor=0.5)])
    logits = model.predict([a[te] for a in x], batch_size=4096, verbose=0)
    return {"accuracy": float(np.mean(logits.argmax(1) == data["labels"][te])),
            "epochs": len(history.history["loss"]), "seconds": round(time.time() - started, 1),
            "params": int(model.count_params()), "unrolled_weights": arch.unrolled_weights()}


def _data(jets: Path, teacher: Path) -> dict[str, Any]:
    from fpgakd.cache import cache_dir
    from fpgakd.jets.loading import load_jets
    from fpgakd.jets.preprocessing import split_indices
    from fpgakd.learn.soft_targets import member_logits

    dataset = load_jets(jets)
    labels = np.asarray(dataset.labels)
    soft = member_logits(teacher, dataset, cache_dir=cache_dir() / "soft_targets")
    return {"dataset": dataset, "labels": labels, "soft": soft.astype(np.float32),
            "split": split_indices(len(labels), seed=0, labels=labels)}


def _jets(args: argparse.Namespace) -> Path:
    from fpgakd.jets.benchmark import benchmark_jets_dir

    return Path(args.jets) if args.jets else benchmark_jets_dir()


def _result_path(out: Path, name: str, mode: str, seed: int) -> Path:
    return out / f"{name}_{mode}_seed{seed}.json"


def run(args: argparse.Namespace, out: Path) -> None:
    """Train every missing (architecture, mode, seed); each result written whole (temp + rename)."""
    data = None
    for name in args.archs:
        for seed in args.seeds:
            for mode in args.modes:
                path = _result_path(out, name, mode, seed)
                if path.is_file():
                    continue
                data = data or _data(_jets(args), Path(args.teacher))
                result = {"arch": name, "mode": mode, "seed": seed, "epochs_max": args.epochs,
                          **train_one(ARCHS[name], mode, seed, data, args.epochs)}
                write_text_atomic(path, json.dumps(result, indent=1))
                print(f"{name} {mode} seed {seed}: {100 * result['accuracy']:.2f}% "
                      f"({result['epochs']} epochs, {result['seconds']:.0f} s)", flush=True)


def report(out: Path) -> list[dict[str, Any]]:
    """One row per (architecture, mode): mean and std of the test accuracy over the seeds done."""
    results = [json.loads(p.read_text()) for p in sorted(out.glob("*_seed*.json"))]
    rows = []
    for name, arch in ARCHS.items():
        for mode in ("scratch", "kd"):
            acc = [r["accuracy"] for r in results if r["arch"] == name and r["mode"] == mode]
            if acc:
                rows.append({"student": name, "particles": arch.n_particles, "features": len(arch.features),
                             "per-particle network":
                             "-".join(map(str, arch.phi)) or "-", "head": "-".join(map(str, arch.head)),
                             "mode": mode, "accuracy": 100 * float(np.mean(acc)),
                             "std": 100 * float(np.std(acc)) if len(acc) > 1 else None, "seeds": len(acc),
                             "unrolled weights": arch.unrolled_weights()})
    return rows


def format_rows(rows: list[dict[str, Any]]) -> list[str]:
    """CSV lines of the report (accuracy as 'mean ± std' or 'x (1 seed)')."""
    lines = ["student,particles,features per particle,per-particle network,head,mode,test accuracy (%),"
             "unrolled weights"]
    for r in rows:
        acc = f"{r['accuracy']:.1f} ± {r['std']:.1f}" if r["std"] is not None else f"{r['accuracy']:.1f} (1 seed)"
        lines.append(f"{r['student']},{r['particles']},{r['features']},{r['per-particle network']},{r['head']},{r['mode']},"
                     f"{acc},\"{r['unrolled weights']:,}\"")
    return lines


def plot(rows: list[dict[str, Any]], path: Path) -> Path:
    """Test accuracy against the unrolled weights, one marker per family and mode (error bars: std)."""
    from fpgakd.figures import pyplot, save_log_x_plot

    fig, ax = pyplot().subplots(figsize=(6.4, 4.2))
    markers, colours = {"mlp": "s", "deepsets": "o"}, iter(f"C{i}" for i in range(10))
    groups = sorted({(ARCHS[r["student"]].kind, r["features"]) for r in rows})
    for kind, n_features in groups:
        colour = next(colours)
        for mode in ("scratch", "kd"):
            sel = [r for r in rows if (ARCHS[r["student"]].kind, r["features"], r["mode"]) == (kind, n_features, mode)]
            if not sel:
                continue
            label = f"{'hybrid MLP' if kind == 'mlp' else 'Deep Sets + HLF'}, {n_features} features, {mode}"
            ax.errorbar([r["unrolled weights"] for r in sel], [r["accuracy"] for r in sel],
                        yerr=[r["std"] or 0.0 for r in sel], fmt=markers[kind], color=colour, label=label,
                        markerfacecolor="none" if mode == "scratch" else colour, capsize=2)
            for r in sel:
                if mode == "scratch":
                    ax.annotate(r["student"], (r["unrolled weights"], r["accuracy"]), fontsize=7,
                                xytext=(4, -9), textcoords="offset points")
    return save_log_x_plot(fig, ax, path,
                           xlabel="weights in a fully parallel firmware (N x per-particle network + head)",
                           ylabel="test accuracy (%), float, unpruned",
                           title="Students that read the particles: the float ceiling (benchmark set)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jets", help="jet file or directory (default: the benchmark set, generated if missing)")
    parser.add_argument("--teacher", default="bench_runs/hgq_frontier/teacher",
                        help="teacher directory (default: the HGQ frontier's deepsets_hlf_single)")
    parser.add_argument("--archs", nargs="+", choices=sorted(ARCHS), default=list(ARCHS))
    parser.add_argument("--modes", nargs="+", choices=["kd", "scratch"], default=["scratch", "kd"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", default="bench_runs/particle_ceiling")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--docs-csv", help="also write the table here (docs/results/particle_ceiling.csv)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        run(args, out)
    rows = report(out)
    lines = format_rows(rows)
    print("\n".join(lines))
    if rows:
        print(f"plot: {plot(rows, out / 'particle_ceiling.png')}")
    if args.docs_csv:
        write_text_atomic(args.docs_csv, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
