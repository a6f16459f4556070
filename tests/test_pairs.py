"""Tests of fpgakd.learn.pairs on hand-built particle pairs with known invariant masses."""

from __future__ import annotations

import numpy as np
import pytest

from fpgakd.errors import ConfigError
from fpgakd.learn.pairs import DELTA_FLOOR, M2_FLOOR_GEV2, pair_features_np, pair_features_tf


def _p4(pt: float, eta: float, phi: float) -> np.ndarray:
    """A massless particle's (E, px, py, pz) in GeV."""
    return np.array([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)])


def _mass2(p: np.ndarray, q: np.ndarray) -> float:
    s = p + q
    return float(s[0] ** 2 - s[1] ** 2 - s[2] ** 2 - s[3] ** 2)


# two-particle jets: (pt, eta, phi) of each; the last pair straddles phi = +-pi
_PAIRS = [((300.0, 0.1, 0.2), (120.0, -0.15, 0.45)),
          ((500.0, 1.2, -0.3), (2.0, 1.25, -0.31)),
          ((80.0, -0.4, 3.10), (60.0, -0.35, -3.12))]


@pytest.mark.parametrize("a, b", _PAIRS)
def test_ln_m2_is_the_invariant_mass_of_the_pair(a, b):
    want = _mass2(_p4(*a), _p4(*b))
    # kinematics (deta, dphi, pt) relative to an arbitrary jet axis: only differences matter
    axis_eta, axis_phi = 0.05, 0.1
    ka = np.array([a[1] - axis_eta, a[2] - axis_phi, a[0]])
    kb = np.array([b[1] - axis_eta, b[2] - axis_phi, b[0]])
    ln_m2, ln_delta = pair_features_np(ka, kb)
    assert np.exp(ln_m2) == pytest.approx(want, rel=1e-9)
    dphi = (a[2] - b[2] + np.pi) % (2 * np.pi) - np.pi
    assert np.exp(ln_delta) == pytest.approx(np.hypot(a[1] - b[1], dphi), rel=1e-9)
    got_tf = np.asarray(pair_features_tf(ka.astype(np.float32), kb.astype(np.float32), ["ln_m2", "ln_delta"]))
    np.testing.assert_allclose(got_tf, [ln_m2, ln_delta], atol=2e-4)


def test_pair_with_itself_is_floored_and_symmetric():
    k = np.array([[0.1, -0.2, 50.0], [0.3, 0.1, 20.0]])
    self_pair = pair_features_np(k[0], k[0])
    np.testing.assert_allclose(self_pair, [np.log(M2_FLOOR_GEV2), np.log(DELTA_FLOOR)])
    all_pairs = pair_features_np(k[:, None], k[None, :])
    assert all_pairs.shape == (2, 2, 2)
    np.testing.assert_allclose(all_pairs, all_pairs.transpose(1, 0, 2))


def test_unknown_pair_feature_is_named():
    with pytest.raises(ConfigError, match=r"pair_features: unknown \['ln_kt'\]"):
        pair_features_np(np.zeros(3), np.zeros(3), ["ln_kt"])
