"""A scan's points as plain choices: the grid's combinations crossed with seeded random draws.

A *choice* maps sampled keys (see :mod:`fpgakd.scan.spec`) to values, e.g.
``{"hidden": [32, 16], "mode": "kd"}``; :mod:`fpgakd.scan.points` turns each into a
resolved, validated student and firmware config.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from fpgakd.errors import ConfigError
from fpgakd.scan.space import parse_space
from fpgakd.scan.spec import ScanConfig

__all__ = ["sample_choices"]


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
