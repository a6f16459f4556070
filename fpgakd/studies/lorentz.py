"""Lorentz boosts of jets and everything a model reads, rebuilt from the boosted particles.

Data contract: particles are arrays of shape (..., M) for ``pt`` [GeV], ``eta``, ``phi``
[rad] and ``e`` [GeV] (one jet is (M,), a batch of jets (N, M)); four-momenta are
(..., M, 4) in the order (px, py, pz, E) [GeV]. Padding slots (``mask`` False) stay zero.

The boost is along the detector's x axis (transverse to the beam): the frame moves with
velocity ``beta`` (in units of c) along +x, so ``px' = gamma (px - beta E)``,
``E' = gamma (E - beta px)``, and py, pz are unchanged. Invariant masses are kept.

:func:`boost_dataset` boosts every jet of a :class:`~fpgakd.jets.dataset.JetDataset` by its
own beta and recomputes the jet axis, the per-particle features relative to it (re-sorted
by boosted pT), the jet row and the 16 high-level features
(:func:`fpgakd.jets.observables.high_level_features` per jet).

The jet axis is the boosted sum of *all* the jet's constituents, taken from the stored jet
row (pT, eta, phi, mass): a file keeps only the P hardest particles (64 by default; 85% of
the default jets have more), and the sum of those alone moves the axis by up to 0.04 in
eta and phi even without a boost. Without a jet row the stored constituents are summed.
Likewise ``j_multiplicity`` keeps its stored value (a boost changes no particle count); the
other 15 features are recomputed from the stored constituents.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from numpy.typing import NDArray

from fpgakd.errors import DataError
from fpgakd.jets.jetfile import CONSTITUENT_NAMES, HLF_NAMES

__all__ = ["require_fpgakd_constituents", "p4s_from_ptetaphie", "ptetaphie_from_p4s", "boost_x", "jet_tables_from_p4s",
           "boost_dataset"]

log = logging.getLogger(__name__)

_Array = NDArray[np.float64]
#: columns of the per-particle table built from (pt, eta, phi, e), order CONSTITUENT_NAMES
_TABLE_COLUMNS = CONSTITUENT_NAMES


def p4s_from_ptetaphie(pt: NDArray, eta: NDArray, phi: NDArray, e: NDArray) -> _Array:
    """Four-momenta (..., 4) as (px, py, pz, E) [GeV] from pT [GeV], eta, phi [rad], E [GeV].

    >>> p4s_from_ptetaphie(np.array([2.0]), np.array([0.0]), np.array([0.0]), np.array([2.0])).tolist()
    [[2.0, 0.0, 0.0, 2.0]]
    """
    pt, eta, phi, e = (np.asarray(a, dtype=np.float64) for a in (pt, eta, phi, e))
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), e], axis=-1)


def ptetaphie_from_p4s(p4: NDArray) -> tuple[_Array, _Array, _Array, _Array]:
    """(pT, eta, phi, E) from four-momenta (..., 4) (px, py, pz, E) [GeV]; phi in [-pi, pi].

    A particle with pT = 0 (padding) gets eta = 0.

    >>> [float(a[0]) for a in ptetaphie_from_p4s(np.array([[0.0, 3.0, 0.0, 3.0]]))]
    [3.0, 0.0, 1.5707963267948966, 3.0]
    """
    p4 = np.asarray(p4, dtype=np.float64)
    pt = np.hypot(p4[..., 0], p4[..., 1])
    eta = np.arcsinh(np.divide(p4[..., 2], pt, out=np.zeros_like(pt), where=pt > 0))
    return pt, eta, np.arctan2(p4[..., 1], p4[..., 0]), p4[..., 3].copy()


def boost_x(p4: NDArray, *, beta: float | NDArray) -> _Array:
    """Four-momenta (..., 4) seen from a frame moving with velocity ``beta`` along +x.

    ``beta`` is a number or an array broadcastable to ``p4[..., 0]`` (one per jet: shape
    (N, 1) for p4 of shape (N, M, 4)), each in [0, 1). Energies in GeV, beta in units of c.

    >>> boost_x(np.array([0.0, 0.0, 0.0, 1.0]), beta=0.6).round(6).tolist()
    [-0.75, 0.0, 0.0, 1.25]
    """
    p4 = np.asarray(p4, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if np.any(beta < 0) or np.any(beta >= 1):
        raise DataError(f"argument 'beta': must lie in [0, 1), got values in "
                        f"[{beta.min()}, {beta.max()}]")
    gamma = 1.0 / np.sqrt(1.0 - beta * beta)
    out = p4.copy()
    out[..., 0] = gamma * (p4[..., 0] - beta * p4[..., 3])
    out[..., 3] = gamma * (p4[..., 3] - beta * p4[..., 0])
    return out


def _wrap(dphi: _Array) -> _Array:
    return (dphi + np.pi) % (2.0 * np.pi) - np.pi


def jet_tables_from_p4s(p4: NDArray, mask: NDArray, jet_p4: NDArray | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-particle tables (N, P, 11), mask (N, P) and jet rows (N, 4) from four-momenta.

    The jet is ``jet_p4`` (N, 4), else the sum of the masked particles; particles are re-sorted by pT and their
    features (order :data:`~fpgakd.jets.jetfile.CONSTITUENT_NAMES`) taken relative to it,
    as ``fpgakd generate`` does. Jet rows are (pT [GeV], eta, phi, mass [GeV]).

    >>> t, m, j = jet_tables_from_p4s(np.array([[[1.0, 0, 0, 1], [2.0, 0, 0, 2]]]), np.ones((1, 2), bool))
    >>> t[0, :, 4].tolist(), j[0].tolist()                    # pt_frac, (pT, eta, phi, m) of the jet
    ([0.6666666865348816, 0.3333333432674408], [3.0, 0.0, 0.0, 0.0])
    """
    p4 = np.where(np.asarray(mask, bool)[..., None], np.asarray(p4, dtype=np.float64), 0.0)
    pt, eta, phi, e = ptetaphie_from_p4s(p4)
    order = np.argsort(-pt, axis=1, kind="stable")
    pt, eta, phi, e = (np.take_along_axis(a, order, axis=1) for a in (pt, eta, phi, e))
    mask = np.take_along_axis(np.asarray(mask, bool), order, axis=1)
    jet = p4.sum(axis=1) if jet_p4 is None else np.asarray(jet_p4, dtype=np.float64)
    jpt, jeta, jphi, je = ptetaphie_from_p4s(jet)
    jmass = np.sqrt(np.maximum(je ** 2 - np.sum(jet[:, :3] ** 2, axis=1), 0.0))
    deta = eta - jeta[:, None]
    dphi = _wrap(phi - jphi[:, None])
    with np.errstate(divide="ignore"):
        columns = {"deta": deta, "dphi": dphi, "log_pt": np.log(pt), "log_e": np.log(e),
                   "pt_frac": pt / jpt[:, None], "e_frac": e / je[:, None],
                   "delta_r": np.hypot(deta, dphi), "pt": pt, "eta": eta, "phi": phi, "e": e}
    table = np.stack([columns[name] for name in _TABLE_COLUMNS], axis=-1)
    table = np.where(mask[..., None], table, 0.0).astype(np.float32)
    return table, mask, np.stack([jpt, jeta, jphi, jmass], axis=1).astype(np.float32)


def _p4s_of_jet_rows(jets: np.ndarray) -> _Array:
    """(px, py, pz, E) of jet rows (pT [GeV], eta, phi, mass [GeV])."""
    pt, eta, phi, mass = (jets[:, i].astype(np.float64) for i in range(4))
    p = pt * np.cosh(eta)
    return p4s_from_ptetaphie(pt, eta, phi, np.sqrt(p * p + mass * mass))


def require_fpgakd_constituents(dataset, what: str) -> None:
    """Raise :class:`DataError` unless ``dataset`` has fpgakd's 11 constituent columns.

    >>> require_fpgakd_constituents(load_jets("jets.h5"), "boosting")     # doctest: +SKIP
    """
    if tuple(dataset.constituent_names) != CONSTITUENT_NAMES:
        raise DataError(f"{dataset.source}: {what} needs fpgakd's constituent columns "
                        f"{list(CONSTITUENT_NAMES)}, got {list(dataset.constituent_names)}")


def _hlf_of_jets(table: np.ndarray, mask: np.ndarray, progress: bool) -> np.ndarray:
    """The 16 features of every jet, from its (pt, eta, phi, e) columns."""
    from tqdm.auto import tqdm

    from fpgakd.jets.observables import high_level_features

    cols = [_TABLE_COLUMNS.index(c) for c in ("pt", "eta", "phi", "e")]
    out = np.zeros((len(table), len(HLF_NAMES)), dtype=np.float32)
    for i in tqdm(range(len(table)), desc="high-level features", unit="jet", disable=not progress,
                  leave=False):
        pt, eta, phi, e = (table[i, mask[i], c].astype(np.float64) for c in cols)
        out[i] = high_level_features(pt, eta, phi, e)
    return out


def boost_dataset(dataset, *, betas: NDArray, with_hlf: bool = True, progress: bool = False):
    """``dataset`` with each jet boosted along x by its own ``betas[i]``, features rebuilt.

    Needs fpgakd's constituent columns (``CONSTITUENT_NAMES``). With ``with_hlf`` the 16
    high-level features are recomputed from the stored (at most P) constituents (see the
    module doc), so compare a model against beta = 0, not against the file's features.

    >>> boosted = boost_dataset(ds, betas=np.full(ds.n_jets, 0.3))        # doctest: +SKIP
    """
    require_fpgakd_constituents(dataset, "boosting")
    betas = np.asarray(betas, dtype=np.float64)
    if betas.shape != (dataset.n_jets,):
        raise DataError(f"argument 'betas': expected shape ({dataset.n_jets},), got {betas.shape}")
    cons = dataset.constituents
    idx = [CONSTITUENT_NAMES.index(c) for c in ("pt", "eta", "phi", "e")]
    p4 = p4s_from_ptetaphie(*(cons[..., i] for i in idx))
    jet_p4 = None if dataset.jets is None else _p4s_of_jet_rows(dataset.jets)
    table, mask, jets = jet_tables_from_p4s(boost_x(p4, beta=betas[:, None]), dataset.mask,
                                            None if jet_p4 is None else boost_x(jet_p4, beta=betas))
    hlf = _hlf_of_jets(table, mask, progress) if with_hlf else None
    if hlf is not None and dataset.hlf is not None and "j_multiplicity" in dataset.hlf_names:
        # the particle count is frame-independent, and the file counts particles beyond P
        hlf[:, HLF_NAMES.index("j_multiplicity")] = dataset.hlf[:, dataset.hlf_names.index("j_multiplicity")]
    return dataclasses.replace(dataset, constituents=table, mask=mask, jets=jets, hlf=hlf,
                               hlf_names=HLF_NAMES, attrs={**dataset.attrs, "boosted": True},
                               source=f"{dataset.source} (boosted along x)")
