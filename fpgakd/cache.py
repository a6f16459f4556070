"""Where fpgakd keeps what it can rebuild: generated datasets, soft targets, default
teachers, the checkpoints an interrupted training resumes from, and Verilator's run-time
library compiled for the RTL simulation.

Everything under it is keyed by a hash of what made it, so a stale entry is never served.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """``$FPGAKD_CACHE``, else ``~/.cache/fpgakd``.

    >>> cache_dir().name                                          # doctest: +SKIP
    'fpgakd'
    """
    env = os.environ.get("FPGAKD_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fpgakd"
