"""Elementary functions that give the same bits on every x86-64 processor with FMA.

numpy evaluates ``log``, ``sin``, ``cos``, ``sinh``, ``arcsinh``, ``arctan2`` and ``power``
of float64 arrays with kernels it picks at run time: on a processor with AVX-512 it uses its
own (SVML and AVX512F) code, elsewhere the C library's. The two differ in the last bits,
and the jet features, which amplify such differences through cancellations and grooming
decisions, then differ between an AMD and an Intel machine. These functions call the C
library (glibc's libm) one value at a time, as numpy does on a processor without AVX-512,
so the values are those numpy gives there, on any processor. glibc itself picks an FMA
variant on every processor since Haswell and Zen; on older processors (no FMA) its values
differ in the last bit too, which ``benchmarks/bench_isa_paths.py`` shows by hiding FMA.

A value costs about a microsecond (0.8-1.4 us on the 2-core machine under load), little beside
the event generation (about 15 ms a jet).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

__all__ = ["log", "sin", "cos", "sinh", "arcsinh", "arctan2", "power"]


def _ieee(fn: Callable[..., float]) -> Callable[..., float]:
    """``fn`` with numpy's answers where ``math`` raises: inf on overflow, else nan (or -inf
    for log(0))."""
    def guarded(*args: float) -> float:
        try:
            return fn(*args)
        except OverflowError:
            return math.copysign(math.inf, args[0]) if fn is not math.pow else math.inf
        except ValueError:
            if fn is math.log and args[0] == 0.0:
                return -math.inf
            return math.nan
    return guarded


def _elementwise(fn: Callable[..., float], nin: int) -> Callable[..., np.ndarray]:
    ufunc = np.frompyfunc(_ieee(fn), nin, 1)

    def apply(*args: Any) -> np.ndarray:
        out = ufunc(*(np.asarray(a, dtype=np.float64) for a in args))
        return np.asarray(out, dtype=np.float64)
    apply.__name__ = fn.__name__
    apply.__doc__ = f"Elementwise ``math.{fn.__name__}`` on float64 arrays (numpy's broadcasting)."
    return apply


log = _elementwise(math.log, 1)
sin = _elementwise(math.sin, 1)
cos = _elementwise(math.cos, 1)
sinh = _elementwise(math.sinh, 1)
arcsinh = _elementwise(math.asinh, 1)
arctan2 = _elementwise(math.atan2, 2)
_pow = _elementwise(math.pow, 2)


def power(x: Any, b: float) -> np.ndarray:
    """``x ** b`` elementwise; exponents numpy computes exactly (1, 2, 0.5) take numpy's path.

    >>> power(np.array([4.0, 9.0]), 0.5).tolist(), power(np.array([8.0]), 1.0 / 3.0).round(12).tolist()
    ([2.0, 3.0], [2.0])
    """
    if b in (1.0, 2.0, 0.5):
        # numpy maps these to a copy, a square and a square root: exact, no kernel choice
        return np.asarray(x, dtype=np.float64) ** b
    return _pow(x, b)
