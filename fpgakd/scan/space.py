"""A scan's random search space: the dimensions of ``random.space``, parsed and drawn.

Each key of ``random.space`` is a :class:`Choice` (a list of values) or a :class:`Range`
(``{low, high, log}``). The scan config (:mod:`fpgakd.scan.spec`) checks the space when it
loads; :mod:`fpgakd.scan.sampling` draws from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fpgakd.errors import ConfigError

__all__ = ["Choice", "Range", "parse_space"]


@dataclass(frozen=True)
class Choice:
    """Draw one of ``values``, each equally likely."""

    values: tuple[Any, ...]

    def draw(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]


@dataclass(frozen=True)
class Range:
    """Draw uniformly in [low, high] (log-uniformly with ``log``); integers if ``integer``."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def draw(self, rng: np.random.Generator) -> Any:
        if self.integer and not self.log:
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = float(rng.uniform(self.low, self.high))
        return int(round(value)) if self.integer else value


def _parse_range(spec: dict, where: str, source: str) -> Range:
    unknown = sorted(set(spec) - {"low", "high", "log"})
    if unknown:
        raise ConfigError(f"{source}: unknown key '{where}.{unknown[0]}'; allowed here: high, log, low")
    for name in ("low", "high"):
        value = spec.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: key '{where}.{name}': got {value!r}, expected a number")
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{source}: key '{where}.log': got {log!r}, expected true or false")
    if not low <= high or (log and low <= 0):
        raise ConfigError(f"{source}: key '{where}': got low={low!r}, high={high!r}, "
                          f"allowed: low <= high{' and low > 0 (log)' if log else ''}")
    return Range(float(low), float(high), log, isinstance(low, int) and isinstance(high, int))


def parse_space(space: dict[str, Any], source: str) -> dict[str, Choice | Range]:
    """The random-sampling dimensions of ``random.space``; errors name the file and key.

    >>> parse_space({"distillation.alpha": {"low": 0.1, "high": 0.9}, "bits": [4, 8]}, "s.yaml")["bits"]
    Choice(values=(4, 8))
    """
    dims: dict[str, Choice | Range] = {}
    for key, spec in space.items():
        where = f"random.space.{key}"
        if isinstance(spec, (list, tuple)) and spec:
            dims[key] = Choice(tuple(spec))
        elif isinstance(spec, dict):
            dims[key] = _parse_range(spec, where, source)
        else:
            raise ConfigError(f"{source}: key '{where}': got {spec!r}, expected a non-empty list "
                              "of values or {low: ..., high: ...}")
    return dims
