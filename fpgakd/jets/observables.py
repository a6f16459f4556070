"""Jet substructure observables: plain numpy functions of one jet's constituents.

Data contract (stated once, used by every function here): a jet is four 1-D arrays of
the same length M, one entry per constituent,

- ``pt``  transverse momentum [GeV], finite and > 0,
- ``eta`` pseudorapidity,
- ``phi`` azimuth [rad], any branch (differences are wrapped to [-pi, pi]),
- ``e``   energy [GeV], finite and > 0.

Order does not matter (every observable is invariant under reordering); zero-padded
entries must be dropped by the caller (a padded pT of 0 is rejected). Shapes and values
are checked up front and a :class:`~fpgakd.errors.DataError` names the bad argument.

Angles are ``Delta R_ij = sqrt((y_i - y_j)^2 + dphi_ij^2)`` in **rapidity** y (not
pseudorapidity) and azimuth, as in the spec. y is computed from (pt, eta, e) with
FastJet's convention ``y = sign(pz) ln((E + |pz|) / sqrt(pt^2 + max(m^2, 0)))``, so a
particle whose energy is rounded a little below |p| is treated as massless (y = eta).

Energy correlation functions use the pT_R measure: with z_i = pT_i / sum_j pT_j,

- ``ECF(0) = 1, ECF(1) = sum pT_i, ECF(2, b) = sum_{i<j} pT_i pT_j R_ij^b``,
  ``ECF(3, b) = sum_{i<j<k} pT_i pT_j pT_k (R_ij R_ik R_jk)^b`` (:func:`ecf`, GeV^n),
- ``v_e_n^(b)`` = sum over n-tuples of the product of the z_i times the product of the v
  smallest of the tuple's pairwise R^b (:func:`ecfg`, dimensionless; 1_e_2^(b) = C1^(b)).

The 3-point sums are exact and vectorized: the full product 3_e_3 is a matrix trace,
``trace((Z W)^3) / 6`` with W = R^b and Z = diag(z); the v = 1, 2 sums need the smallest
and middle angle of every triplet, computed on cached triplet index arrays in chunks.

Ratios whose denominator vanishes (a groomed jet of one particle, or of collinear
particles: ECF(2) = 0) are **defined as 0**, never NaN or inf.
:func:`high_level_features` returns the 16 features of the public hls4ml jet dataset in
the order of :data:`fpgakd.jets.jetfile.HLF_NAMES`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fpgakd.errors import DataError
from fpgakd.jets import portable_math
from fpgakd.jets.jetfile import HLF_NAMES

__all__ = [
    "rapidities", "delta_r_matrix", "invariant_mass",
    "groom_soft_drop", "groom_mmdt",
    "ecf", "ecfg", "c1", "c2", "d2", "m2", "n2", "zlogz", "multiplicity", "groomed_mass",
    "high_level_features",
]

#: pT-sharing cut of mMDT and its jet radius, as used for the public hls4ml jet dataset.
DEFAULT_Z_CUT = 0.1
DEFAULT_JET_R = 0.8
#: exponents b of the angular weights R^b in the 16 features
_FEATURE_BETAS = (1.0, 2.0)
#: triplets handled per vectorized step: large enough to hide Python overhead, small
#: enough that each temporary (64 kB) stays in cache and below malloc's mmap threshold
_TRIPLET_CHUNK = 8192
#: jets up to this many particles use cached triplet index arrays (about 11 MB); larger
#: ones use them for their first particles and go on one particle index at a time
_TRIPLET_CACHE_MAX_N = 128

_Array = NDArray[np.float64]


# ------------------------------------------------------------------ input checks
def _as_1d(name: str, value: ArrayLike) -> _Array:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1:
        raise DataError(f"argument {name!r}: expected a 1-D array of constituents, "
                        f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise DataError(f"argument {name!r}: contains NaN or inf")
    return arr


def _check_jet(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike,
               e: ArrayLike) -> tuple[_Array, _Array, _Array, _Array]:
    """The four arrays as float64, checked: 1-D, same length, finite, pt > 0, e > 0."""
    arrays = {name: _as_1d(name, value)
              for name, value in (("pt", pt), ("eta", eta), ("phi", phi), ("e", e))}
    m = len(arrays["pt"])
    for name, arr in arrays.items():
        if len(arr) != m:
            raise DataError(f"argument {name!r}: has {len(arr)} constituents but 'pt' has {m}")
    for name in ("pt", "e"):
        bad = np.flatnonzero(arrays[name] <= 0.0)
        if len(bad):
            raise DataError(f"argument {name!r}: must be > 0 GeV, entry {bad[0]} is "
                            f"{arrays[name][bad[0]]!r} (drop zero-padded constituents first)")
    return arrays["pt"], arrays["eta"], arrays["phi"], arrays["e"]


def _require_particles(pt: _Array, what: str) -> None:
    if len(pt) == 0:
        raise DataError(f"argument 'pt': the jet has no constituents, {what} is undefined")


# ------------------------------------------------------------------ kinematics
class _Kin(NamedTuple):
    """Derived per-particle kinematics, computed once per jet."""

    px: _Array
    py: _Array
    pz: _Array
    e: _Array
    y: _Array


def _kinematics(pt: _Array, eta: _Array, phi: _Array, e: _Array) -> _Kin:
    pz = pt * portable_math.sinh(eta)
    m2 = e * e - pt * pt - pz * pz
    mt = np.sqrt(pt * pt + np.maximum(m2, 0.0))
    y = np.copysign(portable_math.log((e + np.abs(pz)) / mt), pz)
    return _Kin(pt * portable_math.cos(phi), pt * portable_math.sin(phi), pz, e, y)


def rapidities(pt: ArrayLike, eta: ArrayLike, e: ArrayLike) -> _Array:
    """Rapidity y of each constituent from pT [GeV], pseudorapidity and energy [GeV].

    Massless particles have y = eta; massive ones |y| < |eta|. Uses FastJet's convention,
    so a particle with E slightly below |p| (rounding) gets y = eta instead of NaN.

    >>> rapidities([10.0], [1.0], [10.0 * np.cosh(1.0)]).round(6)
    array([1.])
    """
    pt_a, eta_a, _, e_a = _check_jet(pt, eta, np.zeros(np.shape(pt)), e)
    return _kinematics(pt_a, eta_a, np.zeros_like(pt_a), e_a).y


def _wrap(dphi: _Array) -> _Array:
    return (dphi + np.pi) % (2.0 * np.pi) - np.pi


def _delta_r(y: _Array, phi: _Array) -> _Array:
    return np.hypot(y[:, None] - y[None, :], _wrap(phi[:, None] - phi[None, :]))


def delta_r_matrix(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike) -> _Array:
    """Pairwise Delta R (M, M) in rapidity and azimuth; zero on the diagonal.

    >>> r = delta_r_matrix([1.0, 1.0], [0.0, 0.3], [0.0, 0.4], [1.0, np.cosh(0.3)])
    >>> float(r[0, 1].round(6))
    0.5
    """
    pt_a, eta_a, phi_a, e_a = _check_jet(pt, eta, phi, e)
    return _delta_r(_kinematics(pt_a, eta_a, phi_a, e_a).y, phi_a)


def _mass(kin: _Kin, idx: NDArray[np.intp] | None = None) -> float:
    if idx is not None:
        kin = _Kin(*(a[idx] for a in kin))
    m2 = kin.e.sum() ** 2 - kin.px.sum() ** 2 - kin.py.sum() ** 2 - kin.pz.sum() ** 2
    return math.sqrt(max(m2, 0.0))


def invariant_mass(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike) -> float:
    """Invariant mass [GeV] of the sum of the constituents' four-momenta (0 if m^2 < 0).

    >>> round(invariant_mass([50.0, 50.0], [0.0, 0.0], [0.0, np.pi], [50.0, 50.0]), 6)
    100.0
    """
    return _mass(_kinematics(*_check_jet(pt, eta, phi, e)))


# ------------------------------------------------------------------ grooming
def _quiet_fastjet(fastjet) -> None:
    """Silence FastJet's start-up banner (it goes to stdout; the library never prints)."""
    cls = getattr(getattr(fastjet, "_swig", None), "ClusterSequence", None)
    if cls is not None and hasattr(cls, "set_fastjet_banner_stream"):
        cls.set_fastjet_banner_stream(None)


def _soft_drop(kin: _Kin, z_cut: float, beta: float, r0: float) -> NDArray[np.intp]:
    """Indices kept by soft drop; inputs already checked."""
    n = len(kin.e)
    if n <= 1:
        return np.arange(n, dtype=np.intp)
    import fastjet

    _quiet_fastjet(fastjet)
    # Every pairwise distance (and every merged pseudojet, which stays inside the
    # particles' bounding box) is below hypot(y range, pi), so C/A with a radius beyond
    # it merges everything into one jet: its tree is independent of the radius.
    recluster_r = max(2.0 * r0, math.hypot(float(np.ptp(kin.y)), math.pi)) + 1.0
    jet_def = fastjet.JetDefinition(fastjet.cambridge_algorithm, recluster_r)
    pseudojet = fastjet.PseudoJet
    particles = list(map(pseudojet, kin.px.tolist(), kin.py.tolist(), kin.pz.tolist(),
                         kin.e.tolist()))
    sequence = fastjet.ClusterSequence(particles, jet_def)
    jet = sequence.exclusive_jets(1)[0]
    parent1, parent2 = pseudojet(), pseudojet()
    while jet.has_parents(parent1, parent2):
        pt1, pt2 = parent1.pt(), parent2.pt()
        threshold = z_cut
        if beta != 0.0:
            threshold *= (parent1.delta_R(parent2) / r0) ** beta
        if min(pt1, pt2) > threshold * (pt1 + pt2):
            break
        jet = parent1 if pt1 >= pt2 else parent2
        parent1, parent2 = pseudojet(), pseudojet()
    # an input particle's cluster-history index is its position in the input list
    kept = np.fromiter((c.cluster_hist_index() for c in jet.constituents()), dtype=np.intp)
    kept.sort()
    return kept


def _check_groom_args(z_cut: float, r0: float) -> None:
    if not 0.0 <= z_cut < 0.5:
        raise ValueError(f"z_cut must be in [0, 0.5), got {z_cut!r}")
    if not r0 > 0.0:
        raise ValueError(f"jet radius must be > 0, got {r0!r}")


def groom_soft_drop(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike, *,
                    z_cut: float = DEFAULT_Z_CUT, beta: float = 0.0,
                    r0: float = DEFAULT_JET_R) -> NDArray[np.intp]:
    """Indices (sorted) of the constituents kept by soft drop grooming.

    The constituents are reclustered with Cambridge/Aachen (FastJet) and declustered from
    the top: the first splitting with ``min(pT1, pT2) / (pT1 + pT2) > z_cut (dR12/r0)^beta``
    stops the grooming and its constituents are kept; otherwise the softer branch is
    dropped and the harder one (the first on equal pT) is followed. ``beta = 0`` is mMDT.

    >>> groom_soft_drop([500.0, 400.0, 5.0], [0.0, 0.1, 0.6], [0.0, 0.1, 0.5],
    ...                 [500.0, 400.0 * np.cosh(0.1), 5.0 * np.cosh(0.6)]).tolist()
    [0, 1]
    """
    _check_groom_args(z_cut, r0)
    kin = _kinematics(*_check_jet(pt, eta, phi, e))
    return _soft_drop(kin, z_cut, beta, r0)


def groom_mmdt(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike, *,
               z_cut: float = DEFAULT_Z_CUT, jet_r: float = DEFAULT_JET_R) -> NDArray[np.intp]:
    """Indices (sorted) of the constituents kept by mMDT (soft drop with beta = 0).

    ``jet_r`` is the radius of the jet the constituents come from; it does not change the
    result for beta = 0 (the C/A tree is reclustered with a radius that merges everything).

    >>> groom_mmdt([500.0, 400.0, 5.0], [0.0, 0.1, 0.6], [0.0, 0.1, 0.5],
    ...            [500.0, 400.0 * np.cosh(0.1), 5.0 * np.cosh(0.6)], z_cut=0.1).tolist()
    [0, 1]
    """
    return groom_soft_drop(pt, eta, phi, e, z_cut=z_cut, beta=0.0, r0=jet_r)


# ------------------------------------------------------------------ correlators
class _TripletIndex:
    """Triplets i < j < k in colexicographic order (by k, then j, then i), as positions
    in the condensed pair vector (pair (i, j), i < j, sits at j (j - 1) / 2 + i).

    In this order the triplets of the first n particles are a prefix, so one cache serves
    every jet size; it grows on demand up to ``_TRIPLET_CACHE_MAX_N`` particles.
    """

    def __init__(self) -> None:
        self.n = 0
        self.ij = self.ik = self.jk = self.k = np.zeros(0, dtype=np.intp)
        self.pair_i = self.pair_j = np.zeros(0, dtype=np.intp)

    def pairs(self, n: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(i, j) of the condensed pairs of n particles, in condensed order."""
        if len(self.pair_i) < n * (n - 1) // 2:
            size = max(n, 2 * _TRIPLET_CACHE_MAX_N)
            j = np.repeat(np.arange(size, dtype=np.intp), np.arange(size))
            self.pair_j = j
            self.pair_i = np.arange(len(j), dtype=np.intp) - j * (j - 1) // 2
        p = n * (n - 1) // 2
        return self.pair_i[:p], self.pair_j[:p]

    def triplets(self, n: int) -> tuple[NDArray[np.intp], ...]:
        """(ij, ik, jk, k) of the triplets of n <= _TRIPLET_CACHE_MAX_N particles."""
        if n > self.n:
            size = min(_TRIPLET_CACHE_MAX_N, max(n, 2 * self.n, 32))
            pi, pj = self.pairs(size)
            # block k holds all pairs (i, j) with j < k: the first C(k, 2) pairs
            block = np.arange(size) * (np.arange(size) - 1) // 2
            k = np.repeat(np.arange(size, dtype=np.intp), block)
            ij = np.arange(len(k), dtype=np.intp) - np.repeat(
                np.cumsum(block) - block, block)
            first = k * (k - 1) // 2
            self.ij, self.k = ij, k
            self.ik = first + pi[ij]
            self.jk = first + pj[ij]
            self.n = size
        t = math.comb(n, 3)
        return self.ij[:t], self.ik[:t], self.jk[:t], self.k[:t]


_TRIPLETS = _TripletIndex()


class _Sums(NamedTuple):
    """Normalized correlator sums of one jet for one exponent b."""

    e2: float       # 1_e_2^(b) = C1^(b)
    e3: float       # 3_e_3^(b), all three angles
    e3_min: float   # 1_e_3^(b), smallest angle
    e3_two: float   # 2_e_3^(b), two smallest angles


def _power(x: _Array, b: float) -> _Array:
    if b == 1.0:
        return x
    if b == 2.0:
        return x * x
    return portable_math.power(x, b)


def _triplet_blocks(n: int, d: _Array, zz: _Array, z: _Array):
    """Yield (a, b, c, w) for chunks of the triplets i < j < k of n particles: the pair
    distances R_ij (possibly a view of ``d``), R_ik, R_jk and the weights z_i z_j z_k.

    Chunks hold at most ``_TRIPLET_CHUNK`` triplets: larger temporaries would be fresh
    memory maps on every call, which costs more than the arithmetic.
    """
    pair_i, pair_j = _TRIPLETS.pairs(n)
    n_cached = min(n, _TRIPLET_CACHE_MAX_N)
    ij, ik, jk, k = _TRIPLETS.triplets(n_cached)
    for s in range(0, len(ij), _TRIPLET_CHUNK):
        sl = slice(s, s + _TRIPLET_CHUNK)
        yield d.take(ij[sl]), d.take(ik[sl]), d.take(jk[sl]), zz.take(ij[sl]) * z.take(k[sl])
    # beyond the cache: particle kk closes triplets with every pair (i, j), j < kk, that
    # is with the first C(kk, 2) pairs; its distances R_i,kk are d[C(kk, 2) : C(kk+1, 2)]
    for kk in range(n_cached, n):
        m = kk * (kk - 1) // 2
        column = d[m:m + kk]
        for s in range(0, m, _TRIPLET_CHUNK):
            e = min(s + _TRIPLET_CHUNK, m)
            yield (d[s:e], column.take(pair_i[s:e]), column.take(pair_j[s:e]),
                   zz[s:e] * z[kk])


def _correlator_sums(z: _Array, r: _Array, betas: tuple[float, ...],
                     need_triplets: bool = True) -> dict[float, _Sums]:
    """e2, e3, 1_e_3, 2_e_3 for each exponent in ``betas``; z normalized, r = Delta R (n, n).

    With ``need_triplets=False`` the 1_e_3 and 2_e_3 entries are left at 0. For b = 0
    every angular weight is 1 (also for coincident particles), so all 3-point sums agree.
    """
    n = len(z)
    out: dict[float, list[float]] = {b: [0.0, 0.0, 0.0, 0.0] for b in betas}
    if n < 2:
        return {b: _Sums(*v) for b, v in out.items()}
    pair_i, pair_j = _TRIPLETS.pairs(n)
    d = r[pair_i, pair_j]
    zz = z[pair_i] * z[pair_j]
    for b in betas:
        out[b][0] = float(zz.sum()) if b == 0.0 else float(zz @ _power(d, b))
        if n >= 3:
            zw = z[:, None] * (np.ones_like(r) if b == 0.0 else _power(r, b))
            np.fill_diagonal(zw, 0.0)
            out[b][1] = float(np.einsum("ij,ji->", zw @ zw, zw)) / 6.0
            if b == 0.0:
                out[b][2] = out[b][3] = out[b][1]
    angular = [b for b in betas if b != 0.0]
    if n >= 3 and need_triplets and angular:
        for a, bb, c, wt in _triplet_blocks(n, d, zz, z):
            # a may be a view of d: only bb and c (fresh copies) are overwritten
            lo = np.minimum(a, bb)
            hi = np.maximum(a, bb)
            smallest = np.minimum(lo, c, out=bb)
            middle = np.maximum(lo, np.minimum(hi, c, out=hi), out=lo)
            both = np.multiply(smallest, middle, out=middle)
            for b in angular:
                out[b][2] += float(wt @ _power(smallest, b))
                out[b][3] += float(wt @ _power(both, b))
    return {b: _Sums(*v) for b, v in out.items()}


def _ratio(num: float, den: float) -> float:
    """num / den, defined as 0 where den vanishes (degenerate jets)."""
    if den <= 0.0:
        return 0.0
    value = num / den
    return value if math.isfinite(value) else 0.0


def _prepared(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike,
              e: ArrayLike) -> tuple[_Array, _Array, _Array]:
    """(pT, z = pT / sum pT, Delta R matrix) of a checked, non-empty jet."""
    pt_a, eta_a, phi_a, e_a = _check_jet(pt, eta, phi, e)
    _require_particles(pt_a, "the energy correlation")
    y = _kinematics(pt_a, eta_a, phi_a, e_a).y
    return pt_a, pt_a / pt_a.sum(), _delta_r(y, phi_a)


def ecf(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike, n: int, *,
        beta: float = 1.0) -> float:
    """Energy correlation function ECF(n, beta) [GeV^n], pT_R measure, n = 0 .. 3.

    ``ECF(2, b) = sum_{i<j} pT_i pT_j R_ij^b``, ``ECF(3, b)`` the same over triplets with
    ``(R_ij R_ik R_jk)^b``.

    >>> round(ecf([100.0, 50.0], [0.0, 0.0], [0.0, 0.2], [100.0, 50.0], 2, beta=1.0), 6)
    1000.0
    """
    if n not in (0, 1, 2, 3):
        raise ValueError(f"ecf: n must be 0, 1, 2 or 3, got {n!r}")
    if n == 0:
        return 1.0
    pt_a, z, r = _prepared(pt, eta, phi, e)
    total = float(pt_a.sum())
    if n == 1:
        return total
    sums = _correlator_sums(z, r, (float(beta),), need_triplets=False)[float(beta)]
    return (sums.e2 if n == 2 else sums.e3) * total ** n


def ecfg(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike, v: int, n: int,
         beta: float) -> float:
    """Generalized correlator v_e_n^(beta) (Moult, Necib, Thaler), pT_R measure.

    Sum over n-tuples of prod z_i times the product of the v smallest pairwise R^beta;
    n = 2 (v = 1) or n = 3 (v = 1, 2, 3). ``ecfg(..., 3, 3, b)`` is ECF(3, b) / ECF(1)^3.

    >>> round(ecfg([1.0, 1.0, 2.0], [0.0, 0.0, 0.0], [0.0, 0.1, 0.3], [1.0, 1.0, 2.0],
    ...            1, 3, 1.0), 6)
    0.003125
    """
    if n not in (2, 3) or not 1 <= v <= math.comb(n, 2):
        raise ValueError(f"ecfg: need n in (2, 3) and 1 <= v <= n (n - 1) / 2, "
                         f"got v={v!r}, n={n!r}")
    _, z, r = _prepared(pt, eta, phi, e)
    sums = _correlator_sums(z, r, (float(beta),), need_triplets=(n == 3 and v < 3))
    s = sums[float(beta)]
    return {(1, 2): s.e2, (1, 3): s.e3_min, (2, 3): s.e3_two, (3, 3): s.e3}[(v, n)]


def c1(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike, *,
       beta: float = 1.0) -> float:
    """C1^(beta) = ECF(2, beta) ECF(0) / ECF(1)^2 (= 1_e_2^(beta)).

    >>> round(c1([1.0, 1.0], [0.0, 0.0], [0.0, 0.4], [1.0, 1.0], beta=2.0), 6)
    0.04
    """
    _, z, r = _prepared(pt, eta, phi, e)
    return _correlator_sums(z, r, (float(beta),), need_triplets=False)[float(beta)].e2


def c2(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike, *,
       beta: float = 1.0) -> float:
    """C2^(beta) = ECF(3, beta) ECF(1) / ECF(2, beta)^2; 0 where ECF(2) = 0.

    >>> c2([1.0, 1.0], [0.0, 0.0], [0.0, 0.4], [1.0, 1.0])   # two particles: ECF(3) = 0
    0.0
    """
    _, z, r = _prepared(pt, eta, phi, e)
    s = _correlator_sums(z, r, (float(beta),), need_triplets=False)[float(beta)]
    return _ratio(s.e3, s.e2 ** 2)


def d2(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike, *,
       beta: float = 1.0, alpha: float | None = None) -> float:
    """D2^(alpha, beta) = 3_e_3^(alpha) / (1_e_2^(beta))^(3 alpha / beta); 0 where e2 = 0.

    ``alpha=None`` means alpha = beta, the plain D2^(beta) = ECF(3,b) ECF(1)^3 / ECF(2,b)^3.

    >>> d2([1.0, 1.0], [0.0, 0.0], [0.0, 0.4], [1.0, 1.0])   # two particles: ECF(3) = 0
    0.0
    """
    alpha = beta if alpha is None else alpha
    if beta == 0.0:
        raise ValueError("d2: beta must be non-zero")
    _, z, r = _prepared(pt, eta, phi, e)
    sums = _correlator_sums(z, r, tuple({float(alpha), float(beta)}), need_triplets=False)
    return _ratio(sums[float(alpha)].e3, sums[float(beta)].e2 ** (3.0 * alpha / beta))


def m2(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike, *,
       beta: float = 1.0) -> float:
    """M2^(beta) = 1_e_3^(beta) / 1_e_2^(beta); 0 where e2 = 0.

    >>> m2([1.0, 1.0], [0.0, 0.0], [0.0, 0.4], [1.0, 1.0])
    0.0
    """
    _, z, r = _prepared(pt, eta, phi, e)
    s = _correlator_sums(z, r, (float(beta),))[float(beta)]
    return _ratio(s.e3_min, s.e2)


def n2(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike, *,
       beta: float = 1.0) -> float:
    """N2^(beta) = 2_e_3^(beta) / (1_e_2^(beta))^2; 0 where e2 = 0.

    >>> n2([1.0, 1.0], [0.0, 0.0], [0.0, 0.4], [1.0, 1.0])
    0.0
    """
    _, z, r = _prepared(pt, eta, phi, e)
    s = _correlator_sums(z, r, (float(beta),))[float(beta)]
    return _ratio(s.e3_two, s.e2 ** 2)


def zlogz(e: ArrayLike) -> float:
    """sum_i z_i ln z_i with z_i = E_i / sum_j E_j (energies [GeV], > 0); 0 for one particle.

    >>> round(zlogz([1.0, 1.0]), 6)
    -0.693147
    """
    e_a = _as_1d("e", e)
    if len(e_a) == 0 or np.any(e_a <= 0.0):
        raise DataError("argument 'e': needs at least one constituent, all with E > 0 GeV")
    z = e_a / e_a.sum()
    return float(z @ portable_math.log(z))


def multiplicity(pt: ArrayLike) -> int:
    """Number of constituents (the length of the checked 1-D ``pt`` array).

    >>> multiplicity([3.0, 2.0, 1.0])
    3
    """
    return len(_as_1d("pt", pt))


def groomed_mass(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike, *,
                 z_cut: float = DEFAULT_Z_CUT, jet_r: float = DEFAULT_JET_R) -> float:
    """Invariant mass [GeV] of the mMDT-groomed jet.

    >>> round(groomed_mass([50.0, 50.0], [0.0, 0.0], [0.0, 0.5], [50.0, 50.0]), 4)
    24.7404
    """
    _check_groom_args(z_cut, jet_r)
    pt_a, eta_a, phi_a, e_a = _check_jet(pt, eta, phi, e)
    _require_particles(pt_a, "the groomed mass")
    kin = _kinematics(pt_a, eta_a, phi_a, e_a)
    return _mass(kin, _soft_drop(kin, z_cut, 0.0, jet_r))


def high_level_features(pt: ArrayLike, eta: ArrayLike, phi: ArrayLike, e: ArrayLike, *,
                        z_cut: float = DEFAULT_Z_CUT,
                        jet_r: float = DEFAULT_JET_R) -> NDArray[np.float64]:
    """The 16 features of the hls4ml LHC jet dataset, shape (16,), order ``HLF_NAMES``.

    ``j_zlogz`` and ``j_multiplicity`` use the whole jet; every ``*_mmdt`` feature uses the
    constituents kept by :func:`groom_mmdt`. C1 = 1_e_2, C2 = e3 / e2^2, D2 = e3 / e2^3,
    D2^(1,b) = 3_e_3^(1) / (1_e_2^(b))^(3/b), M2 = 1_e_3 / 1_e_2, N2 = 2_e_3 / (1_e_2)^2.
    Ratios are 0 where 1_e_2 = 0 (one particle left after grooming), never NaN.

    >>> f = high_level_features([500.0, 400.0, 5.0], [0.0, 0.1, 0.6], [0.0, 0.1, 0.5],
    ...                         [500.0, 400.0 * np.cosh(0.1), 5.0 * np.cosh(0.6)])
    >>> f.shape, float(f[-1])
    ((16,), 3.0)
    """
    _check_groom_args(z_cut, jet_r)
    pt_a, eta_a, phi_a, e_a = _check_jet(pt, eta, phi, e)
    _require_particles(pt_a, "the jet's features")
    kin = _kinematics(pt_a, eta_a, phi_a, e_a)
    kept = _soft_drop(kin, z_cut, 0.0, jet_r)
    pt_g = pt_a[kept]
    z = pt_g / pt_g.sum()
    r = _delta_r(kin.y[kept], phi_a[kept])
    sums = _correlator_sums(z, r, (0.0,) + _FEATURE_BETAS)
    s0, s1, s2 = sums[0.0], sums[1.0], sums[2.0]
    e_frac = e_a / e_a.sum()
    values = {
        "j_zlogz": float(e_frac @ portable_math.log(e_frac)),
        "j_c1_b0_mmdt": s0.e2,
        "j_c1_b1_mmdt": s1.e2,
        "j_c1_b2_mmdt": s2.e2,
        "j_c2_b1_mmdt": _ratio(s1.e3, s1.e2 ** 2),
        "j_c2_b2_mmdt": _ratio(s2.e3, s2.e2 ** 2),
        "j_d2_b1_mmdt": _ratio(s1.e3, s1.e2 ** 3),
        "j_d2_b2_mmdt": _ratio(s2.e3, s2.e2 ** 3),
        "j_d2_a1_b1_mmdt": _ratio(s1.e3, s1.e2 ** 3),
        "j_d2_a1_b2_mmdt": _ratio(s1.e3, s2.e2 ** 1.5),
        "j_m2_b1_mmdt": _ratio(s1.e3_min, s1.e2),
        "j_m2_b2_mmdt": _ratio(s2.e3_min, s2.e2),
        "j_n2_b1_mmdt": _ratio(s1.e3_two, s1.e2 ** 2),
        "j_n2_b2_mmdt": _ratio(s2.e3_two, s2.e2 ** 2),
        "j_mass_mmdt": _mass(kin, kept),
        "j_multiplicity": float(len(pt_a)),
    }
    return np.array([values[name] for name in HLF_NAMES], dtype=np.float64)
