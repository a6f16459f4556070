"""Lorentz-invariant pairwise features of particles (the inductive bias of LorentzNet / ParT).

A particle's kinematics are ``kin[..., :] = (deta, dphi, pt)``: pseudorapidity and azimuth
relative to the jet axis (any common origin works: only differences enter) and transverse
momentum in GeV. Functions take two broadcastable arrays ``a`` and ``b`` of shape
(..., 3) and return (..., n_features), so one function serves one pair, all P x P pairs
of a jet (``kin[:, :, None]`` against ``kin[:, None, :]``) or the k neighbours of EdgeConv.

Features (names as in ``TeacherConfig.pair_features``):

``ln_m2``
    ln of the pair's invariant mass squared [GeV^2], particles taken as massless (a pion's
    0.14 GeV is negligible in TeV jets): m^2 = 2 pt_a pt_b (cosh deta - cos dphi), computed as
    4 pt_a pt_b (sinh^2(deta/2) + sin^2(dphi/2)), which has no float32 cancellation for
    collinear pairs. Floored at :data:`M2_FLOOR_GEV2`.
``ln_delta``
    ln of the angular distance sqrt(deta^2 + dphi^2), dphi wrapped to [-pi, pi), floored at
    :data:`DELTA_FLOOR`.

:func:`pair_features_np` is the NumPy reference, :func:`pair_features_tf` the same inside
a Keras layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fpgakd.config import PAIR_FEATURE_NAMES
from fpgakd.errors import ConfigError

__all__ = ["PAIR_FEATURES", "KINEMATIC_FEATURES", "M2_FLOOR_GEV2", "DELTA_FLOOR",
           "pair_features_np", "pair_features_tf"]

#: pairwise features a teacher may use (declared with the config keys)
PAIR_FEATURES = PAIR_FEATURE_NAMES
#: per-particle inputs of the pair features, in this order (names of fpgakd's jet files)
KINEMATIC_FEATURES = ("deta", "dphi", "pt")
#: pairs lighter than 0.01 GeV (and a particle with itself) read as this m^2: below any
#: detector resolution, and it keeps ln finite
M2_FLOOR_GEV2 = 1e-4
#: angular distances below the finest calorimeter granularity (~0.001) are indistinguishable
DELTA_FLOOR = 1e-3


def _check_names(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in PAIR_FEATURES]
    if unknown:
        raise ConfigError(f"pair_features: unknown {unknown}; allowed: {', '.join(PAIR_FEATURES)}")


def pair_features_np(a: np.ndarray, b: np.ndarray, names: Sequence[str] = PAIR_FEATURES) -> np.ndarray:
    """Pairwise features (..., len(names)) of particles ``a`` and ``b`` (..., 3), float64.

    >>> a = np.array([0.0, 0.0, 100.0]); b = np.array([0.1, 0.0, 100.0])
    >>> round(float(np.exp(pair_features_np(a, b, ["ln_m2"])[0])), 3)   # 2*100*100*(cosh 0.1 - 1)
    100.083
    """
    _check_names(names)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape[-1] != len(KINEMATIC_FEATURES) or b.shape[-1] != len(KINEMATIC_FEATURES):
        raise ValueError(f"a and b must end in {len(KINEMATIC_FEATURES)} kinematics "
                         f"{KINEMATIC_FEATURES}, got shapes {a.shape} and {b.shape}")
    deta = a[..., 0] - b[..., 0]
    dphi = np.mod(a[..., 1] - b[..., 1] + np.pi, 2 * np.pi) - np.pi
    out = {
        "ln_m2": lambda: np.log(np.maximum(
            4 * a[..., 2] * b[..., 2] * (np.sinh(deta / 2) ** 2 + np.sin(dphi / 2) ** 2), M2_FLOOR_GEV2)),
        "ln_delta": lambda: np.log(np.maximum(np.hypot(deta, dphi), DELTA_FLOOR)),
    }
    return np.stack([out[n]() for n in names], axis=-1)


def pair_features_tf(a: Any, b: Any, names: Sequence[str]) -> Any:
    """The same as :func:`pair_features_np` on TensorFlow tensors (float32).

    >>> pair_features_tf(kin[:, :, None], kin[:, None, :], ["ln_m2"]).shape   # doctest: +SKIP
    TensorShape([None, 64, 64, 1])
    """
    import math

    import tensorflow as tf

    _check_names(names)
    deta = a[..., 0] - b[..., 0]
    dphi = tf.math.floormod(a[..., 1] - b[..., 1] + math.pi, 2 * math.pi) - math.pi
    parts = []
    for name in names:
        if name == "ln_m2":
            m2 = 4 * a[..., 2] * b[..., 2] * (tf.sinh(deta / 2) ** 2 + tf.sin(dphi / 2) ** 2)
            parts.append(tf.math.log(tf.maximum(m2, M2_FLOOR_GEV2)))
        else:
            # sqrt has an infinite gradient at 0 (a particle with itself): floor before it
            d2 = tf.maximum(deta ** 2 + dphi ** 2, DELTA_FLOOR ** 2)
            parts.append(0.5 * tf.math.log(d2))
    return tf.stack(parts, axis=-1)
