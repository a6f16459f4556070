"""One initialised Pythia 8 instance and fast extraction of its final-state particles, shared
by the jet generator (:mod:`fpgakd.jets.chunks`) and the pileup events
(:mod:`fpgakd.jets.events`).

Pythia is imported when a :class:`PythiaSource` is created, never at module import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fpgakd.errors import ToolError
from fpgakd.jets import portable_math

__all__ = ["PythiaSource", "FinalState", "NEUTRINOS", "wrap_phi", "p4_kinematics",
           "pythia_seed_of", "PYTHIA_SEED_MAX", "MM_PER_CM"]

#: PDG ids of the neutrinos: the invisible final-state particles of the Standard Model
NEUTRINOS = (12, 14, 16)
PYTHIA_SEED_MAX = 900_000_000  # Pythia's Random:seed range is 0 .. 900 000 000
#: Pythia's space-time unit is the mm; fpgakd's event files use cm
MM_PER_CM = 10.0
_MAX_FAILED_NEXT = 100


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Azimuth wrapped to [-pi, pi).

    >>> float(wrap_phi(np.array([3 * np.pi / 2]))[0]) == -np.pi / 2
    True
    """
    return (phi + np.pi) % (2 * np.pi) - np.pi


def p4_kinematics(p4: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pt, eta, phi, rapidity) of (..., 4) four-momenta (px, py, pz, E); eta is 0 at pt = 0.

    >>> [round(float(v), 3) for v in p4_kinematics(np.array([3.0, 4.0, 0.0, 5.0]))]
    [5.0, 0.0, 0.927, 0.0]
    """
    px, py, pz, e = p4[..., 0], p4[..., 1], p4[..., 2], p4[..., 3]
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = portable_math.arcsinh(np.where(pt > 0, pz / np.where(pt > 0, pt, 1.0), 0.0))
        y = 0.5 * portable_math.log(np.maximum(e + pz, 1e-300) / np.maximum(e - pz, 1e-300))
    return pt, eta, wrap_phi(portable_math.arctan2(py, px)), y


def pythia_seed_of(seed_sequence: np.random.SeedSequence) -> int:
    """A Pythia ``Random:seed`` (1 .. PYTHIA_SEED_MAX) drawn from ``seed_sequence``.

    >>> 1 <= pythia_seed_of(np.random.SeedSequence(3)) <= PYTHIA_SEED_MAX
    True
    """
    return int(seed_sequence.generate_state(1, dtype=np.uint64)[0] % PYTHIA_SEED_MAX) + 1


class FinalState:
    """One event's final-state particles: PDG ids (M,), four-momenta (M, 4) in GeV and,
    when asked for, production vertices (M, 3) in cm (None otherwise)."""

    __slots__ = ("ids", "p4", "vertex")

    def __init__(self, ids: np.ndarray, p4: np.ndarray, vertex: np.ndarray | None) -> None:
        self.ids, self.p4, self.vertex = ids, p4, vertex


class PythiaSource:
    """An initialised Pythia 8 instance that hands out final states as numpy arrays.

    ``what`` names the source in error messages; ``init_hint`` says which options to check
    when Pythia fails to initialise.

    >>> source = PythiaSource(["SoftQCD:nonDiffractive = on"], "min-bias")   # doctest: +SKIP
    >>> source.next_final_state(vertices=True).vertex.shape                 # doctest: +SKIP
    (251, 3)
    """

    def __init__(self, settings: Sequence[str], what: str, init_hint: str = "") -> None:
        import pythia8mc

        self.what = what
        self.pythia = pythia8mc.Pythia("", False)
        for s in settings:
            if not self.pythia.readString(s):
                raise ToolError(f"Pythia rejected the setting {s!r} ({what})")
        if not self.pythia.init():
            raise ToolError(f"Pythia failed to initialise for {what}{init_hint}")
        self._charge: dict[int, int] = {}
        self._getters = {name: getattr(pythia8mc.Particle, name)
                         for name in ("isFinal", "id", "px", "py", "pz", "e",
                                      "xProd", "yProd", "zProd")}
        self.failed = 0

    def charge_of(self, ids: np.ndarray) -> np.ndarray:
        """Pythia chargeType (three times the charge) per id, cached: a dict lookup is cheaper
        than a binding call."""
        uniq, inverse = np.unique(ids, return_inverse=True)
        pdata = self.pythia.particleData
        out = np.empty(len(uniq), dtype=np.int64)
        for k, i in enumerate(uniq.tolist()):
            c = self._charge.get(i)
            if c is None:
                c = self._charge[i] = pdata.chargeType(i)
            out[k] = c
        return out[inverse]

    def next_final_state(self, *, vertices: bool = False) -> FinalState:
        """Generate one event; its final-state particles (neutrinos included)."""
        while not self.pythia.next():
            self.failed += 1
            if self.failed > _MAX_FAILED_NEXT:
                raise ToolError(f"Pythia failed {self.failed} times to generate an event ({self.what})")
        # The bindings have no bulk accessor: one call per particle and quantity is the
        # floor (~0.2 us each). filter/map over the unbound methods keep the loop in C,
        # about 10% faster than a comprehension.
        g = self._getters
        final = list(filter(g["isFinal"], self.pythia.event.particles()))
        n = len(final)
        ids = np.fromiter(map(g["id"], final), np.int64, n)
        p4 = self._columns(final, ("px", "py", "pz", "e"))
        vertex = self._columns(final, ("xProd", "yProd", "zProd")) / MM_PER_CM if vertices else None
        return FinalState(ids, p4, vertex)

    def _columns(self, particles: list[Any], names: Sequence[str]) -> np.ndarray:
        out = np.empty((len(particles), len(names)))
        for k, name in enumerate(names):
            out[:, k] = np.fromiter(map(self._getters[name], particles), np.float64, len(particles))
        return out
