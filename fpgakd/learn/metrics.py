"""Tagging metrics for teachers and students, the side-by-side summary table and plots.

Conventions (as in the hls4ml jet-tagging papers):

* ``logits`` is an (N, C) array of per-class scores; probabilities are ``softmax(logits)``.
* The AUC of class c is one-vs-rest on ``p_c`` (:func:`sklearn.metrics.roc_auc_score`).
* Background rejection is ``1 / FPR`` at a fixed signal efficiency (50% and 30%) for each
  signal class W, Z, t against the q + g background, ranked by the likelihood-ratio score
  ``p_s / (p_s + p_q + p_g)``. A rejection whose FPR is zero on the sample is reported as
  ``None`` (unbounded with this many background jets), never as infinity, so metrics stay
  valid JSON.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.errors import DataError
from fpgakd.figures import pyplot, save_figure

__all__ = ["SIGNAL_CLASSES", "BACKGROUND_CLASSES", "SIGNAL_EFFICIENCIES", "softmax",
           "classification_metrics", "binary_metrics", "format_summary_table", "plot_roc",
           "plot_binary_roc", "plot_training_curves"]

log = logging.getLogger(__name__)

#: Signal classes whose background rejection is reported, and the background they face.
SIGNAL_CLASSES: tuple[str, ...] = ("W", "Z", "t")
BACKGROUND_CLASSES: tuple[str, ...] = ("q", "g")
#: Signal efficiencies at which the rejection 1/FPR is read off the ROC curve.
SIGNAL_EFFICIENCIES: tuple[float, ...] = (0.5, 0.3)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable.

    >>> softmax(np.zeros((1, 4))).tolist()
    [[0.25, 0.25, 0.25, 0.25]]
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _eff_key(eff: float) -> str:
    return f"eff{int(round(eff * 100))}"


def _rejection_at(signal: np.ndarray, score: np.ndarray, eff: float) -> float | None:
    """1/FPR at true-positive rate ``eff`` (interpolated on the ROC curve)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(signal, score)
    # where the curve is flat in efficiency, the tightest cut (smallest FPR) reaches it
    tpr, first = np.unique(tpr, return_index=True)
    value = float(np.interp(eff, tpr, fpr[first]))
    return None if value <= 0.0 else 1.0 / value


def _check_inputs(labels: np.ndarray, scores: np.ndarray, class_names: Sequence[str]) -> None:
    if scores.ndim != 2 or scores.shape[1] != len(class_names):
        raise DataError(f"logits: expected shape (N, {len(class_names)}) for classes "
                        f"{list(class_names)}, got {scores.shape}")
    if labels.shape != (scores.shape[0],):
        raise DataError(f"labels: expected shape ({scores.shape[0]},) to match the logits, "
                        f"got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise DataError(f"labels: values must lie in [0, {len(class_names) - 1}], "
                        f"got [{labels.min()}, {labels.max()}]")


def classification_metrics(labels: np.ndarray, logits: np.ndarray,
                           class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class AUC and W/Z/t rejection against q+g for a multi-class tagger.

    >>> m = classification_metrics(np.array([0, 1]), np.array([[2., 0.], [0., 2.]]), ["q", "W"])
    >>> m["accuracy"], m["auc"]["W"]
    (1.0, 1.0)
    """
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels).astype(np.int64)
    logits = np.asarray(logits, dtype=np.float64)
    class_names = list(class_names)
    _check_inputs(labels, logits, class_names)
    probs = softmax(logits)
    result: dict[str, Any] = {
        "n_jets": int(labels.size),
        "accuracy": float(np.mean(probs.argmax(axis=1) == labels)),
        "auc": {},
        "rejection": {},
    }
    for c, name in enumerate(class_names):
        positive = labels == c
        if positive.all() or not positive.any():
            log.warning("class %s: AUC undefined (only one class present), skipped", name)
            continue
        result["auc"][name] = float(roc_auc_score(positive, probs[:, c]))
    background = [class_names.index(b) for b in BACKGROUND_CLASSES if b in class_names]
    for name in SIGNAL_CLASSES:
        if name not in class_names or not background:
            continue
        s = class_names.index(name)
        keep = np.isin(labels, background + [s])
        is_signal = labels[keep] == s
        if is_signal.all() or not is_signal.any():
            continue
        p = probs[keep]
        score = p[:, s] / np.maximum(p[:, s] + p[:, background].sum(axis=1), 1e-30)
        result["rejection"][name] = {_eff_key(e): _rejection_at(is_signal, score, e)
                                     for e in SIGNAL_EFFICIENCIES}
    return result


def binary_metrics(is_signal: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """AUC, accuracy at score 0.5 and rejection 1/FPR for a single signal-vs-background score.

    ``score`` is a probability in [0, 1] (e.g. the sigmoid of a regressor's logit).

    >>> binary_metrics(np.array([0, 1]), np.array([0.2, 0.9]))["auc"]
    1.0
    """
    from sklearn.metrics import roc_auc_score

    is_signal = np.asarray(is_signal).astype(bool)
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    if score.shape != is_signal.shape:
        raise DataError(f"score: expected shape {is_signal.shape} to match the labels, got {score.shape}")
    if is_signal.all() or not is_signal.any():
        raise DataError("labels: signal and background jets are both needed for an AUC")
    return {
        "n_jets": int(is_signal.size),
        "accuracy": float(np.mean((score > 0.5) == is_signal)),
        "auc": float(roc_auc_score(is_signal, score)),
        "rejection": {_eff_key(e): _rejection_at(is_signal, score, e) for e in SIGNAL_EFFICIENCIES},
    }


# ---------------------------------------------------------------- summary table
def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if isinstance(value, (int, float)):
        return format(value, spec)
    return str(value)


def _rej(value: float | None) -> float:
    """A stored rejection; None (no background jet passed the cut) shows as inf."""
    return math.inf if value is None else value


#: the columns of the summary table, in order, and their titles
_COLUMN_TITLES = {"teacher": "teacher", "kd": "KD student", "scratch": "scratch student"}


def _keys_in_columns(metrics: Mapping[str, Any], cols: list[str]
                     ) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """(per-class AUC names, (signal, efficiency) rejection keys, sparsity layers) that any
    column holds, in first-seen order; a rejection without signals has signal ``""``."""
    aucs: list[str] = []
    rej: list[tuple[str, str]] = []
    layers: list[str] = []
    for c in cols:
        auc = metrics[c].get("auc")
        if isinstance(auc, Mapping):
            aucs += [k for k in auc if k not in aucs]
        for sig, byeff in (metrics[c].get("rejection") or {}).items():
            if isinstance(byeff, Mapping):
                rej += [(sig, e) for e in byeff if (sig, e) not in rej]
            elif ("", sig) not in rej:
                rej.append(("", sig))
        layers += [k for k in (metrics[c].get("sparsity") or {}) if k not in layers]
    return aucs, rej, layers


def _row_specs(metrics: Mapping[str, Any], cols: list[str]
               ) -> list[tuple[str, Callable[[Mapping[str, Any]], Any], str]]:
    """(label, how to read the value from a column, format) of every candidate row, in order."""
    aucs, rej, layers = _keys_in_columns(metrics, cols)
    specs: list[tuple[str, Callable[[Mapping[str, Any]], Any], str]] = [
        ("accuracy", lambda m: m["accuracy"], ".3f")]
    if any(not isinstance(metrics[c].get("auc"), Mapping) and metrics[c].get("auc") is not None
           for c in cols):
        specs.append(("AUC", lambda m: m["auc"] if not isinstance(m["auc"], Mapping) else None, ".3f"))
    specs += [(f"AUC {name}", lambda m, n=name: m["auc"][n], ".3f") for name in aucs]
    for sig, eff in rej:
        if sig:
            specs.append((f"rej. {sig} vs q+g @{eff[3:]}%",
                          lambda m, s=sig, e=eff: _rej(m["rejection"][s][e]), ".1f"))
        else:
            specs.append((f"rejection @{eff[3:]}%", lambda m, e=eff: _rej(m["rejection"][e]), ".1f"))
    specs += [(f"sparsity {layer}", lambda m, n=layer: m["sparsity"][n], ".1%") for layer in layers]
    return specs + [("weight bits", lambda m: m["bits"]["weight"], "d"),
                    ("activation bits", lambda m: m["bits"]["activation"], "d"),
                    ("EBOPs (HGQ)", lambda m: m["ebops"], ".0f"),
                    ("parameters", lambda m: m["parameters"], "d"),
                    ("non-zero params", lambda m: m["nonzero"], "d")]


def _summary_rows(metrics: Mapping[str, Any], cols: list[str]) -> list[list[str]]:
    """[label, value per column] of each row that some column has a value for."""
    rows = []
    for label, getter, spec in _row_specs(metrics, cols):
        values = []
        for c in cols:
            try:
                values.append(_fmt(getter(metrics[c]), spec))
            except (KeyError, TypeError):
                values.append("-")
        if any(v != "-" for v in values):
            rows.append([label] + values)
    return rows


def _aligned_lines(table: list[list[str]]) -> list[str]:
    """The table as text lines: first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                      enumerate(zip(r, widths))).rstrip() for r in table]


def format_summary_table(metrics: Mapping[str, Any]) -> str:
    """Teacher | KD student | scratch student side by side, as plain text for a terminal.

    ``metrics`` is the dict :func:`fpgakd.learn.distillation.distill` writes to ``metrics.json``:
    ``{"teacher": {...}, "kd": {...}, "scratch": {...}}``; absent columns are skipped.
    Each column may hold ``accuracy``, ``auc`` (per class or one number), ``rejection``,
    ``sparsity`` (per layer), ``bits`` and ``parameters``/``nonzero``.

    >>> print(format_summary_table({"kd": {"accuracy": 0.5}}))   # doctest: +NORMALIZE_WHITESPACE
    metric      KD student
    accuracy    0.500
    """
    cols = [k for k in _COLUMN_TITLES if isinstance(metrics.get(k), Mapping)]
    header = ["metric"] + [_COLUMN_TITLES[c] for c in cols]
    lines = _aligned_lines([header] + _summary_rows(metrics, cols))
    gain = _kd_gain_line(metrics)
    return "\n".join(lines + ([gain] if gain else []))


def _kd_gain_line(metrics: Mapping[str, Any]) -> str | None:
    """One sentence with the measured effect of the teacher, the number users look for."""
    kd, scratch = metrics.get("kd"), metrics.get("scratch")
    if not isinstance(kd, Mapping) or not isinstance(scratch, Mapping):
        return None
    for key, what in (("accuracy", "accuracy"), ("auc", "AUC")):
        a, b = kd.get(key), scratch.get(key)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return (f"KD gain: {100 * (a - b):+.1f} points of {what} over the scratch student "
                    "(same quantization, pruning, seed and epochs)")
    return None


# ---------------------------------------------------------------- plots
def _plot_rejection(ax: Any, is_signal: np.ndarray, score: np.ndarray, label: str) -> None:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(is_signal, score)
    ok = fpr > 0   # 1/FPR is unbounded where no background passes
    ax.plot(tpr[ok], 1.0 / fpr[ok], label=label)


def _style_rejection_axis(ax: Any, signal: str) -> None:
    ax.set_yscale("log")
    ax.set_xlabel(f"{signal} efficiency")
    ax.set_ylabel("q+g rejection (1/FPR)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def plot_roc(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], class_names: Sequence[str],
             path: str | os.PathLike) -> Path:
    """ROC curves (signal efficiency vs background rejection) for W, Z, t against q+g.

    ``curves`` maps a legend label to ``(labels, logits)`` on the same test jets; each
    signal class gets its own panel with one line per model. Written atomically as PNG.

    >>> plot_roc({"KD student": (labels, logits)}, ["g", "q", "W", "Z", "t"], "roc.png")  # doctest: +SKIP
    """
    plt = pyplot()

    class_names = list(class_names)
    signals = [s for s in SIGNAL_CLASSES if s in class_names]
    background = [class_names.index(b) for b in BACKGROUND_CLASSES if b in class_names]
    if not signals or not background:
        raise DataError(f"class_names {class_names}: need one of {SIGNAL_CLASSES} and one of "
                        f"{BACKGROUND_CLASSES} for a ROC plot")
    fig, axes = plt.subplots(1, len(signals), figsize=(4.5 * len(signals), 4), squeeze=False)
    for ax, sig in zip(axes[0], signals):
        s = class_names.index(sig)
        for label, (y, logits) in curves.items():
            y = np.asarray(y)
            p = softmax(logits)
            keep = np.isin(y, background + [s])
            score = p[keep, s] / np.maximum(p[keep, s] + p[keep][:, background].sum(axis=1), 1e-30)
            _plot_rejection(ax, y[keep] == s, score, label)
        _style_rejection_axis(ax, sig)
        ax.set_title(f"{sig} vs q+g")
    return save_figure(fig, path)


def plot_binary_roc(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], signal: str,
                    path: str | os.PathLike) -> Path:
    """ROC of single-score taggers: ``curves`` maps a label to ``(is_signal, score)``."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5, 4))
    for label, (y, score) in curves.items():
        _plot_rejection(ax, np.asarray(y).astype(bool), np.asarray(score).reshape(-1), label)
    _style_rejection_axis(ax, signal)
    return save_figure(fig, path)


def plot_training_curves(histories: Mapping[str, Mapping[str, Sequence[float]]],
                         path: str | os.PathLike) -> Path:
    """Loss and accuracy per epoch (training and validation) for each named history.

    ``histories`` maps a label (``"KD student"``) to a Keras ``History.history`` dict.

    >>> plot_training_curves({"KD": {"loss": [1.0, 0.8], "val_loss": [1.1, 0.9]}}, "c.png")  # doctest: +SKIP
    """
    plt = pyplot()

    metrics = [m for m in ("loss", "accuracy") if any(m in h for h in histories.values())]
    if not metrics:
        raise DataError("histories: no 'loss' or 'accuracy' entries to plot")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for i, (label, hist) in enumerate(histories.items()):
            colour = f"C{i}"
            if metric in hist:
                ax.plot(np.arange(1, len(hist[metric]) + 1), hist[metric], color=colour,
                        linestyle="--", label=f"{label} train")
            if f"val_{metric}" in hist:
                ax.plot(np.arange(1, len(hist[f"val_{metric}"]) + 1), hist[f"val_{metric}"],
                        color=colour, label=f"{label} val")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(fig, path)
