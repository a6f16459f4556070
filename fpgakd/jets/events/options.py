"""Options of events with pileup: what determines an event file, and the Pythia 8 settings
they imply (same options -> same arrays, whatever the number of workers).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


from fpgakd.config import check_field, invalid_value_message, validate_fields
from fpgakd.errors import ConfigError
from fpgakd.jets.options import BASE_SETTINGS
from fpgakd.jets.options import is_finite_number as _is_num
from fpgakd.jets.options import is_integer as _is_int

__all__ = ["PileupOptions", "PROCESSES", "MINBIAS_SETTINGS", "hard_settings", "minbias_settings",
           "check_pythia_settings", "options_hash"]

#: HL-LHC proton-proton collisions (later settings override BASE_SETTINGS' 13 TeV)
BEAM_SETTING = "Beams:eCM = 14000"
#: Particles with c tau above 10 mm (K0S, Lambda, Sigma, Xi, Omega) stay undecayed, as in CMS's
#: common Pythia 8 settings (Pythia8CommonSettings): a detector sees them, or their decay
#: products far from the beam, and this module has no tracker to model the latter.
DECAY_SETTINGS = ("ParticleDecays:limitTau0 = on", "ParticleDecays:tau0Max = 10")
#: W -> e nu or mu nu only (tau decays would add displaced, partly invisible products)
_W_TO_E_MU = ("24:onMode = off", "24:onIfAny = 11 13")
#: pTHat is the W's transverse momentum in these 2 -> 2 processes, whose cross section
#: diverges as pTHat -> 0. 20 GeV leaves the recoiling parton enough pT to make the
#: study's jets (pT > 15 GeV) in most events while keeping the soft W's whose pT-miss
#: pileup degrades most.
WJETS_PTHAT_MIN = 20.0
#: hard-process presets (names for ``--process``)
PROCESSES: dict[str, tuple[str, ...]] = {
    "wjets": ("WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on",
              *_W_TO_E_MU, f"PhaseSpace:pTHatMin = {WJETS_PTHAT_MIN}"),
    "ttbar_dilep": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", *_W_TO_E_MU),
}
#: the inelastic non-diffractive interactions that make up pileup (Pythia's minimum bias)
MINBIAS_SETTINGS: tuple[str, ...] = ("SoftQCD:nonDiffractive = on",)

#: Acceptance |eta| < 4: the CMS Phase-2 tracker's coverage (CERN-LHCC-2017-009), the
#: acceptance of Bal et al. 2024.
ETA_MAX = 4.0
#: Particles below 0.5 GeV are dropped: they are two thirds of a minimum-bias event's
#: visible particles in the acceptance (measured: 161 per event, 47 above 0.5 GeV) but a
#: small part of its pT, and would triple the particles every student must weigh.
PT_MIN_GEV = 0.5
#: rms length of the luminous region along the beam: 3.5 cm in LHC Run 2 (2016-18), 5-6 cm
#: in 2011-12 (CMS beam-spot fits); 4 cm sits between.
SIGMA_Z_CM = 4.0
#: Track impact-parameter resolution sigma(pT) = a (+) b / pT, in cm and cm GeV: a from
#: CMS isolated 100 GeV muons (10 um transverse, 30 um longitudinal), b the
#: multiple-scattering term, ~100 um (d0) and ~150 um (dz) at 1 GeV in the barrel
#: (CMS, JINST 9 (2014) P10009, figs. 14-15).
D0_RESOLUTION_CM = (10e-4, 100e-4)
DZ_RESOLUTION_CM = (30e-4, 150e-4)
#: min-bias events in the overlay library: each is drawn ~mu * events / size times (2.5 for
#: the quickstart) and it builds in ~20 s on 2 cores
LIBRARY_SIZE = 10_000
#: the largest mean pileup accepted: five times the HL-LHC's 200, ~45,000 particles per
#: event; a larger value is a typo (or an event too big for the teacher's memory)
MU_MAX = 1000.0
#: command-line flag of each option, so that errors name what the user typed
_FLAGS = {"mu": "--mu", "n_events": "--events", "seed": "--seed", "process": "--process",
          "library_size": "--library-size", "workers": "--workers", "sigma_z": "--sigma-z",
          "smearing": "--no-smearing", "pythia_settings": "--pythia"}


@dataclass(frozen=True)
class PileupOptions:
    """Everything that determines an event file with pileup (validated on creation).

    >>> PileupOptions(mu=0, n_events=10).process
    'wjets'
    >>> PileupOptions(mu=-1)
    Traceback (most recent call last):
    ...
    fpgakd.errors.ConfigError: event options: key 'mu' (--mu): got -1, allowed: a number from 0 to 1000 (mean pileup interactions)
    """

    #: hard process: a name from PROCESSES
    process: str = "wjets"
    #: mean number of pileup interactions (Poisson) overlaid on each hard event
    mu: float = 50.0
    n_events: int = 500
    #: master seed of the hard events and the overlays (not of the min-bias library)
    seed: int = 0
    #: min-bias events in the overlay library, and the library's own seed
    library_size: int = LIBRARY_SIZE
    library_seed: int = 0
    #: vertex spread along the beam (cm)
    sigma_z: float = SIGMA_Z_CM
    #: (constant, multiple-scattering) terms of the d0 and dz resolutions (cm, cm GeV)
    d0_resolution: tuple[float, float] = D0_RESOLUTION_CM
    dz_resolution: tuple[float, float] = DZ_RESOLUTION_CM
    eta_max: float = ETA_MAX
    pt_min: float = PT_MIN_GEV
    #: per-particle energy response of fpgakd.jets.detector on/off
    smearing: bool = True
    #: extra Pythia settings for the hard process, e.g. ("PhaseSpace:pTHatMin = 50",)
    pythia_settings: tuple[str, ...] = ()
    #: worker processes; None = all cores. Does not change the output.
    workers: int | None = None

    def __post_init__(self) -> None:
        for name in ("d0_resolution", "dz_resolution", "pythia_settings"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self.validate()
        # plain floats and ints: mu=50 and mu=50.0 (or numpy scalars) are the same options,
        # with the same cache key
        for name in ("mu", "sigma_z", "eta_max", "pt_min"):
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("n_events", "seed", "library_size", "library_seed"):
            object.__setattr__(self, name, int(getattr(self, name)))
        for name in ("d0_resolution", "dz_resolution"):
            object.__setattr__(self, name, tuple(float(t) for t in getattr(self, name)))

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first option with an impossible value, and its flag."""
        validate_fields(self._check_fields, "event options", _FLAGS)

    def _check_fields(self) -> None:
        def check(ok: bool, name: str, allowed: str) -> None:
            check_field(ok, name, getattr(self, name), allowed)

        check(self.process in PROCESSES, "process", f"one of {', '.join(PROCESSES)}")
        check(_is_num(self.mu) and 0 <= self.mu <= MU_MAX, "mu",
              f"a number from 0 to {MU_MAX:g} (mean pileup interactions)")
        check(_is_int(self.n_events) and self.n_events >= 1, "n_events", "an integer >= 1")
        for name in ("seed", "library_seed"):
            check(_is_int(getattr(self, name)) and getattr(self, name) >= 0, name, "an integer >= 0")
        check(_is_int(self.library_size) and self.library_size >= 1, "library_size", "an integer >= 1")
        for name in ("sigma_z", "eta_max"):
            check(_is_num(getattr(self, name)) and getattr(self, name) > 0, name, "a number > 0")
        check(_is_num(self.pt_min) and self.pt_min >= 0, "pt_min", "a number >= 0 (GeV)")
        for name in ("d0_resolution", "dz_resolution"):
            terms = getattr(self, name)
            check(len(terms) == 2 and all(_is_num(t) and t >= 0 for t in terms), name,
                  "two numbers >= 0 (constant term in cm, multiple-scattering term in cm GeV)")
        check(isinstance(self.smearing, bool), "smearing", "true or false")
        check(self.workers is None or (_is_int(self.workers) and self.workers >= 1), "workers",
              "None (all cores) or an integer >= 1")
        check(all(isinstance(s, str) for s in self.pythia_settings), "pythia_settings",
              "Pythia setting strings such as 'PhaseSpace:pTHatMin = 50'")
        if self.pythia_settings:
            check_pythia_settings(self.pythia_settings)

    def to_dict(self) -> dict[str, Any]:
        """Plain (JSON-ready) dict of every option."""
        d = dataclasses.asdict(self)
        for name in ("d0_resolution", "dz_resolution", "pythia_settings"):
            d[name] = list(d[name])
        return d


def check_pythia_settings(settings: Sequence[str]) -> None:
    """Raise :class:`ConfigError` naming the first setting Pythia's ``readString`` rejects.

    >>> check_pythia_settings(["WeakBosonAndParton:qqbar2Wgg = on"])      # doctest: +SKIP
    Traceback (most recent call last):
    ...
    fpgakd.errors.ConfigError: event options: key 'pythia_settings' (--pythia): got 'WeakBosonAndParton:qqbar2Wgg = on', allowed: a setting Pythia accepts (unknown setting or process)
    """
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for s in settings:
        # warn=False: the error below says it once, without Pythia's own banner on stdout
        if not pythia.readString(s, False):
            raise ConfigError(invalid_value_message("event options", "pythia_settings", s,
                                                    "a setting Pythia accepts (unknown setting or process)",
                                                    _FLAGS["pythia_settings"]))


def hard_settings(options: PileupOptions, seed: int) -> list[str]:
    """Pythia settings of the hard process with Pythia seed ``seed``.

    >>> hard_settings(PileupOptions(), 7)[-1]
    'Random:seed = 7'
    """
    return [*BASE_SETTINGS, BEAM_SETTING, *DECAY_SETTINGS, *PROCESSES[options.process],
            *options.pythia_settings, f"Random:seed = {seed}"]


def minbias_settings(seed: int) -> list[str]:
    """Pythia settings of the minimum-bias (pileup) interactions with Pythia seed ``seed``.

    >>> minbias_settings(3)[-2:]
    ['SoftQCD:nonDiffractive = on', 'Random:seed = 3']
    """
    return [*BASE_SETTINGS, BEAM_SETTING, *DECAY_SETTINGS, *MINBIAS_SETTINGS, f"Random:seed = {seed}"]


def options_hash(data: dict[str, Any]) -> str:
    """12 hex digits of a SHA-256 over ``data`` as sorted JSON: a cache key.

    >>> options_hash({"a": 1}) == options_hash({"a": 1})
    True
    """
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
