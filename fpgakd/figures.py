"""Writing matplotlib figures: the Agg backend (no screen needed) and atomic files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["pyplot", "save_figure"]


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
