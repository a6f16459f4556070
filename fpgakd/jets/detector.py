"""The per-particle detector response of the original hls4ml jet dataset's processing."""

from __future__ import annotations

import numpy as np

from fpgakd.errors import DataError

__all__ = ["smear_particles"]

_PHOTON = 22
# Detector response of the original dataset's processing (E, pT in GeV).
_CHARGED_PT_TERM = 2.5e-4
_CHARGED_CONST = 0.015
_PHOTON_STOCH, _PHOTON_SCALE, _PHOTON_NOISE, _PHOTON_CONST = 0.027, 1.6, 0.15, 0.005
_NEUTRAL_STOCH, _NEUTRAL_SCALE, _NEUTRAL_CONST = 1.20, 7.0, 0.05



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


