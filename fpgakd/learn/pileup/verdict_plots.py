"""Plots of the pileup verdict: response distributions and weight distributions per algorithm."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_responses", "plot_weight_distributions"]

#: response ranges shown; pT-miss without mitigation sits far above 0 at high pileup
_MET_RANGE = (-1.0, 3.0)
_JET_RANGE = (-1.0, 1.5)
_RESPONSE_BINS = 60
_WEIGHT_BINS = 50


def plot_responses(verdict: dict[str, dict[str, Any]], path: str | os.PathLike) -> Path:
    """Histograms of ``(X - X_gen) / X_gen`` for pT-miss and jet pT, one line per algorithm (PNG).

    Values outside the range are piled into the edge bins, so every event is drawn.

    >>> plot_responses(pileup_verdict(events, weights), "responses.png")   # doctest: +SKIP
    """
    from fpgakd.figures import pyplot, save_figure

    fig, axes = pyplot().subplots(1, 2, figsize=(11, 4))
    panels = ((axes[0], "met", _MET_RANGE, r"$p_T^{miss}$ response $(X - X_{gen}) / X_{gen}$"),
              (axes[1], "jet", _JET_RANGE, r"jet $p_T$ response $(X - X_{gen}) / X_{gen}$"))
    for ax, key, span, label in panels:
        for i, (name, entry) in enumerate(verdict.items()):
            response = np.clip(entry[f"{key}_response"], *span)
            res = entry[f"{key}_resolution"]
            ax.hist(response, bins=_RESPONSE_BINS, range=span, histtype="step", color=f"C{i}",
                    label=f"{name} (res {res:.3f})", linewidth=1.4)
        ax.axvline(0.0, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xlabel(label)
        ax.set_ylabel("events" if key == "met" else "matched jets")
        ax.legend(fontsize=8)
    fig.suptitle("response to the no-pileup truth; resolution = (q75 - q25) / 2")
    return save_figure(fig, path)


def plot_weight_distributions(weights: dict[str, np.ndarray], is_pileup: np.ndarray,
                              path: str | os.PathLike) -> Path:
    """Weights of each algorithm, hard-scatter and pileup particles apart (PNG, log scale).

    >>> plot_weight_distributions({"puppi": w}, events.particles["is_pileup"], "weights.png")  # doctest: +SKIP
    """
    from fpgakd.figures import pyplot, save_figure

    truth = np.asarray(is_pileup, dtype=bool)
    n = max(len(weights), 1)
    fig, axes = pyplot().subplots(1, n, figsize=(3.6 * n, 3.6), squeeze=False)
    for ax, (name, w) in zip(axes[0], weights.items()):
        w = np.clip(np.asarray(w, dtype=np.float64), 0.0, 1.0)
        for mask, label, colour in ((~truth, "hard scatter", "C0"), (truth, "pileup", "C3")):
            ax.hist(w[mask], bins=_WEIGHT_BINS, range=(0.0, 1.0), histtype="step", color=colour,
                    label=f"{label} ({mask.sum()})", linewidth=1.4)
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.5)  # single particles stay visible on the log scale
        ax.set_title(name)
        ax.set_xlabel("weight")
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("particles")
    return save_figure(fig, path)
