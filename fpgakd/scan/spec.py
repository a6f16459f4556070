"""The scan YAML (``scans/*.yaml``): every key and its default declared once, validated on load.

A scan varies students around a base model (a name under ``models/``) and a firmware target
(a name under ``firmware_configs/``). Its points come from a ``grid`` (every combination)
crossed with ``random`` draws (``count`` of them, seeded), plus any hand-picked ``points``
(a list of choices, e.g. the KD recipe tuned for each size), over *sampled keys*:

* ``model``: the base student, a name under ``models/`` (or a YAML path);
* ``firmware``: the firmware target, a name under ``firmware_configs/``;
* ``mode``: ``kd`` (with the teacher) or ``scratch`` (without); when no grid or space
  samples it, every point is run in each of ``modes`` (KD and scratch twins);
* any student key as a dotted path into :class:`fpgakd.config.ModelConfig`: ``hidden``,
  ``quantization.weight_bits``, ``pruning.target_sparsity``, ``distillation.temperature``,
  ``distillation.alpha``, ``training.epochs``, ... and :data:`TIED_KEYS` (``bits``).

``fixed`` sets student keys on every point. The data set and the teacher are shared by all
points; ``jets: null`` is the embedded default dataset, ``teacher: null`` the default teacher
(trained once into the cache). Relative paths are relative to the working directory.

Example (``scans/example.yaml``)::

    name: example
    model: hlf_mlp
    fixed: {training.epochs: 10}
    grid:
      hidden: [[16], [32], [32, 16], [64, 32]]
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fpgakd.config import (ModelConfig, check_field, config_from_dict, load_yaml_mapping,
                           resolve_config_path)
from fpgakd.errors import ConfigError
from fpgakd.scan.space import parse_space

__all__ = ["RandomSampling", "ScanConfig", "load_scan_config", "SPECIAL_KEYS", "TIED_KEYS",
           "check_sampled_key", "resolve_model_path", "resolve_firmware_path"]

#: sampled keys that are not student keys: base model, firmware target, KD or scratch
SPECIAL_KEYS = ("model", "firmware", "mode")
#: one scan key setting several student keys to the same value
TIED_KEYS = {"bits": ("quantization.weight_bits", "quantization.input_bits",
                      "quantization.activation_bits")}
#: student keys a scan may not set: the run's identity comes from the scan itself
_RESERVED = ("name",)
_ALLOWED_KEYS = ("model, firmware, mode, bits, or a dotted student key such as hidden, "
                 "quantization.weight_bits, pruning.target_sparsity, distillation.temperature")


@dataclass(frozen=True)
class RandomSampling:
    """``count`` points drawn with ``seed`` from ``space``.

    ``space`` maps a sampled key to a list (drawn uniformly from its items) or to
    ``{low: a, high: b}`` (uniform in [a, b]; integers if both are; ``log: true`` for
    log-uniform), validated by :func:`fpgakd.scan.sampling.parse_space`.
    """

    count: int = 0
    seed: int = 0
    space: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_field(self.count >= 0, "count", self.count, "an integer >= 0")


@dataclass(frozen=True)
class ScanConfig:
    """A scan: base student, firmware target, shared data and teacher, how points are sampled."""

    name: str
    #: base student: a name under models/ or a YAML path
    model: str = "hlf_mlp"
    #: firmware target: a name under firmware_configs/ or a YAML path
    firmware: str = "vu13p_240mhz"
    #: students trained per point unless ``mode`` is sampled: KD and scratch twins
    modes: tuple[Literal["kd", "scratch"], ...] = ("kd", "scratch")
    #: jet file (or directory of parts) shared by all points, ~ expanded; null: the embedded
    #: default dataset
    jets: str | None = None
    #: teacher shared by all points: a directory from `fpgakd teacher`, a Keras file or a distill
    #: run directory (a teacher assistant); null: the default teacher
    teacher: str | None = None
    #: student keys set on every point (dotted paths)
    fixed: dict[str, Any] = field(default_factory=dict)
    #: sampled key -> list of values; every combination is a point
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    random: RandomSampling = field(default_factory=RandomSampling)
    #: hand-picked points, each a mapping of sampled keys to values, run after the grid's
    #: (when grid and random.space are empty, only these)
    points: tuple[dict[str, Any], ...] = ()
    #: held-out jets of each point's C-simulation check (firmware csim.n_jets is for single runs)
    csim_jets: int = 1000
    #: Dask retries of a point whose task raised an unexpected error (a lost worker is
    #: rescheduled by Dask itself, up to distributed.scheduler.allowed-failures times)
    retries: int = 2
    #: keep each point's HLS project (scan_dir/hls/KEY); off by default: they are large
    keep_projects: bool = False
    #: run the RTL flow (Yosys counts, Verilator check) where its tools are installed, as the
    #: firmware target says; false: the estimate only, a minute or more faster per point
    rtl: bool = True

    def __post_init__(self) -> None:
        check_field(bool(self.name) and all(c.isalnum() or c in "-_" for c in self.name), "name",
                    self.name, "letters, digits, '-' and '_' only")
        check_field(len(self.modes) >= 1 and len(set(self.modes)) == len(self.modes), "modes",
                    self.modes, "a non-empty list of distinct modes: kd, scratch")
        check_field(self.csim_jets >= 1, "csim_jets", self.csim_jets, "an integer >= 1")
        check_field(self.retries >= 0, "retries", self.retries, "an integer >= 0")
        for section, keys in (("grid", self.grid), ("random.space", self.random.space)):
            for key in keys:
                check_field(check_sampled_key(key), f"{section}.{key}", key, _ALLOWED_KEYS)
        for i, point in enumerate(self.points):
            check_field(isinstance(point, dict) and bool(point), f"points[{i}]", point,
                        "a mapping of sampled keys to values")
            for key in point:
                check_field(check_sampled_key(key), f"points[{i}].{key}", key, _ALLOWED_KEYS)
        for key in set(self.grid) & set(self.random.space):
            check_field(False, f"random.space.{key}", key, "a key not also in grid")
        for key in self.fixed:
            check_field(check_sampled_key(key) and key not in SPECIAL_KEYS, f"fixed.{key}", key,
                        "a student key (model, firmware and mode are top-level keys)")


def _student_key_exists(path: str) -> bool:
    cls: Any = ModelConfig
    for part in path.split("."):
        if not dataclasses.is_dataclass(cls):
            return False
        fields = {f.name for f in dataclasses.fields(cls)}
        if part not in fields:
            return False
        cls = typing.get_type_hints(cls)[part]
    return True


def check_sampled_key(key: str) -> bool:
    """Whether ``key`` may be sampled: a special key, a tied key or a student key path.

    >>> check_sampled_key("pruning.target_sparsity"), check_sampled_key("pruning.sparsity")
    (True, False)
    """
    if key in SPECIAL_KEYS or key in TIED_KEYS:
        return True
    return key.split(".")[0] not in _RESERVED and _student_key_exists(key)


def _resolve_named(value: str, folder: str, key: str, source: str) -> Path:
    path = resolve_config_path(value, folder)
    if not path.is_file():
        raise ConfigError(f"{source}: key '{key}': no {folder} entry {value!r} "
                          f"(looked for {path})")
    return path


def resolve_model_path(value: str, key: str, source: str) -> Path:
    """The YAML of base student ``value`` (a name under models/ or a path), checked to exist."""
    return _resolve_named(value, "models", key, source)


def resolve_firmware_path(value: str, key: str, source: str) -> Path:
    """The YAML of firmware target ``value`` (under firmware_configs/ or a path), checked to exist."""
    return _resolve_named(value, "firmware_configs", key, source)


def _check_named_values(scan: ScanConfig, source: str) -> None:
    """Base models and firmware targets exist, wherever the scan names them."""
    resolve_model_path(scan.model, "model", source)
    resolve_firmware_path(scan.firmware, "firmware", source)
    for i, point in enumerate(scan.points):
        for key, check in (("model", resolve_model_path), ("firmware", resolve_firmware_path)):
            if key in point:
                check(point[key], f"points[{i}].{key}", source)
    for section, values in (("grid", scan.grid), ("random.space", scan.random.space)):
        for key, check in (("model", resolve_model_path), ("firmware", resolve_firmware_path)):
            items = values.get(key, ())
            for i, item in enumerate(items if isinstance(items, (list, tuple)) else ()):
                if not isinstance(item, str):
                    raise ConfigError(f"{source}: key '{section}.{key}[{i}]': got {item!r}, "
                                      "expected a name")
                check(item, f"{section}.{key}[{i}]", source)


def load_scan_config(path: str | os.PathLike) -> ScanConfig:
    """Load and validate a scan YAML; errors name the file and the key.

    >>> load_scan_config("scans/example.yaml").model                     # doctest: +SKIP
    'hlf_mlp'
    """
    source = str(path)
    data = load_yaml_mapping(path)
    data.setdefault("name", Path(path).stem)
    scan = config_from_dict(ScanConfig, data, source)
    _check_named_values(scan, source)
    parse_space(scan.random.space, source)
    return scan
