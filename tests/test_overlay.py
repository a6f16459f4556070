"""The pileup overlay on hand-built interactions (no Pythia): counts follow seed and mu, the
no-pileup pT-miss, vertices and impact parameters."""

from __future__ import annotations

import numpy as np
import pytest

from fpgakd.jets.events.interactions import Interactions
from fpgakd.jets.events.options import PileupOptions
from fpgakd.jets.events.overlay import generator_truth, impact_parameters, overlay_event, pileup_counts


def _interactions(n_events: int, per_event: int, seed: int, charged_fraction: float = 0.5,
                  pt_range: tuple[float, float] = (1.0, 50.0)) -> Interactions:
    """Prompt massless pions and photons, uniform in eta (|eta| < 3), phi and pT."""
    rng = np.random.default_rng(seed)
    n = n_events * per_event
    pt, eta, phi = rng.uniform(*pt_range, n), rng.uniform(-3, 3, n), rng.uniform(-np.pi, np.pi, n)
    p4 = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)], axis=1)
    charged = rng.random(n) < charged_fraction
    charge = np.where(charged, rng.choice([-1, 1], n), 0)
    return Interactions(p4, np.zeros((n, 3)), np.where(charged, 211 * charge, 22).astype(np.int32),
                        charge.astype(np.int8), np.arange(0, n + 1, per_event, dtype=np.int64))


def _met(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    return -np.array([px.sum(), py.sum()])


def test_counts_follow_seed_and_mu_alone():
    counts = pileup_counts(50.0, 7, np.arange(200))
    np.testing.assert_array_equal(counts, pileup_counts(50.0, 7, np.arange(200)))
    assert not np.array_equal(counts, pileup_counts(50.0, 8, np.arange(200)))
    # an event's count does not depend on which other events are drawn with it
    np.testing.assert_array_equal(pileup_counts(50.0, 7, [123, 5]), counts[[123, 5]])
    assert not pileup_counts(0.0, 7, np.arange(50)).any()
    many = pileup_counts(140.0, 1, np.arange(4000))
    assert abs(many.mean() - 140.0) < 4 * np.sqrt(140.0 / 4000)
    assert abs(many.var() - 140.0) < 0.15 * 140.0  # Poisson: variance = mean


def test_overlay_draws_the_counted_interactions_and_flags_them():
    hard, library = _interactions(1, 30, seed=1), _interactions(40, 20, seed=2)
    options = PileupOptions(mu=6.0, seed=3, smearing=False, pt_min=0.0)
    for index in range(5):
        cols = overlay_event(hard, library, options, index)
        n_pileup = pileup_counts(6.0, 3, [index])[0]
        assert cols["n_pileup"] == n_pileup
        assert (~cols["is_pileup"]).sum() == 30 and cols["is_pileup"].sum() == 20 * n_pileup
    again = overlay_event(hard, library, options, 4)
    np.testing.assert_array_equal(again["dz"], cols["dz"])


def test_zero_pileup_pt_miss_equals_the_generator_exactly_without_smearing():
    hard = _interactions(1, 60, seed=4, pt_range=(0.1, 5.0))
    options = PileupOptions(mu=0.0, smearing=False)
    cols = overlay_event(hard, _interactions(5, 10, seed=5), options, 0)
    gen = generator_truth(hard, options)
    assert cols["n_pileup"] == 0 and not cols["is_pileup"].any()
    assert len(cols["px"]) == len(gen) < 60  # the pT threshold removed some particles from both
    np.testing.assert_allclose(_met(cols["px"], cols["py"]), _met(gen[:, 0], gen[:, 1]), rtol=1e-12)


def test_zero_pileup_pt_miss_follows_the_generator_within_the_smearing():
    # well above the pT threshold, so that smearing changes momenta but loses no particle
    hard = _interactions(1, 60, seed=6, charged_fraction=0.7, pt_range=(5.0, 40.0))
    options = PileupOptions(mu=0.0)
    gen = generator_truth(hard, options)
    scalar_sum = np.hypot(gen[:, 0], gen[:, 1]).sum()
    shifts = []
    for index in range(20):
        cols = overlay_event(hard, hard, options, index)
        shifts.append(_met(cols["px"], cols["py"]) - _met(gen[:, 0], gen[:, 1]))
    shifts = np.array(shifts)
    # photons' and pions' responses are a few per cent: the pT-miss moves, by a few GeV at most
    assert 0 < np.abs(shifts).max() < 0.05 * scalar_sum
    assert np.abs(shifts.mean(axis=0)).max() < 0.02 * scalar_sum


def test_dz_small_for_the_hard_scatter_and_spread_by_the_vertices_for_pileup():
    hard, library = _interactions(1, 40, seed=7, charged_fraction=1.0), _interactions(50, 20, seed=8)
    options = PileupOptions(mu=10.0, sigma_z=4.0, seed=9)
    hs, pu, neutral = [], [], []
    for index in range(60):
        cols = overlay_event(hard, library, options, index)
        charged = cols["charge"] != 0
        hs.append(cols["dz"][charged & ~cols["is_pileup"]])
        pu.append(cols["dz"][charged & cols["is_pileup"]])
        neutral.append(np.abs(np.concatenate([cols["dz"][~charged], cols["d0"][~charged]])))
    hs, pu = np.concatenate(hs), np.concatenate(pu)
    # resolution at pT >= 1 GeV: below 160 um
    assert np.abs(hs).max() < 5 * 0.016 and 0 < np.std(hs) < 0.016
    # pileup vertex minus primary vertex, both N(0, 4 cm): spread sqrt(2) * 4 cm
    assert 0.8 * np.sqrt(2) * 4.0 < np.std(pu) < 1.2 * np.sqrt(2) * 4.0
    assert not np.concatenate(neutral).any()


def test_a_displaced_track_gets_its_impact_parameters_from_the_straight_line():
    exact = PileupOptions(d0_resolution=(0.0, 0.0), dz_resolution=(0.0, 0.0))
    vertex = np.array([[1.0, 0.0, 2.0], [1.0, 0.0, 2.0]])   # cm, primary vertex at z = 0.5
    p4 = np.array([[0.0, 10.0, 10.0, 15.0],                 # along y: passes 1 cm from the beam
                   [10.0, 0.0, 10.0, 15.0]])                # along x: crosses the beam at z = 1
    d0, dz = impact_parameters(vertex, p4, np.array([1, -1]), 0.5, exact, np.random.default_rng(0))
    np.testing.assert_allclose(d0, [1.0, 0.0])
    np.testing.assert_allclose(dz, [1.5, 0.5])


@pytest.mark.parametrize("field, value, flag", [("mu", -1.0, "--mu"), ("mu", 1e6, "--mu"),
                                                ("mu", float("nan"), "--mu"), ("n_events", 0, "--events"),
                                                ("sigma_z", 0.0, "--sigma-z")])
def test_bad_options_are_named_with_their_flag(field, value, flag):
    from fpgakd.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"'{field}' \({flag}\)"):
        PileupOptions(**{field: value})


def test_an_unknown_process_lists_the_known_ones():
    from fpgakd.errors import ConfigError

    with pytest.raises(ConfigError, match=r"'process' \(--process\): got 'zjets', allowed: one of wjets, ttbar_dilep"):
        PileupOptions(process="zjets")
