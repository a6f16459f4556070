"""Tests of fpgakd.studies.jet_degradation: each degradation changes the jets exactly as configured."""

from __future__ import annotations

import numpy as np
import pytest

from fpgakd.errors import ConfigError
from fpgakd.jets.dataset import JetDataset
from fpgakd.jets.jetfile import CONSTITUENT_NAMES
from fpgakd.studies.jet_degradation import degrade_dataset, keep_hardest, round_angles, smear_pt
from fpgakd.studies.lorentz import p4s_from_ptetaphie

_P = 10


@pytest.fixture(scope="module")
def jets():
    """Jets of 4-10 massless particles around a random axis, tabled by the generator's own code."""
    from fpgakd.jets.chunks import _jet_arrays

    rng = np.random.default_rng(7)
    tables, masks, rows = [], [], []
    for _ in range(15):
        m = int(rng.integers(4, _P + 1))
        pt = rng.exponential(50.0, m) + 1.0
        eta, phi = rng.uniform(-1, 1) + rng.normal(0, 0.2, m), rng.uniform(-3, 3) + rng.normal(0, 0.2, m)
        p4 = p4s_from_ptetaphie(pt, eta, phi, pt * np.cosh(eta))
        table, mask, row, _ = _jet_arrays(p4, p4.sum(axis=0), _P)
        tables.append(table), masks.append(mask), rows.append(row)
    return JetDataset(constituents=np.array(tables), mask=np.array(masks), jets=np.array(rows),
                      hlf=np.ones((15, 16)), labels=np.arange(15) % 5)


def _col(ds, name):
    return ds.constituents[..., CONSTITUENT_NAMES.index(name)].astype(np.float64)


def _sorted_real(ds, name):
    return [np.sort(_col(ds, name)[i, ds.mask[i]]) for i in range(ds.n_jets)]


def test_nothing_configured_changes_no_particle(jets):
    out = degrade_dataset(jets, pt_smearing=0.0, n_constituents=_P, angle_step=0.0, seed=0)
    np.testing.assert_array_equal(out.mask, jets.mask)
    for name in ("pt", "eta", "phi", "e", "deta", "pt_frac"):
        np.testing.assert_allclose(_col(out, name), _col(jets, name), rtol=1e-5, atol=1e-5)
    assert out.hlf is None   # full-resolution features must not leak into the degraded view


def test_top_n_keeps_the_hardest_particles(jets):
    out = degrade_dataset(jets, pt_smearing=0.0, n_constituents=3, angle_step=0.0, seed=0)
    np.testing.assert_array_equal(out.mask.sum(axis=1), np.minimum(jets.mask.sum(axis=1), 3))
    np.testing.assert_allclose(_col(out, "pt")[:, :3], _col(jets, "pt")[:, :3], rtol=1e-6)
    # the jet is now the sum of the three kept particles
    p4 = p4s_from_ptetaphie(*(_col(out, c) for c in ("pt", "eta", "phi", "e")))
    jet = np.where(out.mask[..., None], p4, 0.0).sum(axis=1)
    np.testing.assert_allclose(out.jets[:, 0], np.hypot(jet[:, 0], jet[:, 1]), rtol=1e-5)
    assert not np.allclose(_col(out, "pt_frac")[:, 0], _col(jets, "pt_frac")[:, 0])


def test_angles_on_the_grid_and_momenta_kept(jets):
    out = degrade_dataset(jets, pt_smearing=0.0, n_constituents=_P, angle_step=0.1, seed=0)
    for name in ("eta", "phi"):
        values = _col(out, name)[out.mask]
        np.testing.assert_allclose(values / 0.1, np.round(values / 0.1), atol=1e-4)
        assert np.all(np.abs(values - np.round(values / 0.1) * 0.1) < 1e-5)
    for a, b in zip(_sorted_real(out, "pt"), _sorted_real(jets, "pt")):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_smearing_scales_pt_and_e_by_the_seeded_factors(jets):
    sigma = 0.3
    out = degrade_dataset(jets, pt_smearing=sigma, n_constituents=_P, angle_step=0.0, seed=4)
    factor = np.maximum(1.0 + sigma * np.random.default_rng(4).standard_normal(jets.mask.shape), 1e-3)
    expected_pt = _col(jets, "pt") * factor
    for i in range(jets.n_jets):
        m = jets.mask[i]
        np.testing.assert_allclose(np.sort(_col(out, "pt")[i, out.mask[i]]), np.sort(expected_pt[i, m]), rtol=1e-5)
    ratio = _col(out, "e")[out.mask] / _col(out, "pt")[out.mask]
    np.testing.assert_allclose(np.sort(ratio), np.sort((_col(jets, "e") / np.where(jets.mask, _col(jets, "pt"), 1))[jets.mask]), rtol=1e-5)


def test_functions_by_hand():
    pt, e = smear_pt(np.array([10.0, 10.0]), np.array([20.0, 30.0]), sigma=0.0, rng=np.random.default_rng(0))
    assert pt.tolist() == [10.0, 10.0] and e.tolist() == [20.0, 30.0]
    assert keep_hardest(np.array([[5.0, 1.0, 9.0, 0.0]]), np.array([[1, 1, 1, 0]], bool), n=2).tolist() == \
        [[True, False, True, False]]
    eta, phi = round_angles(np.array([0.26]), np.array([3.1]), step=0.25)
    assert eta.tolist() == [0.25] and phi.tolist() == [3.0]


def test_n_larger_than_stored_is_refused_naming_the_key(jets):
    with pytest.raises(ConfigError, match="'n_constituents'.*stores only 10"):
        degrade_dataset(jets, pt_smearing=0.0, n_constituents=11, angle_step=0.0, seed=0)
