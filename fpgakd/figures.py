"""Writing matplotlib figures: the Agg backend (no screen needed) and atomic files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["pyplot", "save_figure", "step_histograms"]


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
