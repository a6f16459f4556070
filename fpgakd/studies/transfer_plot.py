"""The transfer study's table and plot: teacher accuracy against the fraction of target data.

Reads only the ``results.json`` dict of :func:`fpgakd.studies.transfer.run_transfer_study`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["format_transfer_table", "plot_transfer_results"]

_MODES = ("fine-tuned", "scratch")
_COLOURS = {"fine-tuned": "C0", "scratch": "C1"}
_METRICS = {"accuracy": "test accuracy", "mean_auc": "mean one-vs-rest AUC"}


def _cell(summary: dict[str, Any], mode: str, fraction: str, metric: str) -> str:
    stats = summary.get(mode, {}).get(fraction, {}).get(metric)
    if stats is None:
        return "-"
    spread = f" [{stats['min']:.3f}-{stats['max']:.3f}]" if stats["n"] > 1 else ""
    return f"{stats['mean']:.3f}{spread}"


def format_transfer_table(results: dict[str, Any]) -> str:
    """Accuracy and mean AUC per fraction (mean [min-max] over seeds), zero-shot and student lines.

    >>> print(format_transfer_table(results))                                  # doctest: +SKIP
    """
    src, tgt = results["source"], results["target"]
    z = results["zero_shot"]
    lines = [f"source teacher ({_window(src['pt_range'])}, in-window test accuracy "
             f"{src['test_accuracy_in_window']:.3f}) on the {tgt['n_test']} target test jets "
             f"({_window(tgt['pt_range'])}), zero-shot: accuracy {z['accuracy']:.3f}, mean AUC {z['mean_auc']:.3f}",
             f"{'fraction':>9} {'jets':>6}   " + "   ".join(f"{m + ' ' + k:<25}" for k in ("acc", "AUC")
                                                       for m in _MODES)]
    summary = results["summary"]
    for fraction in sorted({p["fraction"] for p in results["points"]}):
        jets = next(p["n_train_used"] for p in results["points"] if p["fraction"] == fraction)
        cells = [_cell(summary, m, str(fraction), k) for k in _METRICS for m in _MODES]
        lines.append(f"{100 * fraction:>8.3g}% {jets:>6}   " + "   ".join(f"{c:<25}" for c in cells))
    st = results["student"]
    lines.append(f"student {st['model']} from the fine-tuned teacher ({Path(st['teacher']).name}): "
                 f"KD {st['kd']['accuracy']:.3f} / {st['kd']['mean_auc']:.3f}, "
                 f"scratch {st['scratch']['accuracy']:.3f} / {st['scratch']['mean_auc']:.3f} (accuracy / mean AUC)")
    return "\n".join(line.rstrip() for line in lines)


def _window(pt_range: list[float] | None) -> str:
    return "pT unknown" if pt_range is None else f"pT {pt_range[0]:.0f}-{pt_range[1]:.0f} GeV"


def _plot_metric(ax: Any, results: dict[str, Any], metric: str) -> None:
    """One panel: seeds as dots, the seed mean as a line, zero-shot and students as levels."""
    for mode in _MODES:
        rows = [p for p in results["points"] if p["mode"] == mode]
        ax.scatter([p["fraction"] for p in rows], [p[metric] for p in rows], s=12, alpha=0.5,
                   color=_COLOURS[mode])
        cells = results["summary"][mode]
        fractions = sorted(cells, key=float)
        ax.plot([float(f) for f in fractions], [cells[f][metric]["mean"] for f in fractions],
                marker="o", color=_COLOURS[mode], label=f"teacher {mode}")
    ax.axhline(results["zero_shot"][metric], color="grey", ls=":", label="source teacher, zero-shot")
    student = results["student"]
    for mode, style in (("kd", "--"), ("scratch", "-.")):
        ax.axhline(student[mode][metric], color="black", ls=style, lw=1,
                   label=f"student {student['model']} {mode}")
    ax.set_xscale("log")
    fractions = sorted({p["fraction"] for p in results["points"]})
    ax.set_xticks(fractions, [f"{100 * f:g}%" for f in fractions])
    ax.minorticks_off()
    ax.set_xlabel("fraction of the target training split")
    ax.set_ylabel(_METRICS[metric])


def plot_transfer_results(results: dict[str, Any], path: str | os.PathLike) -> Path:
    """Accuracy and mean AUC against the target-data fraction, fine-tuned vs scratch (PNG)."""
    from fpgakd.figures import pyplot, save_figure

    fig, axes = pyplot().subplots(1, 2, figsize=(11, 4.2))
    for ax, metric in zip(axes, _METRICS):
        _plot_metric(ax, results, metric)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"teacher transfer: {_window(results['source']['pt_range'])} -> "
                 f"{_window(results['target']['pt_range'])} ({results['target']['n_train']} target "
                 f"training jets at fraction 1)", fontsize=10)
    return save_figure(fig, path)
