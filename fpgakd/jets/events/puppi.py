"""PUPPI, pileup per particle identification, as CMS runs it (Bertolini, Harris, Low, Tran,
JHEP 10 (2014) 059; CMS, JINST 15 (2020) P09018; CMSSW ``CommonTools/PileupAlgos``).

Every particle gets a weight in [0, 1], its probability of coming from the hard scatter:

* a charged particle with a track (``|eta| < tracker_eta``) weighs 1 if its track points to
  the primary vertex (``|dz| < dz_cut``), else 0 (CMS's ``applyCHS``);
* any other particle (no track: neutrals, and charged particles beyond the tracker) gets the
  local shape of its neighbourhood, ``alpha_i = log sum_j (pT_j / dR_ij)^2`` over neighbours
  ``R_min < dR_ij < R0`` in (eta, phi). Its |eta| region (:class:`PuppiRegion`) says whose
  neighbours: the charged primary-vertex particles (alpha^C) or every particle (alpha^F).
  The pileup reference of each alpha is the median and the left-sided RMS (values at or
  below the median) of that alpha over the charged pileup particles with ``|eta| <
  extrap_eta`` and ``pT >= rms_pt_min``, corrected for the charged primary-vertex particles
  below the median (``low_pu_correction``) and scaled per region (``med_eta_sf``,
  ``rms_eta_sf``: the forward reference is extrapolated from the central charged pileup).
  ``chi2 = (alpha - median) |alpha - median| / RMS^2`` and the weight is the chi-squared
  CDF with one degree of freedom (0 for alpha below the median).

Then, for the particles without a track: weight 0 unless ``w pT >= min_neutral_pt +
min_neutral_pt_slope * nPV`` (per region), and at least ``(pT - start) / (pt_max_neutrals -
start)`` (hard neutrals kept). Every weight below ``weight_cut`` becomes 0, and every
particle outside the regions or at ``pT <= pt_min`` weighs 0. ``nPV`` is CMS's count of
good reconstructed vertices; fpgakd reconstructs none and counts every interaction:
``n_pileup + 1``, as a perfect vertex finder would.

An event without charged pileup for the reference keeps weight 1 for its particles without
a track before the cuts (CMS: "in the NoPU case return 1"). A particle without neighbours
has alpha = -inf (CMS: 0, then the median) and weight 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fpgakd.errors import DataError
from fpgakd.jets.events.puppi_config import PuppiConfig, PuppiRegion, load_puppi_config

__all__ = ["PuppiConfig", "PuppiRegion", "load_puppi_config", "PuppiShapes", "puppi_weights",
           "vertex_association", "puppi_shapes", "apply_puppi_cuts", "local_shape", "pileup_reference"]

#: CMS's floor on the RMS (PuppiAlgo::computeMedRMS: an RMS of 0 becomes 1e-5)
_RMS_FLOOR = 1e-5
_NEEDED = ("eta", "phi", "pt", "charge", "dz")


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


def pileup_reference(alpha_pileup: np.ndarray, alpha_pv: np.ndarray,
                     low_pu_correction: bool = True) -> tuple[float, float] | None:
    """(median, RMS) of the charged pileup's alpha as CMS computes it; None without pileup.

    Particles without neighbours (alpha -inf) are left out of the median and the RMS but
    count in the low-pileup correction, which moves both down by ``sqrt(q RMS)``, ``q`` the
    chi-squared (1 dof) quantile of ``n_pv / (n_pv + n_pileup / 2)``, ``n_pv`` the charged
    primary-vertex alphas at or below the median (CMSSW PuppiAlgo::computeMedRMS).

    >>> pileup_reference(np.array([1.0, 2.0, 3.0]), np.array([]))
    (2.0, 0.7071067811865476)
    """
    from scipy.stats import chi2

    alpha_pileup = np.asarray(alpha_pileup, np.float64)
    finite = np.sort(alpha_pileup[np.isfinite(alpha_pileup)])
    if len(finite) == 0:
        return None
    # CMS takes the element half-way up the sorted values (the upper one of an even count)
    median = float(finite[len(finite) // 2])
    left = finite[finite <= median]
    rms = float(np.sqrt(np.mean((left - median) ** 2)))
    rms = rms if rms > 0 else _RMS_FLOOR
    if low_pu_correction:
        n_pv = int(np.count_nonzero(np.asarray(alpha_pv) <= median))
        adjust = n_pv / (n_pv + 0.5 * len(alpha_pileup))
        if adjust > 0:
            shift = float(np.sqrt(chi2.ppf(adjust, 1) * rms))
            median, rms = median - shift, rms - shift
    # only RMS^2 enters chi2: its sign does not matter, a zero would divide by zero
    return median, max(abs(rms), _RMS_FLOOR)


def _chi2_weights(alpha: np.ndarray, reference: tuple[float, float] | None) -> np.ndarray:
    """Chi-squared (one dof) CDF of the signed distance of alpha above the pileup median."""
    from scipy.special import erf

    if reference is None:
        return np.ones(len(alpha))
    median, rms = reference
    above = alpha > median
    chi2 = np.where(above, (np.where(above, alpha, median) - median) ** 2 / rms ** 2, 0.0)
    # the CDF of chi2 with one degree of freedom is erf(sqrt(x / 2))
    return np.where(above, erf(np.sqrt(chi2 / 2.0)), 0.0)


def _regions(abs_eta: np.ndarray, pt: np.ndarray, cfg: PuppiConfig) -> np.ndarray:
    """Each particle's region index; -1 outside every region or at pT <= its pt_min."""
    region = np.full(len(abs_eta), -1, dtype=np.int64)
    for i, r in enumerate(cfg.regions):
        region[(abs_eta >= r.eta_min) & (abs_eta < r.eta_max) & (pt > r.pt_min)] = i
    return region


def vertex_association(particles: dict[str, np.ndarray], config: PuppiConfig | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(has a track, its track points to the primary vertex) per particle: the charged-hadron
    subtraction PUPPI applies to every tracked particle before anything else.

    >>> tracked, from_pv = vertex_association({"charge": np.array([1, -1, 0]), "eta": np.zeros(3),
    ...                                        "dz": np.array([0.01, 0.3, 0.0])})
    >>> tracked.tolist(), from_pv.tolist()
    ([True, True, False], [True, False, False])
    """
    cfg = config or PuppiConfig()
    tracked = (np.asarray(particles["charge"]) != 0) & (np.abs(np.asarray(particles["eta"], np.float64))
                                                        < cfg.tracker_eta)
    return tracked, tracked & (np.abs(np.asarray(particles["dz"], np.float64)) < cfg.dz_cut)


def _event_raw_weights(p: dict[str, np.ndarray], cfg: PuppiConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One event's weights before the cuts, region per particle, and which have no track."""
    eta, phi, pt = (np.asarray(p[k], np.float64) for k in ("eta", "phi", "pt"))
    abs_eta = np.abs(eta)
    region = _regions(abs_eta, pt, cfg)
    tracked, from_pv = vertex_association(p, cfg)
    shaped = ~tracked & (region >= 0)
    # the reference samples: charged particles of the central tracker inside some region
    sample = tracked & (abs_eta < cfg.extrap_eta) & (region >= 0)
    weights = from_pv.astype(np.float64)
    shape = {"cone_r": cfg.cone_r, "min_r": cfg.min_r}
    for charged in {r.charged_neighbours for r in cfg.regions}:
        ids = [i for i, r in enumerate(cfg.regions) if r.charged_neighbours == charged]
        targets = shaped & np.isin(region, ids)
        need = targets | sample
        if not need.any():
            continue
        nb = from_pv if charged else np.ones(len(eta), dtype=bool)
        alpha = np.full(len(eta), -np.inf)
        alpha[need] = local_shape(eta[need], phi[need], eta[nb], phi[nb], pt[nb], **shape)
        for i in ids:
            r = cfg.regions[i]
            counted = sample & (pt >= r.rms_pt_min)
            ref = pileup_reference(alpha[counted & ~from_pv], alpha[counted & from_pv], cfg.low_pu_correction)
            ref = None if ref is None else (ref[0] * r.med_eta_sf, ref[1] * r.rms_eta_sf)
            mine = shaped & (region == i)
            weights[mine] = _chi2_weights(alpha[mine], ref)
    return weights, region, shaped


@dataclass(frozen=True)
class PuppiShapes:
    """Per particle row: the weight before the cuts, its region (-1: none), whether it has no
    track (shape-weighted, subject to the neutral cuts), pT and the event's nPV."""

    raw: np.ndarray
    region: np.ndarray
    shaped: np.ndarray
    pt: np.ndarray
    n_vertices: np.ndarray


def _checked_columns(events: Any) -> None:
    missing = [k for k in _NEEDED if k not in events.particles]
    if missing or "n_pileup" not in events.events:
        what = ", ".join([f"particles/{k}" for k in missing] + ([] if "n_pileup" in events.events
                                                                 else ["events/n_pileup"]))
        raise DataError(f"{events.source or '<events>'}: PUPPI needs {what}")


def puppi_shapes(events: Any, config: PuppiConfig | None = None, *, progress: bool = False) -> PuppiShapes:
    """PUPPI's weights of every particle row of ``events`` before the cuts (the costly part).

    The cuts (:func:`apply_puppi_cuts`) then cost nothing: a tuning of the neutral pT cut
    computes this once.

    >>> shapes = puppi_shapes(load_events("events.h5"))          # doctest: +SKIP
    >>> apply_puppi_cuts(shapes).shape                           # doctest: +SKIP
    (412000,)
    """
    from tqdm.auto import tqdm

    cfg = config or PuppiConfig()
    _checked_columns(events)
    n = events.n_particles
    raw, region, shaped = np.zeros(n), np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool)
    offsets = np.asarray(events.offsets)
    for e in tqdm(range(events.n_events), desc="PUPPI", unit="event", disable=not progress):
        lo, hi = int(offsets[e]), int(offsets[e + 1])
        if hi > lo:
            columns = {k: events.particles[k][lo:hi] for k in _NEEDED}
            raw[lo:hi], region[lo:hi], shaped[lo:hi] = _event_raw_weights(columns, cfg)
    # nPV: every interaction is a found vertex, the primary one included
    n_vertices = np.repeat(np.asarray(events.events["n_pileup"], np.float64) + 1.0, np.diff(offsets))
    return PuppiShapes(raw, region, shaped, np.asarray(events.particles["pt"], np.float64), n_vertices)


def apply_puppi_cuts(shapes: PuppiShapes, config: PuppiConfig | None = None) -> np.ndarray:
    """The final weights (float32): neutral pT cut, hard-neutral floor, weight cut, regions.

    ``config`` must share its shape parameters (everything but the regions' cuts) with the
    one that made ``shapes``.

    >>> s = PuppiShapes(np.array([0.4, 1.0]), np.array([0, 0]), np.array([True, False]),
    ...                 np.array([1.0, 1.0]), np.array([20.0, 20.0]))
    >>> apply_puppi_cuts(s).tolist()   # 0.4 GeV < 0.2 + 0.015 * 20: the neutral is cut
    [0.0, 1.0]
    """
    cfg = config or PuppiConfig()
    w = shapes.raw.copy()
    inside = shapes.region >= 0
    idx = np.where(inside, shapes.region, 0)
    floor = np.array([r.min_neutral_pt for r in cfg.regions])[idx]
    slope = np.array([r.min_neutral_pt_slope for r in cfg.regions])[idx]
    neutral = shapes.shaped & inside
    w[neutral & (w * shapes.pt < floor + slope * shapes.n_vertices)] = 0.0
    if cfg.pt_max_neutrals > 0:
        # CMS: clamp((pT - start) / (max - start), w, 1)
        protect = (shapes.pt - cfg.pt_max_neutrals_start) / (cfg.pt_max_neutrals - cfg.pt_max_neutrals_start)
        w = np.where(neutral, np.maximum(w, np.minimum(protect, 1.0)), w)
    w[(w < cfg.weight_cut) | ~inside] = 0.0
    return w.astype(np.float32)


def puppi_weights(events: Any, config: PuppiConfig | None = None, *, progress: bool = False) -> np.ndarray:
    """PUPPI weights of every particle row of ``events`` (float32, in [0, 1]).

    ``events`` is an :class:`~fpgakd.jets.events.eventfile.EventSet`; ``config`` defaults to
    :class:`PuppiConfig` (CMS's Phase-2 PUPPI, tuned for fpgakd), a preset by
    ``load_puppi_config("bertolini2014")``.

    >>> w = puppi_weights(load_events("events.h5"))             # doctest: +SKIP
    >>> w.shape, float(w.min()) >= 0.0, float(w.max()) <= 1.0    # doctest: +SKIP
    ((412000,), True, True)
    """
    cfg = config or PuppiConfig()
    return apply_puppi_cuts(puppi_shapes(events, cfg, progress=progress), cfg)
