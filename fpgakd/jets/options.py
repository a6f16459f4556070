"""Generation options: what determines a jet file, and the Pythia 8 settings they imply.

Same options -> same arrays (see :mod:`fpgakd.jets.generate` for the seeding).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fpgakd.config import check_field, validate_fields
from fpgakd.jets.jetfile import CLASS_NAMES

__all__ = ["GenerationOptions", "PROCESS_SETTINGS", "BASE_SETTINGS", "pythia_settings", "pthat_bracket",
           "is_integer", "is_finite_number"]

#: Settings common to every class. Counters, banners and the per-event consistency check
#: off: they only cost time (the check ~7% of Pythia's; it draws no random numbers, so the
#: events are identical with it on).
BASE_SETTINGS: tuple[str, ...] = (
    "Beams:eCM = 13000",
    "Check:event = off",
    "Next:numberCount = 0",
    "Next:numberShowEvent = 0",
    "Next:numberShowInfo = 0",
    "Next:numberShowProcess = 0",
    "Print:quiet = on",
    "Random:setSeed = on",
)

#: Pythia 8 process settings per class (Pythia 8.317 has no ffbar2ZZ: gmZgmZ with Z only).
PROCESS_SETTINGS: dict[str, tuple[str, ...]] = {
    "g": ("HardQCD:gg2gg = on", "HardQCD:qqbar2gg = on"),
    "q": ("HardQCD:qq2qq = on", "HardQCD:qqbar2qqbarNew = on", "HardQCD:gg2qqbar = on",
          "HardQCD:nQuarkNew = 3"),
    "W": ("WeakDoubleBoson:ffbar2WW = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"),
    "Z": ("WeakDoubleBoson:ffbar2gmZgmZ = on", "WeakZ0:gmZmode = 2", "23:onMode = off",
          "23:onIfAny = 1 2 3 4 5"),
    "t": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off",
          "24:onIfAny = 1 2 3 4 5"),
}

#: Default pTHat bracket relative to the jet pT window. Measured with pTHat 600-1500 GeV
#: and a 900-1100 GeV jet window: 99% of window jets come from pTHat below 1.05 pt_max,
#: but jets that gained pT from ISR and the underlying event reach down to pTHat ~0.65
#: pt_min. Starting at 0.9 pt_min leaves out 12% (W, q) to 25% (g) of those jets, the ones
#: with pT/pTHat > 1.1, in exchange for roughly twice as many kept jets per event as a
#: bracket from 0.65 pt_min; ``pthat_min`` / ``pthat_max`` override it.
PTHAT_BELOW = 0.9
PTHAT_ABOVE = 1.05



# ------------------------------------------------------------------- options
@dataclass(frozen=True)
class GenerationOptions:
    """Everything that determines a generated jet file (same options -> same arrays).

    >>> GenerationOptions(jets_per_class=1000, seed=1).pthat_range
    (810.0, 1155.0)
    """

    #: jets written per class (the file is exactly class-balanced)
    jets_per_class: int
    #: master seed; chunk seeds derive from (seed, class, chunk)
    seed: int
    #: jet pT window [pt_min, pt_max) in GeV, applied to the clustered jets
    pt_min: float = 900.0
    pt_max: float = 1100.0
    #: anti-kT radius, also the matching radius
    jet_r: float = 0.8
    #: per-particle detector response on/off
    smearing: bool = True
    #: constituents stored per jet (pT-ordered, zero-padded)
    n_constituents: int = 64
    #: classes to generate, names from fpgakd.jets.jetfile.CLASS_NAMES
    classes: tuple[str, ...] = CLASS_NAMES
    #: worker processes; None = os.cpu_count(). Does not change the output.
    workers: int | None = None
    #: mMDT (soft drop, beta = 0) z_cut for the groomed features
    z_cut: float = 0.1
    #: multiparton interactions (underlying event); off is about 3x faster, less realistic
    mpi: bool = True
    #: jets per work unit; part of the seeding, so changing it changes the sample
    chunk_jets: int = 500
    #: Pythia pTHat bracket in GeV; None = derived from the window (:func:`pthat_bracket`)
    pthat_min: float | None = None
    pthat_max: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(self.classes))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first option with an impossible value.

        >>> GenerationOptions(jets_per_class=0, seed=1)
        Traceback (most recent call last):
        ...
        fpgakd.errors.ConfigError: generation options: key 'jets_per_class': got 0, allowed: an integer >= 1
        """
        validate_fields(self._check_fields, "generation options")

    def _check_fields(self) -> None:
        def check(ok: bool, name: str, allowed: str) -> None:
            check_field(ok, name, getattr(self, name), allowed)

        is_int, is_num = is_integer, is_finite_number
        check(is_int(self.jets_per_class) and self.jets_per_class >= 1, "jets_per_class",
              "an integer >= 1")
        check(is_int(self.seed) and self.seed >= 0, "seed", "an integer >= 0")
        check(is_num(self.pt_min) and self.pt_min > 0, "pt_min", "a number > 0 (GeV)")
        check(is_num(self.pt_max) and self.pt_max > self.pt_min, "pt_max",
              f"a number above pt_min = {self.pt_min} (GeV)")
        check(is_num(self.jet_r) and 0 < self.jet_r <= math.pi / 2, "jet_r",
              "a radius in (0, pi/2]")
        check(isinstance(self.smearing, bool), "smearing", "true or false")
        check(is_int(self.n_constituents) and self.n_constituents >= 1, "n_constituents",
              "an integer >= 1")
        check(len(self.classes) >= 1 and all(c in CLASS_NAMES for c in self.classes)
              and len(set(self.classes)) == len(self.classes), "classes",
              f"distinct names from {list(CLASS_NAMES)}")
        check(self.workers is None or (is_int(self.workers) and self.workers >= 1), "workers",
              "None (all cores) or an integer >= 1")
        check(is_num(self.z_cut) and 0 < self.z_cut < 0.5, "z_cut", "a number in (0, 0.5)")
        check(isinstance(self.mpi, bool), "mpi", "true or false")
        check(is_int(self.chunk_jets) and self.chunk_jets >= 1, "chunk_jets", "an integer >= 1")
        check(self.pthat_min is None or (is_num(self.pthat_min) and self.pthat_min > 0),
              "pthat_min", "None or a number > 0 (GeV)")
        lo = self.pthat_range[0]
        check(self.pthat_max is None or (is_num(self.pthat_max) and self.pthat_max > lo),
              "pthat_max", f"None or a number above the pTHat minimum {lo} (GeV)")

    @property
    def pthat_range(self) -> tuple[float, float]:
        """The Pythia pTHat bracket used for this jet window, in GeV."""
        lo, hi = pthat_bracket(self.pt_min, self.pt_max)
        return (lo if self.pthat_min is None else float(self.pthat_min),
                hi if self.pthat_max is None else float(self.pthat_max))

    def to_dict(self) -> dict[str, Any]:
        """Plain (JSON-ready) dict of every option."""
        d = dataclasses.asdict(self)
        d["classes"] = list(self.classes)
        return d


def is_integer(v: Any) -> bool:
    """True for a Python or numpy integer (not a bool).

    >>> is_integer(3), is_integer(True), is_integer(3.0)
    (True, False, False)
    """
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def is_finite_number(v: Any) -> bool:
    """True for a finite Python or numpy number (not a bool).

    >>> is_finite_number(0.5), is_finite_number(float("nan")), is_finite_number(False)
    (True, False, False)
    """
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
        and math.isfinite(v)


def pthat_bracket(pt_min: float, pt_max: float) -> tuple[float, float]:
    """Pythia's pTHat range for a jet pT window [pt_min, pt_max) in GeV.

    >>> pthat_bracket(900.0, 1100.0)
    (810.0, 1155.0)
    """
    return round(PTHAT_BELOW * pt_min, 6), round(PTHAT_ABOVE * pt_max, 6)


def pythia_settings(class_name: str, options: GenerationOptions, seed: int) -> list[str]:
    """The full list of Pythia ``readString`` settings for one class and chunk seed.

    >>> pythia_settings("W", GenerationOptions(jets_per_class=1, seed=1), 5)[-1]
    'Random:seed = 5'
    """
    lo, hi = options.pthat_range
    settings = list(BASE_SETTINGS) + list(PROCESS_SETTINGS[class_name])
    settings += [f"PhaseSpace:pTHatMin = {lo}", f"PhaseSpace:pTHatMax = {hi}"]
    if not options.mpi:
        settings.append("PartonLevel:MPI = off")
    settings.append(f"Random:seed = {seed}")
    return settings


