"""Event-level objects from weighted particles: pT-miss and anti-kT jets (FastJet), and the
generator-level truth they are compared with.

A particle's weight scales its whole four-vector (a weight of 0 removes it), as PUPPI and
DistillNet apply theirs. Jets are clustered for all events in one FastJet call (its awkward
interface); generator jets come from the ``gen`` group (the hard scatter's visible particles
in the acceptance, no pileup, no detector) with the same algorithm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Jets", "weighted_met", "generator_met", "cluster_jets", "weighted_jets", "generator_jets",
           "match_jets"]


@dataclass(frozen=True)
class Jets:
    """Jets of many events: flat columns cut into events by ``offsets`` (E+1,)."""

    pt: np.ndarray
    y: np.ndarray
    phi: np.ndarray
    offsets: np.ndarray

    @property
    def n_jets(self) -> int:
        return len(self.pt)

    def event_index(self) -> np.ndarray:
        """The event of each jet (J,)."""
        return np.repeat(np.arange(len(self.offsets) - 1), np.diff(self.offsets))

    def where(self, keep: np.ndarray, pt: np.ndarray | None = None) -> "Jets":
        """The jets where ``keep`` (with ``pt`` instead of their own, if given), event offsets rebuilt.

        >>> Jets(np.array([20.0, 5.0, 30.0]), np.zeros(3), np.zeros(3), np.array([0, 2, 3])).where(
        ...     np.array([True, False, True])).offsets.tolist()
        [0, 1, 2]
        """
        n_events = len(self.offsets) - 1
        counts = np.bincount(self.event_index()[keep], minlength=n_events)
        pt = self.pt if pt is None else pt
        return Jets(pt[keep], self.y[keep], self.phi[keep], np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))


def weighted_met(events: Any, weights: np.ndarray) -> np.ndarray:
    """pT-miss (x, y) per event, minus the vector sum of ``w_i pT_i``; shape (E, 2).

    >>> weighted_met(events, np.ones(events.n_particles))[0]          # doctest: +SKIP
    array([-12.5,  30.1])
    """
    event = events.event_index()
    w = np.asarray(weights, dtype=np.float64)
    return -np.stack([np.bincount(event, weights=w * events.particles[k], minlength=events.n_events)
                      for k in ("px", "py")], axis=1)


def generator_met(events: Any) -> np.ndarray:
    """The no-pileup truth pT-miss (x, y) per event stored in the file; shape (E, 2)."""
    return np.stack([np.asarray(events.events[k], dtype=np.float64) for k in ("gen_met_x", "gen_met_y")],
                    axis=1)


def _rapidity_phi(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        y = 0.5 * np.log(np.maximum(e + pz, 1e-300) / np.maximum(e - pz, 1e-300))
    return y, np.arctan2(py, px)


def cluster_jets(p4: np.ndarray, offsets: np.ndarray, *, r: float, pt_min: float) -> Jets:
    """Anti-kT jets of radius ``r`` with pT > ``pt_min`` of every event.

    ``p4`` is (N, 4) = (px, py, pz, E) in GeV; event e owns rows ``offsets[e]:offsets[e+1]``.

    >>> jets = cluster_jets(np.array([[20.0, 0, 0, 20.0], [10.0, 1, 0, 10.1]]), np.array([0, 2]),
    ...                     r=0.4, pt_min=15.0)
    >>> jets.n_jets, round(float(jets.pt[0]), 1)
    (1, 30.0)
    """
    import awkward as ak
    import fastjet

    from fpgakd.jets.chunks import _swallow_fastjet_banner

    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, r)
    _swallow_fastjet_banner(ak, fastjet, jet_def)
    p4 = np.asarray(p4, dtype=np.float64)
    arr = ak.unflatten(ak.zip({"px": p4[:, 0], "py": p4[:, 1], "pz": p4[:, 2], "E": p4[:, 3]}),
                       np.diff(offsets))
    jets = fastjet.ClusterSequence(arr, jet_def).inclusive_jets(pt_min)
    px, py, pz, e = (ak.to_numpy(ak.flatten(jets[k])).astype(np.float64) for k in ("px", "py", "pz", "E"))
    y, phi = _rapidity_phi(px, py, pz, e)
    counts = ak.to_numpy(ak.num(jets))
    pt = np.hypot(px, py)
    every = Jets(pt, y, phi, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
    # FastJet's pT cut is inclusive (>=); the documented threshold is strict
    return every.where(pt > pt_min)


def weighted_jets(events: Any, weights: np.ndarray, *, r: float, pt_min: float) -> Jets:
    """Jets of the particles with their four-vectors scaled by ``weights`` (zero weights dropped).

    >>> weighted_jets(events, puppi, r=0.4, pt_min=15.0).n_jets        # doctest: +SKIP
    """
    w = np.asarray(weights, dtype=np.float64)
    kept = w > 0
    p4 = np.stack([events.particles[k] for k in ("px", "py", "pz", "e")], axis=1)[kept] * w[kept, None]
    counts = np.bincount(events.event_index()[kept], minlength=events.n_events)
    return cluster_jets(p4, np.concatenate([[0], np.cumsum(counts)]), r=r, pt_min=pt_min)


def generator_jets(events: Any, *, r: float, pt_min: float) -> Jets:
    """Jets of the generator-level hard-scatter particles (the ``gen`` group)."""
    p4 = np.stack([events.gen[k] for k in ("px", "py", "pz", "e")], axis=1)
    return cluster_jets(p4, np.asarray(events.gen_offsets), r=r, pt_min=pt_min)


def _match_event(reco: Jets, gen: Jets, e: int, max_dr: float) -> np.ndarray:
    """Flat reco index matched to each gen jet of event ``e`` (-1: none)."""
    g = slice(gen.offsets[e], gen.offsets[e + 1])
    lo, hi = int(reco.offsets[e]), int(reco.offsets[e + 1])
    matched = np.full(g.stop - g.start, -1, dtype=np.int64)
    if hi == lo or len(matched) == 0:
        return matched
    dphi = (reco.phi[None, lo:hi] - gen.phi[g, None] + np.pi) % (2 * np.pi) - np.pi
    dr = np.hypot(reco.y[None, lo:hi] - gen.y[g, None], dphi)
    free = np.ones(hi - lo, dtype=bool)
    for j in np.argsort(-gen.pt[g], kind="stable"):
        candidates = np.where(free & (dr[j] < max_dr), dr[j], np.inf)
        best = int(np.argmin(candidates))
        if np.isfinite(candidates[best]):
            matched[j] = lo + best
            free[best] = False
    return matched


def match_jets(reco: Jets, gen: Jets, *, max_dr: float) -> np.ndarray:
    """For each generator jet, the index of its reconstructed jet (-1 if none).

    Generator jets, hardest first, each take the closest still-unmatched reconstructed jet
    of the same event within ``max_dr`` in (rapidity, phi): one to one.

    >>> match_jets(reco, gen, max_dr=0.2)                                # doctest: +SKIP
    array([ 0,  1, -1,  2])
    """
    n_events = len(gen.offsets) - 1
    parts = [_match_event(reco, gen, e, max_dr) for e in range(n_events)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
