"""Jet substructure observables: hand-derived values, identities, brute force, FastJet contrib."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from fpgakd.jets import observables as ob
from fpgakd.errors import DataError
from fpgakd.jets.jetfile import HLF_NAMES


def massless(pt, y, phi):
    """A jet of massless particles (eta = y, E = pT cosh y)."""
    pt, y, phi = (np.asarray(v, dtype=float) for v in (pt, y, phi))
    return pt, y, phi, pt * np.cosh(y)


def random_jet(rng, m, *, spread=0.15, phi0=3.0):
    """Unordered random jet around (eta, phi) = (0, phi0) with small masses; phi0 near pi
    tests the azimuth wrap."""
    pt = rng.pareto(1.5, m) + 1.0
    pt *= 1000.0 / pt.sum()
    r = np.minimum(rng.exponential(spread, m), 0.79)
    a = rng.uniform(0.0, 2.0 * np.pi, m)
    eta = r * np.cos(a)
    phi = (phi0 + r * np.sin(a) + np.pi) % (2 * np.pi) - np.pi
    e = np.sqrt((pt * np.cosh(eta)) ** 2 + rng.uniform(0.0, 0.5, m) ** 2)
    return pt, eta, phi, e


def hlf(values):
    return dict(zip(HLF_NAMES, values))


def brute_force(pt, eta, phi, e, beta):
    """e2 and (1_e_3, 2_e_3, 3_e_3) with explicit loops over pairs and triplets."""
    y = ob.rapidities(pt, eta, e)
    z = pt / pt.sum()

    def w(i, j):
        dphi = (phi[i] - phi[j] + math.pi) % (2 * math.pi) - math.pi
        return math.hypot(y[i] - y[j], dphi) ** beta

    e2 = sum(z[i] * z[j] * w(i, j) for i, j in itertools.combinations(range(len(pt)), 2))
    e3 = np.zeros(3)
    for i, j, k in itertools.combinations(range(len(pt)), 3):
        ws = sorted((w(i, j), w(i, k), w(j, k)))
        e3 += z[i] * z[j] * z[k] * np.cumprod(ws)
    return e2, e3


# ---------------------------------------------------------------- hand-derived values
def test_two_particles():
    pt1, pt2, dy, dphi = 300.0, 100.0, 0.3, 0.4          # Delta R = 0.5
    jet = massless([pt1, pt2], [0.1, 0.1 + dy], [1.0, 1.0 + dphi])
    r = 0.5
    for b in (1.0, 2.0):
        assert ob.ecf(*jet, 2, beta=b) == pytest.approx(pt1 * pt2 * r ** b, rel=1e-12)
        assert ob.c1(*jet, beta=b) == pytest.approx(0.75 * 0.25 * r ** b, rel=1e-12)
    assert ob.ecf(*jet, 1) == pytest.approx(400.0)
    assert ob.ecf(*jet, 0) == 1.0
    assert ob.ecf(*jet, 3, beta=1.0) == 0.0
    mass = math.sqrt(2 * pt1 * pt2 * (math.cosh(dy) - math.cos(dphi)))
    f = hlf(ob.high_level_features(*jet))
    assert f["j_mass_mmdt"] == pytest.approx(mass, rel=1e-9)
    assert f["j_c1_b0_mmdt"] == pytest.approx(0.75 * 0.25, rel=1e-12)
    assert f["j_c1_b1_mmdt"] == pytest.approx(0.75 * 0.25 * r, rel=1e-12)
    assert f["j_c1_b2_mmdt"] == pytest.approx(0.75 * 0.25 * r * r, rel=1e-12)
    for name in HLF_NAMES[4:14]:                           # ECF(3) = 0: C2, D2, M2, N2
        assert f[name] == 0.0, name
    assert f["j_multiplicity"] == 2.0
    e = jet[3]
    zs = e / e.sum()
    assert f["j_zlogz"] == pytest.approx(float(zs @ np.log(zs)), rel=1e-12)


def test_three_particles_by_hand():
    # right triangle in (y, phi) with sides 0.3, 0.4, 0.5; z = 1/6, 2/6, 3/6, so the
    # single triplet has z1 z2 z3 = 1/36 and the pairs z_i z_j = 2/36, 3/36, 6/36
    jet = massless([100.0, 200.0, 300.0], [0.0, 0.3, 0.0], [0.0, 0.0, 0.4])
    e2 = {1.0: (2 * 0.3 + 3 * 0.4 + 6 * 0.5) / 36, 2.0: (2 * 0.09 + 3 * 0.16 + 6 * 0.25) / 36}
    e3_min = {1.0: 0.3 / 36, 2.0: 0.09 / 36}
    e3_two = {1.0: 0.3 * 0.4 / 36, 2.0: 0.09 * 0.16 / 36}
    e3 = {1.0: 0.3 * 0.4 * 0.5 / 36, 2.0: (0.3 * 0.4 * 0.5) ** 2 / 36}
    for b in (1.0, 2.0):
        assert ob.ecfg(*jet, 1, 2, b) == pytest.approx(e2[b], rel=1e-12)
        assert ob.ecfg(*jet, 1, 3, b) == pytest.approx(e3_min[b], rel=1e-12)
        assert ob.ecfg(*jet, 2, 3, b) == pytest.approx(e3_two[b], rel=1e-12)
        assert ob.ecfg(*jet, 3, 3, b) == pytest.approx(e3[b], rel=1e-12)
        assert ob.ecf(*jet, 3, beta=b) == pytest.approx(e3[b] * 600.0 ** 3, rel=1e-12)
    assert ob.groom_mmdt(*jet).tolist() == [0, 1, 2]      # softest branch has z = 1/2
    f = hlf(ob.high_level_features(*jet))
    for b, tag in ((1.0, "b1"), (2.0, "b2")):
        assert f[f"j_c1_{tag}_mmdt"] == pytest.approx(e2[b], rel=1e-12)
        assert f[f"j_c2_{tag}_mmdt"] == pytest.approx(e3[b] / e2[b] ** 2, rel=1e-12)
        assert f[f"j_d2_{tag}_mmdt"] == pytest.approx(e3[b] / e2[b] ** 3, rel=1e-12)
        assert f[f"j_m2_{tag}_mmdt"] == pytest.approx(e3_min[b] / e2[b], rel=1e-12)
        assert f[f"j_n2_{tag}_mmdt"] == pytest.approx(e3_two[b] / e2[b] ** 2, rel=1e-12)
    assert f["j_d2_a1_b2_mmdt"] == pytest.approx(e3[1.0] / e2[2.0] ** 1.5, rel=1e-12)
    assert f["j_c1_b0_mmdt"] == pytest.approx(11 / 36, rel=1e-12)
    assert f["j_d2_b1_mmdt"] == pytest.approx(0.703125, rel=1e-12)  # 0.06 * 36^2 / 4.8^3


def test_boosted_two_body_decay_has_parent_mass():
    m_w, pt_w, eta_w, phi_w = 80.379, 1000.0, 0.7, -2.9
    p_star = m_w / 2.0                                 # daughters emitted perpendicular
    daughters = np.array([[0.0, p_star, 0.0, p_star], [0.0, -p_star, 0.0, p_star]])
    # boost along x to the W's transverse momentum, then rotate and boost along z
    e_w = math.hypot(pt_w, m_w)
    gamma, gb = e_w / m_w, pt_w / m_w
    px = gamma * daughters[:, 0] + gb * daughters[:, 3]
    e_t = gb * daughters[:, 0] + gamma * daughters[:, 3]
    py = daughters[:, 1]
    # rapidity boost by y_w (massive W: y != eta)
    y_w = math.asinh(pt_w * math.sinh(eta_w) / e_w)
    pz = e_t * math.sinh(y_w) + daughters[:, 2] * math.cosh(y_w)
    e = e_t * math.cosh(y_w) + daughters[:, 2] * math.sinh(y_w)
    px, py = px * math.cos(phi_w) - py * math.sin(phi_w), px * math.sin(phi_w) + py * math.cos(phi_w)
    pt = np.hypot(px, py)
    jet = (pt, np.arcsinh(pz / pt), np.arctan2(py, px), e)
    assert ob.invariant_mass(*jet) == pytest.approx(m_w, rel=1e-9)
    assert ob.groom_mmdt(*jet).tolist() == [0, 1]
    assert hlf(ob.high_level_features(*jet))["j_mass_mmdt"] == pytest.approx(m_w, rel=1e-9)


# ---------------------------------------------------------------- grooming
def test_grooming_drops_soft_wide_angle_particle_and_keeps_hard_pair():
    # index 1 is soft and far away (z = 10 / 810 < 0.1); 0 and 2 share the pT evenly
    jet = massless([400.0, 10.0, 400.0], [0.0, 0.5, 0.1], [0.0, -0.5, 0.17])
    assert ob.groom_mmdt(*jet).tolist() == [0, 2]
    assert ob.groom_mmdt(*jet, z_cut=0.01).tolist() == [0, 1, 2]
    hard = tuple(a[[0, 2]] for a in jet)
    f = hlf(ob.high_level_features(*jet))
    assert f["j_mass_mmdt"] == pytest.approx(ob.invariant_mass(*hard), rel=1e-12)
    assert f["j_c1_b1_mmdt"] == pytest.approx(ob.c1(*hard), rel=1e-12)
    assert f["j_multiplicity"] == 3.0                        # ungroomed


def test_grooming_to_one_particle_gives_zero_ratios_not_nan():
    # each split has z < 0.1, so mMDT follows the hardest particle down to itself
    jet = massless([900.0, 60.0, 5.0], [0.0, 0.05, 0.5], [0.0, 0.05, 0.3])
    assert ob.groom_mmdt(*jet).tolist() == [0]
    values = ob.high_level_features(*jet)
    assert np.all(np.isfinite(values))
    f = hlf(values)
    for name in HLF_NAMES[1:14]:
        assert f[name] == 0.0, name
    assert f["j_mass_mmdt"] == pytest.approx(0.0, abs=1e-3)  # one massless particle
    assert ob.d2(*(a[:1] for a in jet)) == 0.0
    assert ob.high_level_features(*(a[:1] for a in jet))[-1] == 1.0


def test_soft_drop_beta_and_argument_checks():
    jet = massless([400.0, 40.0, 400.0], [0.0, 0.5, 0.1], [0.0, -0.5, 0.17])
    # z = 40/840 = 0.048: kept when the cut shrinks with angle (beta = 2, R0 large)
    assert ob.groom_soft_drop(*jet, z_cut=0.1, beta=0.0).tolist() == [0, 2]
    assert ob.groom_soft_drop(*jet, z_cut=0.1, beta=2.0, r0=4.0).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="z_cut"):
        ob.groom_mmdt(*jet, z_cut=0.7)
    with pytest.raises(ValueError, match="ecfg"):
        ob.ecfg(*jet, 4, 3, 1.0)


# ---------------------------------------------------------------- identities
def test_invariant_under_reordering_and_d2_identity():
    rng = np.random.default_rng(11)
    jet = random_jet(rng, 40)
    order = rng.permutation(40)
    shuffled = tuple(a[order] for a in jet)
    a, b = ob.high_level_features(*jet), ob.high_level_features(*shuffled)
    np.testing.assert_allclose(a, b, rtol=1e-10)
    assert sorted(order[ob.groom_mmdt(*shuffled)]) == ob.groom_mmdt(*jet).tolist()
    f = hlf(a)
    assert f["j_d2_a1_b1_mmdt"] == f["j_d2_b1_mmdt"]
    assert a.shape == (16,) and a.dtype == np.float64 and np.all(np.isfinite(a))


def test_vectorized_correlators_match_brute_force(monkeypatch):
    # tiny cache and chunks so that every code path (cached triplets, chunk boundaries,
    # per-particle blocks beyond the cache) runs on these small jets
    monkeypatch.setattr(ob, "_TRIPLET_CACHE_MAX_N", 6)
    monkeypatch.setattr(ob, "_TRIPLET_CHUNK", 7)
    rng = np.random.default_rng(5)
    for m in (3, 4, 7, 13):
        jet = random_jet(rng, m, phi0=3.1)
        for beta in (0.5, 1.0, 2.0):
            e2, e3 = brute_force(*jet, beta)
            got = [ob.ecfg(*jet, v, 3, beta) for v in (1, 2, 3)]
            assert ob.ecfg(*jet, 1, 2, beta) == pytest.approx(e2, rel=1e-12)
            np.testing.assert_allclose(got, e3, rtol=1e-12)
        e2s, e3s = {}, {}
        for beta in (1.0, 2.0):
            e2s[beta], e3s[beta] = brute_force(*jet, beta)
        assert ob.m2(*jet, beta=2.0) == pytest.approx(e3s[2.0][0] / e2s[2.0], rel=1e-12)
        assert ob.n2(*jet, beta=1.0) == pytest.approx(e3s[1.0][1] / e2s[1.0] ** 2, rel=1e-12)
        assert ob.d2(*jet, beta=2.0, alpha=1.0) == pytest.approx(
            e3s[1.0][2] / e2s[2.0] ** 1.5, rel=1e-12)


def test_agrees_with_fastjet_contrib():
    """SoftDrop and EnergyCorrelator of fastjet-contrib (via fastjet's awkward interface)."""
    ak = pytest.importorskip("awkward")
    fastjet = pytest.importorskip("fastjet")
    rng = np.random.default_rng(7)
    pt, eta, phi, e = random_jet(rng, 30, phi0=1.0)
    jet_def = fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0)

    def sequence(idx):
        return fastjet.ClusterSequence(ak.zip({
            "px": pt[idx] * np.cos(phi[idx]), "py": pt[idx] * np.sin(phi[idx]),
            "pz": pt[idx] * np.sinh(eta[idx]), "E": e[idx]}), jet_def)

    everything = np.arange(len(pt))
    groomed = sequence(everything).exclusive_jets_softdrop_grooming(
        njets=1, beta=0.0, symmetry_cut=0.1, R0=0.8)
    kept = ob.groom_mmdt(pt, eta, phi, e)
    assert len(kept) == len(groomed.constituents)
    f = hlf(ob.high_level_features(pt, eta, phi, e))
    assert f["j_mass_mmdt"] == pytest.approx(float(groomed.msoftdrop), rel=1e-9)
    cs = sequence(kept)
    for func in ("c1", "c2", "d2", "m2", "n2"):
        for beta, tag in ((1.0, "b1"), (2.0, "b2")):
            ref = float(cs.exclusive_jets_energy_correlator(njets=1, func=func, beta=beta))
            assert f[f"j_{func}_{tag}_mmdt"] == pytest.approx(ref, rel=1e-9), (func, beta)


# ---------------------------------------------------------------- input checks
@pytest.mark.parametrize("bad, arg", [
    ({"eta": np.zeros((3, 1))}, "eta"),
    ({"phi": np.zeros(2)}, "phi"),
    ({"e": np.array([1.0, np.nan, 1.0])}, "e"),
    ({"pt": np.array([1.0, 0.0, 1.0])}, "pt"),
])
def test_bad_input_names_the_argument(bad, arg):
    jet = dict(zip(("pt", "eta", "phi", "e"), massless([1.0, 2.0, 3.0], [0, 0.1, 0.2],
                                                         [0, 0.1, 0.2])))
    jet.update(bad)
    for func in (ob.high_level_features, ob.groom_mmdt, ob.d2):
        with pytest.raises(DataError, match=f"'{arg}'"):
            func(**jet)


def test_empty_jet_is_rejected():
    empty = np.zeros(0)
    with pytest.raises(DataError, match="no constituents"):
        ob.high_level_features(empty, empty, empty, empty)
