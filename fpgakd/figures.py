"""Writing matplotlib figures: the Agg backend (no screen needed) and atomic files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["pyplot", "save_figure", "save_log_x_plot", "step_histograms"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, imported on first use.

    >>> fig, ax = pyplot().subplots()                      # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Save ``fig`` to ``path`` atomically (format from the suffix, PNG by default), close it.

    >>> save_figure(fig, "roc.png")                         # doctest: +SKIP
    PosixPath('roc.png')
    """
    from fpgakd.atomic import atomic_path

    path = Path(path)
    if not fig.get_constrained_layout():
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=dpi)
    pyplot().close(fig)
    return path


def save_log_x_plot(fig: Any, ax: Any, path: str | os.PathLike, *, xlabel: str, ylabel: str, title: str,
                    legend_size: int = 7, dpi: int = 120) -> Path:
    """Finish a plot of accuracy against a cost on a log x axis (labels, a small title, grid,
    legend) and save it as :func:`save_figure` does.

    >>> save_log_x_plot(fig, ax, "front.png", xlabel="LUT", ylabel="accuracy (%)",
    ...                 title="students")                        # doctest: +SKIP
    PosixPath('front.png')
    """
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=legend_size)
    return save_figure(fig, path, dpi=dpi)


def step_histograms(ax: Any, samples: dict[str, Any], *, bins: int, value_range: Any, xlabel: str,
                    ylabel: str) -> None:
    """One normalised step histogram per named sample on ``ax`` (empty samples skipped), labelled
    with their counts, plus axis labels, grid and legend.

    >>> step_histograms(ax, {"W": mass_w, "Z": mass_z}, bins=50, value_range=(0, 200),
    ...                 xlabel="mass", ylabel="fraction of jets per unit")      # doctest: +SKIP
    """
    for label, values in samples.items():
        if len(values):
            ax.hist(values, bins=bins, range=value_range, density=True, histtype="step",
                    linewidth=1.5, label=f"{label} ({len(values)})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
