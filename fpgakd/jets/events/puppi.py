"""PUPPI, pileup per particle identification (Bertolini, Harris, Low, Tran, JHEP 10 (2014) 059).

Every particle gets a weight in [0, 1], its probability of coming from the hard scatter:

* a charged particle inside the tracker weighs 1 if its track points to the primary vertex
  (``|dz| < dz_cut``), else 0;
* any other particle gets the local shape of its neighbourhood,
  ``alpha_i = log sum_j (pT_j / dR_ij)^2`` over neighbours ``R_min < dR_ij < R0`` in
  (eta, phi). In the tracker (``|eta| < tracker_eta``) the neighbours are the charged
  particles from the primary vertex (alpha^C); beyond it, every particle (alpha^F). The
  event's charged pileup particles in the tracker are the pileup reference: the median and
  the left-sided RMS (from the values below the median) of their alpha, computed the same
  way. Then ``chi2 = (alpha_i - median)^2 / RMS^2`` for ``alpha_i > median`` (else 0) and the
  weight is the chi-squared CDF with one degree of freedom. Weights below ``weight_cut``, and
  weights with ``w pT`` below ``neutral_pt_cut + neutral_pt_cut_slope * n_pileup``, become 0.

An event without a charged pileup particle of finite alpha has no pileup reference; its
neutral particles keep weight 1 (nothing says they are pileup). An isolated neutral particle
(no neighbour in the cone) has alpha = -inf and weight 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fpgakd.config import check_field
from fpgakd.errors import DataError

__all__ = ["PuppiConfig", "puppi_weights", "local_shape"]


@dataclass(frozen=True)
class PuppiConfig:
    """PUPPI's parameters; each default names its source.

    >>> PuppiConfig().cone_r
    0.3
    """

    #: R0, the cone of the local shape (Bertolini et al. 2014, section 2)
    cone_r: float = 0.3
    #: R_min, keeps collinear pairs from dominating alpha (Bertolini et al.'s reference code)
    min_r: float = 0.02
    #: cm, |dz| below which a track is associated with the primary vertex (CMS PUPPI, DeltaZCut)
    dz_cut: float = 0.3
    #: tracker acceptance: charged particles inside it are identified by their vertex, and
    #: alpha uses charged primary-vertex neighbours (CMS PUPPI's central region, |eta| < 2.5)
    tracker_eta: float = 2.5
    #: weights below this become 0 (Bertolini et al. 2014, w_cut)
    weight_cut: float = 0.1
    #: GeV; a neutral particle's w * pT must pass neutral_pt_cut + slope * n_pileup
    #: (Bertolini et al. 2014: 0.1 GeV + 0.007 GeV per pileup vertex)
    neutral_pt_cut: float = 0.1
    neutral_pt_cut_slope: float = 0.007

    def __post_init__(self) -> None:
        # R0 < 1 keeps one duplicate per particle enough at the phi seam
        check_field(0.0 < self.cone_r < 1.0, "cone_r", self.cone_r, "a number in (0, 1)")
        # R_min > 0 keeps a particle from being its own neighbour
        check_field(0.0 < self.min_r < self.cone_r, "min_r", self.min_r, "a number in (0, cone_r)")
        check_field(self.dz_cut > 0, "dz_cut", self.dz_cut, "a number > 0 (cm)")
        check_field(self.tracker_eta > 0, "tracker_eta", self.tracker_eta, "a number > 0")
        check_field(0.0 <= self.weight_cut < 1.0, "weight_cut", self.weight_cut, "a number in [0, 1)")
        check_field(self.neutral_pt_cut >= 0, "neutral_pt_cut", self.neutral_pt_cut, "a number >= 0 (GeV)")
        check_field(self.neutral_pt_cut_slope >= 0, "neutral_pt_cut_slope", self.neutral_pt_cut_slope,
                    "a number >= 0 (GeV per pileup vertex)")


def _seam_copies(eta: np.ndarray, phi: np.ndarray, cone_r: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points near phi = +-pi duplicated across the seam; returns (eta, phi, source index)."""
    upper = np.flatnonzero(phi > np.pi - cone_r)
    lower = np.flatnonzero(phi < -np.pi + cone_r)
    index = np.concatenate([np.arange(len(eta)), upper, lower])
    shifted = np.concatenate([phi, phi[upper] - 2 * np.pi, phi[lower] + 2 * np.pi])
    return eta[index], shifted, index


def local_shape(eta: np.ndarray, phi: np.ndarray, nb_eta: np.ndarray, nb_phi: np.ndarray,
                nb_pt: np.ndarray, *, cone_r: float, min_r: float) -> np.ndarray:
    """alpha = log sum_j (pT_j / dR_j)^2 over neighbours ``min_r < dR < cone_r`` of each point.

    Points and neighbours are given by (eta, phi) in radians, phi in [-pi, pi); dR wraps in
    phi. A point without neighbours gets -inf.

    >>> a = local_shape(np.array([0.0]), np.array([3.1]), np.array([0.0]), np.array([-3.1]),
    ...                 np.array([2.0]), cone_r=0.3, min_r=0.02)
    >>> round(float(a[0]), 4) == round(float(np.log((2.0 / (2 * np.pi - 6.2)) ** 2)), 4)
    True
    """
    from scipy.spatial import cKDTree

    alpha = np.full(len(eta), -np.inf)
    if len(eta) == 0 or len(nb_eta) == 0:
        return alpha
    dup_eta, dup_phi, source = _seam_copies(np.asarray(nb_eta, np.float64), np.asarray(nb_phi, np.float64),
                                            cone_r)
    points = cKDTree(np.column_stack([eta, phi]).astype(np.float64))
    neighbours = cKDTree(np.column_stack([dup_eta, dup_phi]))
    pairs = points.sparse_distance_matrix(neighbours, cone_r, output_type="ndarray")
    dr = pairs["v"]
    keep = (dr > min_r) & (dr < cone_r)
    terms = (np.asarray(nb_pt, np.float64)[source[pairs["j"][keep]]] / dr[keep]) ** 2
    total = np.bincount(pairs["i"][keep], weights=terms, minlength=len(eta))
    with np.errstate(divide="ignore"):
        alpha = np.log(total)
    return alpha


def _median_left_rms(alpha: np.ndarray) -> tuple[float, float] | None:
    """Median and left-sided RMS of the finite values; None when there are none."""
    alpha = alpha[np.isfinite(alpha)]
    if len(alpha) == 0:
        return None
    median = float(np.median(alpha))
    left = alpha[alpha < median]
    rms = float(np.sqrt(np.mean((left - median) ** 2))) if len(left) else 0.0
    return median, rms


def _chi2_weights(alpha: np.ndarray, reference: tuple[float, float] | None) -> np.ndarray:
    """Chi-squared (one dof) CDF of the signed distance of alpha above the pileup median."""
    from scipy.special import erf

    if reference is None:
        return np.ones(len(alpha))
    median, rms = reference
    above = alpha > median
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(above, (alpha - median) ** 2 / rms ** 2 if rms > 0 else np.inf, 0.0)
    # the CDF of chi2 with one degree of freedom is erf(sqrt(x / 2))
    return np.where(above, erf(np.sqrt(chi2 / 2.0)), 0.0)


def _event_weights(p: dict[str, np.ndarray], n_pileup: int, cfg: PuppiConfig) -> np.ndarray:
    """PUPPI weights of one event's particles (columns ``p`` of that event only)."""
    eta, phi, pt = (np.asarray(p[k], np.float64) for k in ("eta", "phi", "pt"))
    tracked = (np.asarray(p["charge"]) != 0) & (np.abs(eta) < cfg.tracker_eta)
    from_pv = tracked & (np.abs(p["dz"]) < cfg.dz_cut)
    charged_pu = tracked & ~from_pv
    central = np.abs(eta) < cfg.tracker_eta
    shape = {"cone_r": cfg.cone_r, "min_r": cfg.min_r}
    alpha_c = local_shape(eta, phi, eta[from_pv], phi[from_pv], pt[from_pv], **shape)
    # alpha^F (every particle a neighbour) is costly: only the forward particles need it, and
    # the charged pileup in the tracker as their pileup reference
    need_f = ~central | charged_pu
    alpha_f = np.full(len(eta), -np.inf)
    alpha_f[need_f] = local_shape(eta[need_f], phi[need_f], eta, phi, pt, **shape)
    weights = np.where(central, _chi2_weights(alpha_c, _median_left_rms(alpha_c[charged_pu])),
                       _chi2_weights(alpha_f, _median_left_rms(alpha_f[charged_pu])))
    pt_cut = cfg.neutral_pt_cut + cfg.neutral_pt_cut_slope * n_pileup
    weights[(weights < cfg.weight_cut) | (weights * pt < pt_cut)] = 0.0
    weights[tracked] = from_pv[tracked]
    return weights


def puppi_weights(events: Any, config: PuppiConfig | None = None, *, progress: bool = False) -> np.ndarray:
    """PUPPI weights of every particle row of ``events`` (float32, in [0, 1]).

    ``events`` is an :class:`~fpgakd.jets.events.eventfile.EventSet`; the pileup slope of the
    neutral pT cut uses each event's ``n_pileup`` (the overlaid vertices, as a perfect vertex
    finder would count them).

    >>> w = puppi_weights(load_events("events.h5"))             # doctest: +SKIP
    >>> w.shape, float(w.min()) >= 0.0, float(w.max()) <= 1.0    # doctest: +SKIP
    ((412000,), True, True)
    """
    from tqdm.auto import tqdm

    cfg = config or PuppiConfig()
    needed = ("eta", "phi", "pt", "charge", "dz")
    missing = [k for k in needed if k not in events.particles]
    if missing or "n_pileup" not in events.events:
        what = ", ".join([f"particles/{k}" for k in missing] + ([] if "n_pileup" in events.events
                                                                 else ["events/n_pileup"]))
        raise DataError(f"{events.source or '<events>'}: PUPPI needs {what}")
    weights = np.zeros(events.n_particles, dtype=np.float32)
    offsets = np.asarray(events.offsets)
    for e in tqdm(range(events.n_events), desc="PUPPI", unit="event", disable=not progress):
        lo, hi = int(offsets[e]), int(offsets[e + 1])
        if hi > lo:
            columns = {k: events.particles[k][lo:hi] for k in needed}
            weights[lo:hi] = _event_weights(columns, int(events.events["n_pileup"][e]), cfg)
    return weights
