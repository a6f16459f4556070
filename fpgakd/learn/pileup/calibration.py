"""Jet response corrections for pileup weights, fitted on training events and applied alike to
every algorithm (PUPPI, the teacher, the students, no mitigation).

A pileup algorithm that removes too much (or too little) leaves jets measured low (or high).
As CMS does after PUPPI, a jet energy correction restores the scale from simulation: in bins
of reconstructed jet pT, the factor is 1 / median(pT_reco / pT_gen) of the matched jets of the
training events, so that on those events the median jet response of each bin is zero. It is
applied to every jet above :data:`CALIBRATION_PT_MIN` before the analysis threshold (a jet
measured low can then pass it), and propagated to pT-miss as CMS's type-1 correction: the
calibrated jets above :data:`MET_JET_PT_MIN` change pT-miss by minus their added pT.

An input already calibrated (a median ratio of exactly 1 in every bin) gets factors of exactly
1 and leaves jets and pT-miss unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fpgakd.errors import DataError
from fpgakd.jets.events.reconstruction import Jets

__all__ = ["JetCalibration", "IDENTITY", "CALIBRATION_PT_MIN", "MET_JET_PT_MIN", "DEFAULT_EDGES",
           "fit_factors", "fit_jet_calibration"]

#: GeV: jets clustered, fitted and corrected from this pT on (below the analysis threshold,
#: so a jet measured low can be corrected above it)
CALIBRATION_PT_MIN = 5.0
#: GeV: calibrated jets above this enter the type-1 pT-miss correction (CMS's choice)
MET_JET_PT_MIN = 15.0
#: GeV: lower edges of the reconstructed-pT bins; the last bin is open
DEFAULT_EDGES = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 70.0, 120.0)
#: matched jets a bin needs for its own factor; emptier bins take the nearest filled bin's
MIN_JETS_PER_BIN = 20


@dataclass(frozen=True)
class JetCalibration:
    """A factor per bin of reconstructed jet pT (lower ``edges`` in GeV, the last bin open).

    >>> c = JetCalibration((5.0, 20.0), (1.25, 1.1))
    >>> c.factors_of(np.array([4.0, 10.0, 50.0])).tolist()
    [1.0, 1.25, 1.1]
    """

    edges: tuple[float, ...]
    factors: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.edges) != len(self.factors) or not self.edges:
            raise ValueError(f"JetCalibration: {len(self.edges)} edges but {len(self.factors)} factors")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:])) or not all(f > 0 for f in self.factors):
            raise ValueError("JetCalibration: edges must increase and factors be > 0")

    def factors_of(self, pt: np.ndarray) -> np.ndarray:
        """The factor of each jet pT (1 below the first edge: those jets are not corrected)."""
        pt = np.asarray(pt, dtype=np.float64)
        index = np.searchsorted(np.asarray(self.edges), pt, side="right") - 1
        return np.where(index >= 0, np.asarray(self.factors)[np.maximum(index, 0)], 1.0)

    def apply(self, jets: Jets, pt_min: float) -> Jets:
        """The jets with calibrated pT, those above ``pt_min`` kept (order within an event kept)."""
        pt = jets.pt * self.factors_of(jets.pt)
        return jets.where(pt > pt_min, pt)

    def met_shift(self, jets: Jets) -> np.ndarray:
        """Type-1 change of pT-miss (x, y) per event: minus the pT the calibration adds to the
        jets that are above :data:`MET_JET_PT_MIN` once calibrated; shape (E, 2)."""
        factor = self.factors_of(jets.pt)
        added = np.where(jets.pt * factor > MET_JET_PT_MIN, (factor - 1.0) * jets.pt, 0.0)
        event, n = jets.event_index(), len(jets.offsets) - 1
        return -np.stack([np.bincount(event, weights=added * f(jets.phi), minlength=n) for f in (np.cos, np.sin)],
                         axis=1)


#: no correction at all
IDENTITY = JetCalibration((CALIBRATION_PT_MIN,), (1.0,))


def fit_factors(reco_pt: np.ndarray, gen_pt: np.ndarray, edges: tuple[float, ...] = DEFAULT_EDGES,
                min_jets: int = MIN_JETS_PER_BIN) -> JetCalibration:
    """1 / median(reco / gen) of matched pairs per reconstructed-pT bin.

    >>> gen = np.linspace(6.0, 200.0, 400)
    >>> fit_factors(0.8 * gen, gen, edges=(5.0, 50.0)).factors
    (1.25, 1.25)
    >>> fit_factors(gen, gen, edges=(5.0, 50.0)).factors
    (1.0, 1.0)
    """
    reco_pt, gen_pt = np.asarray(reco_pt, dtype=np.float64), np.asarray(gen_pt, dtype=np.float64)
    index = np.searchsorted(np.asarray(edges), reco_pt, side="right") - 1
    ratios = reco_pt / gen_pt
    medians = [float(np.median(ratios[index == b])) if np.sum(index == b) >= min_jets else None
               for b in range(len(edges))]
    filled = [b for b, m in enumerate(medians) if m is not None]
    if not filled:
        raise DataError(f"jet calibration: no pT bin has {min_jets} matched jets ({len(ratios)} in all); "
                        "fit it on more events")
    nearest = [medians[min(filled, key=lambda f: abs(f - b))] for b in range(len(edges))]
    return JetCalibration(tuple(edges), tuple(1.0 / m for m in nearest))


def fit_jet_calibration(events: Any, weights: np.ndarray, *, r: float, match_dr: float,
                        edges: tuple[float, ...] = DEFAULT_EDGES) -> JetCalibration:
    """The calibration of one algorithm's ``weights`` on ``events`` (with generator truth):
    jets of both above :data:`CALIBRATION_PT_MIN`, matched as the verdict matches them.

    >>> fit_jet_calibration(events, puppi, r=0.4, match_dr=0.2).factors   # doctest: +SKIP
    """
    from fpgakd.jets.events.reconstruction import generator_jets, match_jets, weighted_jets

    reco = weighted_jets(events, weights, r=r, pt_min=CALIBRATION_PT_MIN)
    gen = generator_jets(events, r=r, pt_min=CALIBRATION_PT_MIN)
    matched = match_jets(reco, gen, max_dr=match_dr)
    ok = matched >= 0
    return fit_factors(reco.pt[matched[ok]], gen.pt[ok], edges)
