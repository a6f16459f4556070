"""Wiring and pooling on da4ml's traced arrays, shared by the QKeras and HGQ tracers: taking
columns, joining two arrays end to end, and pooling over particles (no arithmetic but the
max's comparators: a mean over 2^k particles is their sum with the binary point moved)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["columns", "concatenate", "pool_particles"]


def columns(arr: Any, start: int, stop: int) -> Any:
    """Elements ``start:stop`` of a 1-D traced array.

    >>> columns(inp, 0, 64).shape                                     # doctest: +SKIP
    (64,)
    """
    from da4ml.trace import FixedVariableArray

    return FixedVariableArray(np.asarray(arr._vars)[start:stop], arr.solver_options)


def concatenate(a: Any, b: Any) -> Any:
    """Two 1-D traced arrays end to end.

    >>> concatenate(pooled, features).shape                           # doctest: +SKIP
    (24,)
    """
    from da4ml.trace import FixedVariableArray

    return FixedVariableArray(np.concatenate([np.asarray(a._vars), np.asarray(b._vars)]), a.solver_options)


def pool_particles(h: Any, pooling: str, shift: int) -> Any:
    """Pool a traced (particles, channels) array over its particles: ``"mean"`` (the sum times
    2^-``shift``, i.e. over 2^shift particles) or ``"max"``.

    >>> pool_particles(h, "max", 0).shape                             # doctest: +SKIP
    (8,)
    """
    return np.sum(h, axis=0) * 2.0 ** -shift if pooling == "mean" else np.max(h, axis=0)
