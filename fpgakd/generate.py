"""Generate labelled jets with Pythia 8 and FastJet into one fpgakd jet file.

The physics follows the hls4ml LHC jet dataset (see the layout in :mod:`fpgakd.jetfile`):

* pp collisions at 13 TeV, one Pythia 8 process set per class (:data:`PROCESS_SETTINGS`);
  ``PhaseSpace:pTHatMin/Max`` bracket the jet pT window (:func:`pthat_bracket`), the window
  itself is applied to the reconstructed jets.
* Multiparton interactions, ISR, FSR, hadronization and decays stay on (Pythia's defaults,
  Monash tune): the underlying event lands inside R = 0.8 jets and changes their
  multiplicity and ungroomed mass. They are also most of Pythia's time (about 7 ms per
  1 TeV dijet event with MPI, 2.5 ms without), so ``GenerationOptions(mpi=False)`` exists
  for quick studies; files record which was used.
* Visible final-state particles (neutrinos dropped) get the detector response of the
  original dataset's processing (:func:`smear_particles`); a particle whose drawn energy
  factor is at or below zero is lost.
* Anti-kT clustering with the ``fastjet`` bindings (many events per call through their
  awkward-array interface). A jet is kept when it lies within Delta R < R of the class's
  hard object (the outgoing gluon / light quark u, d, s at ``iBotCopy()``; the last copy of
  the W, Z or top) with, for W, Z and t, every decay quark inside R of the jet axis (fully
  merged), and when its pT is in ``[pt_min, pt_max)``. Angles for matching are Delta R in
  (rapidity, azimuth), as FastJet clusters.

Work is split into chunks of ``chunk_jets`` jets per class. A chunk's Pythia seed and
smearing generator come from ``numpy.random.SeedSequence(seed, spawn_key=(class index,
chunk index))``, and chunks are written in order, so the same options give identical
files with any number of worker processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import logging
import math
import multiprocessing
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.atomic import atomic_path
from fpgakd.errors import ConfigError, DataError, ToolError
from fpgakd.jetfile import (CLASS_NAMES, CONSTITUENT_NAMES, FORMAT_NAME, FORMAT_VERSION,
                            HLF_NAMES, JET_NAMES)

__all__ = ["GenerationOptions", "GenerationSummary", "ClassSummary", "PROCESS_SETTINGS",
           "BASE_SETTINGS", "pythia_settings", "pthat_bracket", "smear_particles",
           "generate_chunk", "generate_jets"]

log = logging.getLogger(__name__)

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

# Parton ids: light quarks for the q class, any quark for decay products, the gluon.
_LIGHT_QUARKS = (1, 2, 3)
_QUARK_MAX_ID = 5
_GLUON = 21
_NEUTRINOS = (12, 14, 16)
_PHOTON = 22
_RESONANCE_ID = {"W": 24, "Z": 23, "t": 6}
_W_ID = 24
_DECAY_QUARKS = {"W": 2, "Z": 2, "t": 3}  # t -> b W, W -> q q'
_HARD_OUTGOING_STATUS = (-23, -22)  # outgoing partons (-23) / resonances (-22) of the 2 -> 2
_HARD_OUTGOING_SLOTS = (5, 6)       # event-record rows of the hard 2 -> 2 outgoing pair

# Detector response of the original dataset's processing (E, pT in GeV).
_CHARGED_PT_TERM = 2.5e-4
_CHARGED_CONST = 0.015
_PHOTON_STOCH, _PHOTON_SCALE, _PHOTON_NOISE, _PHOTON_CONST = 0.027, 1.6, 0.15, 0.005
_NEUTRAL_STOCH, _NEUTRAL_SCALE, _NEUTRAL_CONST = 1.20, 7.0, 0.05

# A chunk is abandoned when this many events per requested jet gave nothing: the window
# or R cannot be reached with these processes (a guard against an endless loop).
_MAX_EVENTS_PER_JET = 200
_MIN_EVENTS_BEFORE_GIVING_UP = 2000
_MAX_FAILED_NEXT = 100
# Events are clustered in batches: large enough to amortise the FastJet call, small
# enough not to overshoot a chunk by much.
_MIN_BATCH_EVENTS = 8
_MAX_BATCH_EVENTS = 256
_PYTHIA_SEED_MAX = 900_000_000  # Pythia's Random:seed range is 0 .. 900 000 000
# HDF5 storage: gzip level 4 is most of level 9's gain at a fraction of its time; chunks of
# a few hundred jets suit the readers, which load contiguous slices.
_GZIP_LEVEL = 4
_HDF5_CHUNK_JETS = 256


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
    #: classes to generate, names from fpgakd.jetfile.CLASS_NAMES
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
        fpgakd.errors.ConfigError: generation option 'jets_per_class': got 0, expected an integer >= 1
        """
        def check(ok: bool, name: str, allowed: str) -> None:
            if not ok:
                raise ConfigError(f"generation option {name!r}: got {getattr(self, name)!r}, "
                                  f"expected {allowed}")

        def is_int(v: Any) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        def is_num(v: Any) -> bool:
            return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
                and math.isfinite(v)

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


# ------------------------------------------------------------------- summary
@dataclass(frozen=True)
class ClassSummary:
    """Per-class numbers of a generated sample."""

    name: str
    jets: int
    events: int
    mean_multiplicity: float
    median_mass_mmdt: float
    median_d2_b1: float


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate_jets` produced, for the CLI and the logs.

    >>> s = GenerationSummary(path="j.h5", classes=(ClassSummary("W", 10, 8, 52.0, 80.1, 1.1),),
    ...                       elapsed_s=2.0, workers=1)
    >>> s.jets_per_second_per_core
    5.0
    """

    path: str
    classes: tuple[ClassSummary, ...]
    elapsed_s: float
    workers: int
    counts: dict[str, int] = field(default_factory=dict)
    #: worker CPU seconds per class and stage (init, pythia, cluster, features): CPU time,
    #: not wall time, so that a shared machine does not distort per-core rates
    stage_seconds: dict[str, dict[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.counts:
            object.__setattr__(self, "counts", {c.name: c.jets for c in self.classes})

    @property
    def total_jets(self) -> int:
        return sum(c.jets for c in self.classes)

    @property
    def jets_per_second_per_core(self) -> float:
        return self.total_jets / max(self.elapsed_s, 1e-9) / max(self.workers, 1)

    def format_table(self) -> str:
        """Per-class table (jets, events, mean multiplicity, median groomed mass, median D2)."""
        head = (f"{'class':<6}{'jets':>8}{'events':>9}{'mean mult':>11}"
                f"{'med m_mmdt [GeV]':>18}{'med D2(b=1)':>13}")
        lines = [head, "-" * len(head)]
        for c in self.classes:
            lines.append(f"{c.name:<6}{c.jets:>8d}{c.events:>9d}{c.mean_multiplicity:>11.1f}"
                         f"{c.median_mass_mmdt:>18.1f}{c.median_d2_b1:>13.3f}")
        lines.append(f"{self.total_jets} jets in {self.elapsed_s:.1f} s on {self.workers} "
                     f"worker(s): {self.jets_per_second_per_core:.1f} jets/s/core")
        return "\n".join(lines)


# ------------------------------------------------------------------- physics helpers
def smear_particles(p4: np.ndarray, charge: np.ndarray, pid: np.ndarray,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Apply the per-particle detector response; return (smeared p4, kept mask).

    ``p4`` is (M, 4) = (px, py, pz, E) in GeV, ``charge`` (M,) is Pythia's chargeType (0 for
    neutral), ``pid`` (M,) the PDG id. Each four-momentum is scaled by a factor drawn from
    N(1, sigma) with sigma from the particle's kind (charged: pT; photon and neutral
    hadron: E); a factor <= 0 loses the particle (``kept`` False).

    >>> p4 = np.array([[10.0, 0, 0, 10.0]]); rng = np.random.default_rng(0)
    >>> out, kept = smear_particles(p4, np.array([3]), np.array([211]), rng)
    >>> out.shape, bool(kept[0])
    ((1, 4), True)
    """
    p4 = np.asarray(p4, dtype=np.float64)
    if p4.ndim != 2 or p4.shape[1] != 4:
        raise DataError(f"smear_particles: p4 must be (M, 4), got {p4.shape}")
    pt = np.hypot(p4[:, 0], p4[:, 1])
    e = np.maximum(p4[:, 3], 1e-12)
    charged = np.asarray(charge) != 0
    photon = ~charged & (np.asarray(pid) == _PHOTON)
    sigma = np.sqrt((_NEUTRAL_STOCH / np.sqrt(e / _NEUTRAL_SCALE)) ** 2 + _NEUTRAL_CONST ** 2)
    sigma_ph = np.sqrt((_PHOTON_STOCH / np.sqrt(e / _PHOTON_SCALE)) ** 2
                       + (_PHOTON_NOISE * _PHOTON_SCALE / e) ** 2 + _PHOTON_CONST ** 2)
    sigma_ch = np.sqrt((_CHARGED_PT_TERM * pt) ** 2 + _CHARGED_CONST ** 2)
    sigma = np.where(charged, sigma_ch, np.where(photon, sigma_ph, sigma))
    factor = rng.normal(1.0, sigma)
    kept = factor > 0
    return p4 * factor[:, None], kept


def _wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Azimuth wrapped to [-pi, pi)."""
    return (phi + np.pi) % (2 * np.pi) - np.pi


def _kinematics(p4: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pt, eta, phi, rapidity) of (..., 4) four-momenta (px, py, pz, E)."""
    px, py, pz, e = p4[..., 0], p4[..., 1], p4[..., 2], p4[..., 3]
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(np.where(pt > 0, pz / np.where(pt > 0, pt, 1.0), 0.0))
        y = 0.5 * np.log(np.maximum(e + pz, 1e-300) / np.maximum(e - pz, 1e-300))
    return pt, eta, _wrap_phi(np.arctan2(py, px)), y


# ------------------------------------------------------------------- one chunk
class _Generator:
    """One Pythia instance and its bookkeeping for one (class, chunk)."""

    def __init__(self, class_name: str, options: GenerationOptions, pythia_seed: int) -> None:
        import pythia8mc

        self.class_name = class_name
        self.pythia = pythia8mc.Pythia("", False)
        for s in pythia_settings(class_name, options, pythia_seed):
            if not self.pythia.readString(s):
                raise ToolError(f"Pythia rejected the setting {s!r} (class {class_name})")
        if not self.pythia.init():
            raise ToolError(f"Pythia failed to initialise for class {class_name!r} with pTHat "
                            f"{options.pthat_range} GeV (options pt_min/pt_max or pthat_min/pthat_max)")
        self._charge: dict[int, int] = {}
        self._getters = {name: getattr(pythia8mc.Particle, name)
                         for name in ("isFinal", "id", "px", "py", "pz", "e")}
        self.failed = 0

    def charge_of(self, ids: np.ndarray) -> np.ndarray:
        """Pythia chargeType per id, cached: a dict lookup is cheaper than a binding call."""
        uniq, inverse = np.unique(ids, return_inverse=True)
        pdata = self.pythia.particleData
        out = np.empty(len(uniq), dtype=np.int64)
        for k, i in enumerate(uniq.tolist()):
            c = self._charge.get(i)
            if c is None:
                c = self._charge[i] = pdata.chargeType(i)
            out[k] = c
        return out[inverse]

    def next_event(self) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float, list]]]:
        """Generate one event: (final-state ids, their p4 (M, 4), hard objects).

        A hard object is (rapidity, phi, [(rapidity, phi) of decay quarks]); it is listed
        only if it belongs to this class (gluon, light quark, W, Z or top).
        """
        while not self.pythia.next():
            self.failed += 1
            if self.failed > _MAX_FAILED_NEXT:
                raise ToolError(f"Pythia failed {self.failed} times to generate an event for "
                                f"class {self.class_name!r}")
        event = self.pythia.event
        # The bindings have no bulk accessor: one call per particle and quantity is the
        # floor (~0.2 us each). filter/map over the unbound methods keep the loop in C,
        # about 10% faster than a comprehension; this is ~20% of the time per event.
        g = self._getters
        final = list(filter(g["isFinal"], event.particles()))
        n = len(final)
        ids = np.fromiter(map(g["id"], final), np.int64, n)
        p4 = np.empty((n, 4))
        for k, name in enumerate(("px", "py", "pz", "e")):
            p4[:, k] = np.fromiter(map(g[name], final), np.float64, n)
        return ids, p4, self._hard_objects(event)

    def _hard_objects(self, event: Any) -> list[tuple[float, float, list]]:
        objects = []
        cls = self.class_name
        for slot in _HARD_OUTGOING_SLOTS:
            prt = event[slot]
            if prt.status() not in _HARD_OUTGOING_STATUS:
                continue
            ida = prt.idAbs()
            if cls in ("g", "q"):
                if (cls == "g" and ida != _GLUON) or (cls == "q" and ida not in _LIGHT_QUARKS):
                    continue
                bot = event[prt.iBotCopy()]
                objects.append((bot.y(), bot.phi(), []))
                continue
            if ida != _RESONANCE_ID[cls]:
                continue
            last = event[prt.iBotCopyId()]
            quarks = []
            for d in last.daughterList():
                dp = event[d]
                dida = dp.idAbs()
                if cls == "t" and dida == _W_ID:
                    w = event[dp.iBotCopyId()]
                    quarks += [(event[q].y(), event[q].phi()) for q in w.daughterList()
                               if event[q].idAbs() <= _QUARK_MAX_ID]
                elif dida <= _QUARK_MAX_ID:
                    quarks.append((dp.y(), dp.phi()))
            if len(quarks) == _DECAY_QUARKS[cls]:
                objects.append((last.y(), last.phi(), quarks))
        return objects


def _delta_r(y1: Any, phi1: Any, y2: Any, phi2: Any) -> Any:
    return np.hypot(np.asarray(y1) - y2, _wrap_phi(np.asarray(phi1) - phi2))


def _jet_arrays(p4: np.ndarray, jet_p4: np.ndarray, n_constituents: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Constituent table (P, 11), mask (P,), jet row (4,) and all constituents (pt, eta, phi, e)."""
    pt, eta, phi, _ = _kinematics(p4)
    e = p4[:, 3]
    order = np.argsort(-pt, kind="stable")
    pt, eta, phi, e = pt[order], eta[order], phi[order], e[order]
    jpt, jeta, jphi, _ = _kinematics(jet_p4)
    je = jet_p4[3]
    jmass = math.sqrt(max(je ** 2 - float(np.sum(jet_p4[:3] ** 2)), 0.0))
    n = min(len(pt), n_constituents)
    deta = eta[:n] - jeta
    dphi = _wrap_phi(phi[:n] - jphi)
    table = np.zeros((n_constituents, len(CONSTITUENT_NAMES)), dtype=np.float32)
    table[:n] = np.stack([deta, dphi, np.log(pt[:n]), np.log(e[:n]), pt[:n] / jpt,
                          e[:n] / je, np.hypot(deta, dphi), pt[:n], eta[:n], phi[:n], e[:n]],
                         axis=1)
    mask = np.zeros(n_constituents, dtype=bool)
    mask[:n] = True
    return table, mask, np.array([jpt, jeta, jphi, jmass], dtype=np.float32), (pt, eta, phi, e)


def _chunk_seeds(seed: int, class_name: str, chunk_index: int) -> tuple[int, np.random.Generator]:
    """Pythia seed and smearing generator of one chunk; independent of the worker count."""
    ss = np.random.SeedSequence(seed, spawn_key=(CLASS_NAMES.index(class_name), chunk_index))
    ss_pythia, ss_smear = ss.spawn(2)
    pythia_seed = int(ss_pythia.generate_state(1, dtype=np.uint64)[0] % _PYTHIA_SEED_MAX) + 1
    return pythia_seed, np.random.default_rng(ss_smear)


def _swallow_fastjet_banner(ak, fastjet, jet_def) -> None:
    """Trigger FastJet's once-per-process banner with file descriptor 1 on /dev/null.

    The compiled extension behind fastjet's awkward interface writes the banner straight to
    the C++ stdout on its first clustering and offers no switch; the library never prints.
    """
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        probe = ak.Array([[{"px": 1.0, "py": 0.0, "pz": 0.0, "E": 1.0}]])
        fastjet.ClusterSequence(probe, jet_def).inclusive_jets()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def generate_chunk(class_name: str, chunk_index: int, n_jets: int,
                   options: GenerationOptions) -> dict[str, Any]:
    """Generate ``n_jets`` jets of one class for one chunk (the unit of parallel work).

    Returns a dict of arrays ``hlf`` (n, 16), ``constituents`` (n, P, 11), ``mask`` (n, P),
    ``jets`` (n, 4), ``events`` (events generated) and ``timing`` (CPU seconds in Pythia's
    initialisation; events + particle extraction + smearing; clustering + matching +
    constituent tables; the high-level features).

    >>> out = generate_chunk("W", 0, 5, GenerationOptions(jets_per_class=5, seed=1))  # doctest: +SKIP
    >>> out["hlf"].shape                                                                 # doctest: +SKIP
    (5, 16)
    """
    import awkward as ak
    import fastjet

    from fpgakd.observables import high_level_features

    pythia_seed, rng = _chunk_seeds(options.seed, class_name, chunk_index)
    t0 = time.process_time()
    gen = _Generator(class_name, options, pythia_seed)
    timing = {"init": time.process_time() - t0, "pythia": 0.0, "cluster": 0.0, "features": 0.0}
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, options.jet_r)
    _swallow_fastjet_banner(ak, fastjet, jet_def)
    P = options.n_constituents
    hlf = np.zeros((n_jets, len(HLF_NAMES)), dtype=np.float32)
    constituents = np.zeros((n_jets, P, len(CONSTITUENT_NAMES)), dtype=np.float32)
    mask = np.zeros((n_jets, P), dtype=bool)
    jets = np.zeros((n_jets, len(JET_NAMES)), dtype=np.float32)
    n_done = 0
    n_events = 0
    jets_per_event = 1.0  # running estimate, sizes the next batch
    while n_done < n_jets:
        if n_events >= max(_MIN_EVENTS_BEFORE_GIVING_UP, _MAX_EVENTS_PER_JET * n_jets) \
                and n_done == 0:
            raise DataError(f"class {class_name!r}: no jet passed the selection in {n_events} "
                            f"events; check the options pt_min={options.pt_min}, "
                            f"pt_max={options.pt_max}, jet_r={options.jet_r}")
        need = n_jets - n_done
        batch = int(min(_MAX_BATCH_EVENTS, max(_MIN_BATCH_EVENTS,
                                               math.ceil(1.1 * need / jets_per_event))))
        t = time.process_time()
        ids, p4s, objects = [], [], []
        for _ in range(batch):
            i, p, o = gen.next_event()
            ids.append(i)
            p4s.append(p)
            objects.append(o)
        n_events += batch
        counts = np.array([len(i) for i in ids])
        ids_flat = np.concatenate(ids)
        p4_flat = np.concatenate(p4s)
        visible = ~np.isin(np.abs(ids_flat), _NEUTRINOS)
        if options.smearing:
            charge = gen.charge_of(ids_flat)
            p4_flat, kept = smear_particles(p4_flat, charge, ids_flat, rng)
            visible &= kept
        event_of = np.repeat(np.arange(batch), counts)[visible]
        p4_flat = p4_flat[visible]
        counts = np.bincount(event_of, minlength=batch)
        timing["pythia"] += time.process_time() - t

        t = time.process_time()
        arr = ak.unflatten(ak.zip({"px": p4_flat[:, 0], "py": p4_flat[:, 1],
                                   "pz": p4_flat[:, 2], "E": p4_flat[:, 3]}), counts)
        cs = fastjet.ClusterSequence(arr, jet_def)
        # jets below the window can never be kept; asking FastJet for them only costs time
        cjets = cs.inclusive_jets(options.pt_min)
        cidx = cs.constituent_index(options.pt_min)
        jet_p4 = np.stack([ak.to_numpy(ak.flatten(cjets[f])) for f in ("px", "py", "pz", "E")],
                          axis=1)
        jet_counts = ak.to_numpy(ak.num(cjets))
        jet_start = np.concatenate([[0], np.cumsum(jet_counts)])
        jet_ptall, _, jet_phiall, jet_yall = _kinematics(jet_p4)
        part_start = np.concatenate([[0], np.cumsum(counts)])
        selected: list[tuple[int, int]] = []  # (event, jet index within event)
        for ev in range(batch):
            lo, hi = jet_start[ev], jet_start[ev + 1]
            if lo == hi:
                continue
            used = set()
            for y, phi, quarks in objects[ev]:
                dr = _delta_r(jet_yall[lo:hi], jet_phiall[lo:hi], y, phi)
                j = int(np.argmin(dr))
                if dr[j] >= options.jet_r or j in used:
                    continue
                used.add(j)
                if not options.pt_min <= jet_ptall[lo + j] < options.pt_max:
                    continue
                if quarks and any(_delta_r(jet_yall[lo + j], jet_phiall[lo + j], qy, qphi)
                                  >= options.jet_r for qy, qphi in quarks):
                    continue
                selected.append((ev, j))
        timing["cluster"] += time.process_time() - t

        jets_per_event = max(0.05, 0.5 * jets_per_event + 0.5 * len(selected) / batch)
        for ev, j in selected:
            if n_done >= n_jets:
                break
            t = time.process_time()
            idx = np.asarray(cidx[ev][j], dtype=np.int64)
            part = p4_flat[part_start[ev] + idx]
            table, m, jrow, (pt, eta, phi, e) = _jet_arrays(part, jet_p4[jet_start[ev] + j], P)
            constituents[n_done], mask[n_done], jets[n_done] = table, m, jrow
            timing["cluster"] += time.process_time() - t
            t = time.process_time()
            hlf[n_done] = high_level_features(pt, eta, phi, e, z_cut=options.z_cut,
                                              jet_r=options.jet_r)
            timing["features"] += time.process_time() - t
            n_done += 1
    return {"class_name": class_name, "chunk_index": chunk_index, "hlf": hlf,
            "constituents": constituents, "mask": mask, "jets": jets, "events": n_events,
            "timing": timing}


def _chunk_task(args: tuple[str, int, int, GenerationOptions]) -> dict[str, Any]:
    return generate_chunk(*args)


# ------------------------------------------------------------------- the file
def _plan(options: GenerationOptions) -> list[tuple[str, int, int, GenerationOptions]]:
    """Chunks in file order: classes in ``options.classes`` order, chunks in index order."""
    tasks = []
    for name in options.classes:
        left, k = options.jets_per_class, 0
        while left > 0:
            n = min(options.chunk_jets, left)
            tasks.append((name, k, n, options))
            left -= n
            k += 1
    return tasks


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import fpgakd

    out = {"fpgakd_version": fpgakd.__version__, "numpy_version": np.__version__}
    for key, dist in (("pythia_version", "pythia8mc"), ("fastjet_version", "fastjet"),
                      ("h5py_version", "h5py")):
        try:
            out[key] = version(dist)
        except PackageNotFoundError:
            out[key] = "unknown"
    return out


def _run_chunks(tasks: list, workers: int) -> Iterator[dict[str, Any]]:
    """Chunk results in task order, from a process pool (or in-process for one worker)."""
    if workers <= 1:
        for task in tasks:
            yield _chunk_task(task)
        return
    # spawn: fork would copy the parent's threads (TensorFlow, tqdm) into the workers
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        # the pool is terminated on any exception, Ctrl-C included, by the with block
        yield from pool.imap(_chunk_task, tasks)


def generate_jets(output: str | os.PathLike, options: GenerationOptions, *,
                  progress: bool = True) -> GenerationSummary:
    """Generate ``options.jets_per_class`` jets per class into the HDF5 file ``output``.

    The file (layout in :mod:`fpgakd.jetfile`, gzip-compressed, jets grouped by class in
    ``options.classes`` order) appears only when complete: an error or Ctrl-C leaves
    nothing at ``output``.

    >>> summary = generate_jets("jets.h5", GenerationOptions(jets_per_class=200, seed=1))  # doctest: +SKIP
    >>> print(summary.format_table())                                                      # doctest: +SKIP
    """
    import h5py
    from tqdm.auto import tqdm

    if not isinstance(options, GenerationOptions):
        raise ConfigError(f"generate_jets: options must be GenerationOptions, got {type(options).__name__}")
    options.validate()
    output = Path(output)
    tasks = _plan(options)
    workers = min(options.workers or os.cpu_count() or 1, len(tasks))
    n_total = options.jets_per_class * len(options.classes)
    P = options.n_constituents
    log.info("generating %d jets per class (%s) into %s with %d worker(s), pTHat %s GeV",
             options.jets_per_class, ",".join(options.classes), output, workers,
             options.pthat_range)
    label_of = {name: CLASS_NAMES.index(name) for name in options.classes}
    events = {name: 0 for name in options.classes}
    timing: dict[str, dict[str, float]] = {name: {} for name in options.classes}
    start = time.perf_counter()
    gz = {"compression": "gzip", "compression_opts": _GZIP_LEVEL, "shuffle": True}
    str_dt = h5py.string_dtype()
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as f, \
            tqdm(total=n_total, unit="jet", desc="generate", disable=not progress) as bar:
        d_hlf = f.create_dataset("hlf", (n_total, len(HLF_NAMES)), dtype="f4", **gz)
        d_con = f.create_dataset("constituents", (n_total, P, len(CONSTITUENT_NAMES)),
                                 dtype="f4",
                                 chunks=(min(n_total, _HDF5_CHUNK_JETS), P, len(CONSTITUENT_NAMES)),
                                 **gz)
        d_mask = f.create_dataset("mask", (n_total, P), dtype=bool, **gz)
        d_lab = f.create_dataset("labels", (n_total,), dtype="i8", **gz)
        d_jets = f.create_dataset("jets", (n_total, len(JET_NAMES)), dtype="f4", **gz)
        f.create_dataset("hlf_names", data=list(HLF_NAMES), dtype=str_dt)
        f.create_dataset("constituent_names", data=list(CONSTITUENT_NAMES), dtype=str_dt)
        f.create_dataset("class_names", data=list(CLASS_NAMES), dtype=str_dt)
        f.create_dataset("jet_names", data=list(JET_NAMES), dtype=str_dt)
        row = 0
        # closing(): on an error here the pool's workers are stopped now, not at collection
        with contextlib.closing(_run_chunks(tasks, workers)) as results:
            for res in results:
                n = len(res["hlf"])
                sl = slice(row, row + n)
                d_hlf[sl] = res["hlf"]
                d_con[sl] = res["constituents"]
                d_mask[sl] = res["mask"]
                d_jets[sl] = res["jets"]
                d_lab[sl] = label_of[res["class_name"]]
                events[res["class_name"]] += res["events"]
                for k, v in res["timing"].items():
                    timing[res["class_name"]][k] = timing[res["class_name"]].get(k, 0.0) + v
                row += n
                bar.update(n)
        if row != n_total:  # would be a bug in the chunk plan, never silently write it
            raise DataError(f"{output}: wrote {row} jets, expected {n_total}")
        elapsed = time.perf_counter() - start
        counts = {name: options.jets_per_class for name in options.classes}
        attrs = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **_versions(),
                 "seed": int(options.seed), "options": json.dumps(options.to_dict()),
                 "counts": json.dumps(counts),
                 "events": json.dumps(events),
                 "pythia_settings": json.dumps({c: pythia_settings(c, options, 0)[:-1]
                                                for c in options.classes}),
                 "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        f.attrs.update(attrs)
        summaries = _class_summaries(f, options, events)
    log.info("wrote %s: %d jets in %.1f s; cpu seconds per class and stage: %s", output,
             n_total, elapsed, json.dumps({c: {k: round(v, 1) for k, v in t.items()}
                                           for c, t in timing.items()}))
    return GenerationSummary(path=str(output), classes=summaries, elapsed_s=elapsed,
                             workers=workers, counts=counts, stage_seconds=timing)


def _class_summaries(f: Any, options: GenerationOptions, events: dict[str, int]
                     ) -> tuple[ClassSummary, ...]:
    hlf = f["hlf"][...]
    labels = f["labels"][...]
    i_mult = HLF_NAMES.index("j_multiplicity")
    i_mass = HLF_NAMES.index("j_mass_mmdt")
    i_d2 = HLF_NAMES.index("j_d2_b1_mmdt")
    out = []
    for name in options.classes:
        sel = hlf[labels == CLASS_NAMES.index(name)]
        out.append(ClassSummary(name=name, jets=len(sel), events=events[name],
                                mean_multiplicity=float(np.mean(sel[:, i_mult])),
                                median_mass_mmdt=float(np.median(sel[:, i_mass])),
                                median_d2_b1=float(np.median(sel[:, i_d2]))))
    return tuple(out)
