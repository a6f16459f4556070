"""Tests of fpgakd.studies.lorentz: boosts along x and the features rebuilt from them."""

from __future__ import annotations

import numpy as np
import pytest

from fpgakd.errors import DataError
from fpgakd.jets.dataset import JetDataset
from fpgakd.jets.jetfile import CONSTITUENT_NAMES, HLF_NAMES
from fpgakd.studies.lorentz import boost_dataset, boost_x, p4s_from_ptetaphie, ptetaphie_from_p4s

#: stored constituents per jet; every jet has more particles, as most default jets do
_P = 12


@pytest.fixture(scope="module")
def jets():
    """Jets of 14-29 massive particles around a random axis, tabled by the generator's own code."""
    from fpgakd.jets.chunks import _jet_arrays

    rng = np.random.default_rng(3)
    tables, masks, rows, hlf = [], [], [], []
    for _ in range(20):
        m = int(rng.integers(_P + 2, 30))
        axis_eta, axis_phi = rng.uniform(-1.5, 1.5), rng.uniform(-np.pi, np.pi)
        pt = rng.exponential(60.0, m) + 1.0
        eta, phi = axis_eta + rng.normal(0, 0.2, m), axis_phi + rng.normal(0, 0.2, m)
        mass = rng.uniform(0.0, 0.5, m)
        e = np.sqrt((pt * np.cosh(eta)) ** 2 + mass ** 2)
        p4 = p4s_from_ptetaphie(pt, eta, phi, e)
        table, mask, row, _ = _jet_arrays(p4, p4.sum(axis=0), _P)
        tables.append(table), masks.append(mask), rows.append(row)
        hlf.append(np.r_[np.zeros(len(HLF_NAMES) - 1), m])
    return JetDataset(constituents=np.array(tables), mask=np.array(masks), jets=np.array(rows),
                      hlf=np.array(hlf), labels=np.arange(20) % 5)


def _col(ds, name):
    return ds.constituents[..., CONSTITUENT_NAMES.index(name)].astype(np.float64)


def _jet_sums(ds):
    """(px, py, pz, E) of the sum of each jet's stored constituents."""
    p4 = p4s_from_ptetaphie(_col(ds, "pt"), _col(ds, "eta"), _col(ds, "phi"), _col(ds, "e"))
    return np.where(ds.mask[..., None], p4, 0.0).sum(axis=1)


def test_boost_of_a_particle_at_rest_by_hand():
    # m = 2 GeV at rest; frame moving with beta = 0.6 along +x: gamma = 1.25
    out = boost_x(np.array([0.0, 0.0, 0.0, 2.0]), beta=0.6)
    np.testing.assert_allclose(out, [-1.5, 0.0, 0.0, 2.5], atol=1e-12)


def test_round_trip_of_coordinates():
    pt, eta, phi, e = np.array([3.0, 40.0]), np.array([-1.2, 0.4]), np.array([2.9, -0.3]), np.array([12.0, 45.0])
    for a, b in zip(ptetaphie_from_p4s(p4s_from_ptetaphie(pt, eta, phi, e)), (pt, eta, phi, e)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_beta_zero_is_the_identity(jets):
    boosted = boost_dataset(jets, betas=np.zeros(jets.n_jets), with_hlf=False)
    np.testing.assert_allclose(boosted.constituents, jets.constituents, atol=1e-5, rtol=1e-5)
    np.testing.assert_array_equal(boosted.mask, jets.mask)
    np.testing.assert_allclose(boosted.jets, jets.jets, rtol=1e-6)


def test_boost_keeps_masses_and_moves_momentum_as_expected(jets):
    betas = np.linspace(0.0, 0.9, jets.n_jets)
    boosted = boost_dataset(jets, betas=betas, with_hlf=False)
    before, after = _jet_sums(jets), _jet_sums(boosted)
    mass = lambda p: np.sqrt(np.maximum(p[:, 3] ** 2 - (p[:, :3] ** 2).sum(axis=1), 0.0))  # noqa: E731
    # float32 storage of (pt, eta, phi, e): masses agree to float precision relative to E
    np.testing.assert_allclose(mass(after), mass(before), atol=2e-6 * before[:, 3].max())
    gamma = 1.0 / np.sqrt(1.0 - betas ** 2)
    np.testing.assert_allclose(after[:, 0], gamma * (before[:, 0] - betas * before[:, 3]), rtol=1e-5, atol=1e-2)
    np.testing.assert_allclose(after[:, 3], gamma * (before[:, 3] - betas * before[:, 0]), rtol=1e-5)
    np.testing.assert_allclose(after[:, 1:3], before[:, 1:3], rtol=1e-5, atol=1e-2)
    # the stored jet row is boosted too: its mass is kept, its pT is that of the boosted sum
    np.testing.assert_allclose(boosted.jets[:, 3], jets.jets[:, 3], rtol=1e-4)
    assert not np.allclose(boosted.jets[:, 0], jets.jets[:, 0])
    # still pT-ordered, fractions relative to the boosted jet
    pt = _col(boosted, "pt")
    assert np.all(np.diff(np.where(boosted.mask, pt, -1.0), axis=1) <= 0)
    np.testing.assert_allclose(_col(boosted, "pt_frac"), pt / boosted.jets[:, :1], rtol=1e-5)


def test_high_level_features_rebuilt_and_multiplicity_kept(jets):
    from fpgakd.jets.observables import high_level_features

    assert np.all(jets.hlf[:, -1] > _P)
    few = jets.subset(np.arange(3))
    boosted = boost_dataset(few, betas=np.full(3, 0.5), with_hlf=True)
    assert boosted.hlf.shape == (3, len(HLF_NAMES))
    m = boosted.mask[1]
    expected = high_level_features(*(_col(boosted, c)[1, m] for c in ("pt", "eta", "phi", "e")))
    np.testing.assert_allclose(boosted.hlf[1, :-1], expected[:-1], rtol=1e-5)
    np.testing.assert_array_equal(boosted.hlf[:, -1], few.hlf[:, -1])


def test_bad_beta_is_refused(jets):
    with pytest.raises(DataError, match="'beta'"):
        boost_x(np.zeros(4), beta=1.0)
    with pytest.raises(DataError, match="'betas'"):
        boost_dataset(jets, betas=np.zeros(2))
