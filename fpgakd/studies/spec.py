"""Study YAML (``studies/*.yaml``): one frozen dataclass per study, defaults declared once.

Each study file names its ``kind`` (``boost``, ...); :func:`load_study_config` picks the
dataclass, fills the defaults and validates every key, raising
:class:`~fpgakd.errors.ConfigError` naming the file, the key path, what it got and what is
allowed (the same loader as ``models/`` and ``firmware_configs/``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from fpgakd.config import check_field, config_from_dict, load_yaml_mapping, resolve_config_path
from fpgakd.errors import ConfigError
from fpgakd.jets.events.verdict import VerdictConfig

__all__ = ["BoostStudyConfig", "DegradedStudyConfig", "PileupStudyConfig", "STUDY_KINDS", "load_study_config"]

STUDY_FOLDER = "studies"


@dataclass(frozen=True)
class BoostStudyConfig:
    """Lorentz-boost robustness: test jets boosted along x, each by beta ~ U[0, beta_max].

    One uniform draw u per jet (``seed``) serves every ``beta_max`` (beta = u * beta_max), so
    the points differ only in the boost's size, not in which jets get a large one.
    """

    name: str
    kind: Literal["boost"] = "boost"
    #: largest boost of each point, in units of c; each in [0, 1)
    beta_max: tuple[float, ...] = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)
    seed: int = 0
    #: test jets used (the first ones of the test split); null: all of them
    n_jets: int | None = None

    def __post_init__(self) -> None:
        check_field(len(self.beta_max) >= 1, "beta_max", self.beta_max, "a non-empty list")
        for i, beta in enumerate(self.beta_max):
            check_field(0.0 <= beta < 1.0, f"beta_max[{i}]", beta, "a number in [0, 1)")
        check_field(self.n_jets is None or self.n_jets >= 1, "n_jets", self.n_jets,
                    "an integer >= 1 or null")


@dataclass(frozen=True)
class DegradedStudyConfig:
    """Distillation from degraded data: the teacher reads full-resolution constituents, the
    students (KD and scratch) a coarser detector's (:mod:`fpgakd.studies.degrade`)."""

    name: str
    kind: Literal["degraded"] = "degraded"
    #: extra relative smearing of each particle's pT (and E): factor ~ N(1, pt_smearing); 0: off
    pt_smearing: float = 0.2
    #: the N hardest particles kept per jet (at most the file's stored number)
    n_constituents: int = 8
    #: eta and phi rounded to this grid (about a calorimeter tower is 0.087); 0: off
    angle_step: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        check_field(self.pt_smearing >= 0, "pt_smearing", self.pt_smearing, "a number >= 0")
        check_field(self.n_constituents >= 1, "n_constituents", self.n_constituents, "an integer >= 1")
        check_field(self.angle_step >= 0, "angle_step", self.angle_step, "a number >= 0")


@dataclass(frozen=True)
class PileupStudyConfig:
    """The pileup verdict on particle distill runs (DistillNet, Bal et al. 2024): pT-miss and
    jet resolution of no mitigation, PUPPI, the teacher and each run's student
    (:mod:`fpgakd.jets.events.verdict` defines every quantity)."""

    name: str
    kind: Literal["pileup"] = "pileup"
    verdict: VerdictConfig = field(default_factory=VerdictConfig)


STUDY_KINDS: dict[str, type] = {"boost": BoostStudyConfig, "degraded": DegradedStudyConfig,
                                "pileup": PileupStudyConfig}


def load_study_config(name_or_path: str | os.PathLike, kind: str | None = None) -> Any:
    """Load and validate a study YAML (a bare name is looked up under ``studies/``).

    ``kind``, if given, must match the file's ``kind`` key.

    >>> load_study_config("boost").beta_max[-1]
    0.9
    """
    path = resolve_config_path(name_or_path, STUDY_FOLDER)
    data = load_yaml_mapping(path)
    found = data.get("kind")
    if found not in STUDY_KINDS:
        raise ConfigError(f"{path}: key 'kind': got {found!r}, allowed: {', '.join(map(repr, STUDY_KINDS))}")
    if kind is not None and found != kind:
        raise ConfigError(f"{path}: key 'kind': got {found!r}, but this is the {kind!r} study")
    return config_from_dict(STUDY_KINDS[found], data, str(path))
