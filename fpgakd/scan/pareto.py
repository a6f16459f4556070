"""Pareto fronts of a scan: the points no other point beats on both accuracy and firmware cost.

A point is on the front of (cost, accuracy) when no other point has lower-or-equal cost and
higher-or-equal accuracy, one of them strictly. Fronts are computed per mode (KD, scratch)
from the rows that count: ``status: ok``, a C-simulation that passed, and both numbers known.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["pareto_mask", "front_rows", "plot_fronts", "format_front_table", "COSTS", "MODE_COLOURS"]

#: cost axes of the fronts: column -> axis label
COSTS = {"LUT": "LUT", "latency_ns": "latency (ns)"}
#: one colour per mode, the same in every plot
MODE_COLOURS = {"kd": "tab:blue", "scratch": "tab:orange"}
#: dominated points are drawn, faint, for context
_FAINT_ALPHA = 0.2
_FRONT_COLUMNS = ("mode", "model", "student.hidden", "student.quantization.weight_bits",
                  "student.pruning.target_sparsity", "accuracy", "LUT", "DSP", "latency_ns",
                  "resource_source", "csim", "key")


def pareto_mask(cost: Any, gain: Any) -> np.ndarray:
    """True for the points no other point dominates (lower-or-equal cost, higher-or-equal gain).

    >>> pareto_mask([1, 2, 3, 2], [0.5, 0.7, 0.6, 0.4]).tolist()
    [True, True, False, False]
    """
    cost, gain = np.asarray(cost, dtype=float), np.asarray(gain, dtype=float)
    better_eq = (cost[None, :] <= cost[:, None]) & (gain[None, :] >= gain[:, None])
    strictly = (cost[None, :] < cost[:, None]) | (gain[None, :] > gain[:, None])
    return ~np.any(better_eq & strictly, axis=1)


def _eligible(frame: Any, cost: str) -> Any:
    if frame.empty or cost not in frame or "accuracy" not in frame:
        return frame.iloc[0:0]
    ok = (frame["status"] == "ok") & frame["csim"].isin(["bit-exact", "within tolerance"])
    return frame[ok & frame[cost].notna() & frame["accuracy"].notna()]


def front_rows(frame: Any, cost: str = "LUT") -> Any:
    """The rows on each mode's front of (``cost``, accuracy), sorted by mode and cost.

    >>> front_rows(read_results("scans/example"), "latency_ns")      # doctest: +SKIP
    """
    rows = _eligible(frame, cost)
    parts = [group[pareto_mask(group[cost], group["accuracy"])]
             for _, group in rows.groupby("mode", sort=True)]
    if not parts:
        return rows
    import pandas as pd

    return pd.concat(parts).sort_values(["mode", cost, "accuracy"])


def plot_fronts(frame: Any, path: str | os.PathLike) -> Path:
    """Accuracy against LUT and against latency, KD and scratch fronts in their colours.

    Front points are joined by a staircase; dominated points are faint.

    >>> plot_fronts(read_results("scans/example"), "scans/example/fronts.png")   # doctest: +SKIP
    """
    from fpgakd.figures import pyplot, save_figure

    fig, axes = pyplot().subplots(1, len(COSTS), figsize=(5 * len(COSTS), 4))
    for ax, (cost, label) in zip(np.atleast_1d(axes), COSTS.items()):
        rows = _eligible(frame, cost)
        for mode, group in rows.groupby("mode", sort=True):
            colour = MODE_COLOURS.get(mode, "tab:gray")
            on = pareto_mask(group[cost], group["accuracy"])
            ax.scatter(group[cost][~on], group["accuracy"][~on], color=colour, alpha=_FAINT_ALPHA, s=18)
            front = group[on].sort_values(cost)
            ax.step(front[cost], front["accuracy"], where="post", color=colour, label=f"{mode} front")
            ax.scatter(front[cost], front["accuracy"], color=colour, s=28)
        ax.set_xlabel(label)
        ax.set_ylabel("test accuracy")
        if len(rows):
            ax.legend(loc="lower right")
        sources = sorted(set(rows.get("resource_source", [])))
        ax.set_title(f"source: {', '.join(sources) or '-'}", fontsize="small")
    return save_figure(fig, path)


def format_front_table(frame: Any) -> str:
    """Both fronts (by LUT, then by latency) as a plain-text table.

    >>> print(format_front_table(read_results("scans/example")))    # doctest: +SKIP
    """
    blocks = []
    for cost, label in COSTS.items():
        front = front_rows(frame, cost)
        columns = [c for c in _FRONT_COLUMNS if c in front]
        blocks.append(f"front: accuracy vs {label} ({len(front)} points)")
        if len(front):
            blocks.append(front[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    failed = int((frame["status"] != "ok").sum()) if "status" in frame else 0
    blocks.append(f"{len(frame)} rows, {failed} failed")
    return "\n".join(blocks)
