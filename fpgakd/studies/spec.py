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
from fpgakd.learn.pileup.verdict import VerdictConfig

__all__ = ["AugmentedTeacherConfig", "BoostStudyConfig", "DegradedStudyConfig", "PileupStudyConfig", "SourceWindowConfig",
           "TransferStudyConfig", "STUDY_KINDS", "load_study_config"]

STUDY_FOLDER = "studies"


@dataclass(frozen=True)
class AugmentedTeacherConfig:
    """The boost study's second experiment (Liu et al. 2023): is a teacher's robustness transferred?

    A teacher of the baseline's config is trained on jets whose training and validation
    splits are boosted along x by beta ~ U[0, beta_max] (one seeded draw per jet); the
    first run's student config is then distilled from it with alpha = 0 (the teacher alone,
    no hard labels) on the unboosted jets, and likewise from the baseline teacher.
    """

    enabled: bool = False
    #: largest training boost, in units of c, in [0, 1); 0 trains on the file's jets unchanged
    beta_max: float = 0.5
    #: the draw of each training jet's boost (another stream than the test jets' ``seed``)
    seed: int = 1

    def __post_init__(self) -> None:
        check_field(0.0 <= self.beta_max < 1.0, "beta_max", self.beta_max, "a number in [0, 1)")
        check_field(self.seed >= 0, "seed", self.seed, "an integer >= 0")


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
    #: the second experiment, off by default (it trains a teacher and two students)
    augmented_teacher: AugmentedTeacherConfig = field(default_factory=AugmentedTeacherConfig)

    def __post_init__(self) -> None:
        check_field(len(self.beta_max) >= 1, "beta_max", self.beta_max, "a non-empty list")
        for i, beta in enumerate(self.beta_max):
            check_field(0.0 <= beta < 1.0, f"beta_max[{i}]", beta, "a number in [0, 1)")
        check_field(self.n_jets is None or self.n_jets >= 1, "n_jets", self.n_jets,
                    "an integer >= 1 or null")


@dataclass(frozen=True)
class DegradedStudyConfig:
    """Distillation from degraded data: the teacher reads full-resolution constituents, the
    students (KD and scratch) a coarser detector's (:mod:`fpgakd.studies.jet_degradation`)."""

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
    (:mod:`fpgakd.learn.pileup.verdict` defines every quantity)."""

    name: str
    kind: Literal["pileup"] = "pileup"
    verdict: VerdictConfig = field(default_factory=VerdictConfig)



@dataclass(frozen=True)
class SourceWindowConfig:
    """The jets a transfer study's teacher is pre-trained on: generated (Pythia 8 + FastJet,
    the default set's physics and detector) in another jet pT window, cached."""

    #: jet pT window [pt_min, pt_max) in GeV; must not overlap the target jets' pT range
    pt_min: float = 500.0
    pt_max: float = 700.0
    #: 2,000 per class generate in about 2 minutes on 2 cores (38 jets/s/core measured)
    jets_per_class: int = 2000
    #: the default set's seed is 20241122: another seed, so no Pythia stream is shared
    seed: int = 20241123

    def __post_init__(self) -> None:
        check_field(self.pt_min > 0, "pt_min", self.pt_min, "a number > 0 (GeV)")
        check_field(self.pt_max > self.pt_min, "pt_max", self.pt_max, f"a number > pt_min ({self.pt_min})")
        check_field(self.jets_per_class >= 1, "jets_per_class", self.jets_per_class, "an integer >= 1")
        check_field(self.seed >= 0, "seed", self.seed, "an integer >= 0")


@dataclass(frozen=True)
class TransferStudyConfig:
    """Teacher transfer across pT windows (after Dreyer et al. 2022): a teacher pre-trained
    on the ``source`` window, fine-tuned on a fraction of the target training split, against
    the same teacher trained from scratch on that fraction; then a student distilled from
    the teacher fine-tuned on all of it."""

    name: str
    kind: Literal["transfer"] = "transfer"
    source: SourceWindowConfig = field(default_factory=SourceWindowConfig)
    #: teacher definition (a name under teachers/ or a path); trained with one model (n_folds 1)
    teacher: str = "deepsets"
    #: fractions of the target training split, each in (0, 1]
    fractions: tuple[float, ...] = (0.01, 0.1, 1.0)
    #: subsample and training seeds: every fraction below 1 runs once per seed, 1 with the first
    seeds: tuple[int, ...] = (0, 1, 2)
    #: fine-tuning learning rate; epochs and patience are the teacher's. Chosen on the target
    #: validation split (default data, Deep Sets, seed 0): 1e-3 against 3e-4 gave 64.3% vs
    #: 64.5% at 1% (3 seeds), 66.4% vs 66.1% at 10%, 70.3% vs 69.3% at 100%
    finetune_learning_rate: float = 1e-3
    #: the student (a name under models/) distilled from the fine-tuned teacher, with its scratch twin
    student: str = "constituent_mlp"

    def __post_init__(self) -> None:
        check_field(len(self.fractions) >= 1, "fractions", self.fractions, "a non-empty list")
        for i, fraction in enumerate(self.fractions):
            check_field(0.0 < fraction <= 1.0, f"fractions[{i}]", fraction, "a number in (0, 1]")
        check_field(len(set(self.fractions)) == len(self.fractions), "fractions", self.fractions,
                    "each fraction once")
        check_field(len(self.seeds) >= 1 and len(set(self.seeds)) == len(self.seeds), "seeds",
                    self.seeds, "a non-empty list of distinct integers")
        check_field(self.finetune_learning_rate > 0, "finetune_learning_rate",
                    self.finetune_learning_rate, "a number > 0")


STUDY_KINDS: dict[str, type] = {"boost": BoostStudyConfig, "degraded": DegradedStudyConfig,
                                "pileup": PileupStudyConfig, "transfer": TransferStudyConfig}


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
