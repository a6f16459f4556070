"""A scan's points as plain choices: the grid's combinations crossed with seeded random draws.

A *choice* maps sampled keys (see :mod:`fpgakd.scan.spec`) to values, e.g.
``{"hidden": [32, 16], "mode": "kd"}``; :mod:`fpgakd.scan.points` turns each into a
resolved, validated student and firmware config.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fpgakd.errors import ConfigError
from fpgakd.scan.spec import ScanConfig

__all__ = ["Choice", "Range", "parse_space", "sample_choices"]


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


def _grid_choices(grid: dict[str, tuple[Any, ...]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def _random_choices(scan: ScanConfig, source: str) -> list[dict[str, Any]]:
    if not scan.random.space:
        return [{}]
    dims = parse_space(scan.random.space, source)
    rng = np.random.default_rng(scan.random.seed)
    return [{key: dim.draw(rng) for key, dim in dims.items()} for _ in range(scan.random.count)]


def _with_modes(choices: list[dict[str, Any]], modes: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each choice that does not name its mode, once per mode (KD and scratch twins)."""
    out: list[dict[str, Any]] = []
    for choice in choices:
        out += [choice] if "mode" in choice else [{**choice, "mode": mode} for mode in modes]
    return out


def sample_choices(scan: ScanConfig, source: str = "<scan>") -> list[dict[str, Any]]:
    """Every point of ``scan``: grid combinations x random draws, then the hand-picked
    ``points``, each x modes (unless it names its mode).

    Raises :class:`~fpgakd.errors.ConfigError` if that is no point at all (an empty grid
    list, or a random space with ``count: 0``).

    >>> scan = ScanConfig(name="s", grid={"hidden": ([16], [32])})
    >>> [c["mode"] for c in sample_choices(scan)]
    ['kd', 'scratch', 'kd', 'scratch']
    """
    sampled = scan.grid or scan.random.space or not scan.points
    combined = ([{**g, **r} for g in _grid_choices(scan.grid) for r in _random_choices(scan, source)]
                if sampled else [])
    combined = _with_modes(combined + [dict(p) for p in scan.points], scan.modes)
    if not combined:
        empty = [f"grid.{k}" for k, v in scan.grid.items() if not v]
        why = (f"key '{empty[0]}' is an empty list" if empty
               else "key 'random.count' is 0 while random.space is set")
        raise ConfigError(f"{source}: the scan has no points: {why}")
    return combined
