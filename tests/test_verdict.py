"""The pileup verdict: resolution definition, pT-miss and jets against hand-built truth."""

from __future__ import annotations

import numpy as np
import pytest

from fpgakd.errors import DataError
from fpgakd.jets.events.reconstruction import cluster_jets, generator_jets, weighted_jets, weighted_met
from fpgakd.config import config_from_dict
from fpgakd.errors import ConfigError
from fpgakd.learn.pileup.verdict import (VerdictConfig, distribution_agreement, format_verdict_table,
                                        pileup_verdict, resolution, verdict_summary)
from fpgakd.learn.pileup.verdict_plots import plot_responses, plot_weight_distributions
from helpers.events import HARD, PILEUP, hand_built_events

#: the interquartile half-width of a unit Gaussian: the 75% quantile, 0.6745
GAUSS_IQR_HALF = 0.6744897501960817


def _truth_event(with_pileup: bool):
    particles = HARD + (PILEUP if with_pileup else [])
    return hand_built_events([particles], gen=[[p[:3] for p in HARD]])


def test_resolution_of_a_gaussian_is_its_interquartile_half_width():
    s = 0.08
    values = np.random.default_rng(0).normal(0.3, s, 400_000)
    assert resolution(values) == pytest.approx(GAUSS_IQR_HALF * s, rel=0.01)
    assert resolution(values + 5.0) == pytest.approx(resolution(values))
    assert np.isnan(resolution(np.array([])))


def test_a_zero_pileup_event_with_all_weights_one_reproduces_the_truth():
    events = _truth_event(with_pileup=False)
    entry = pileup_verdict(events, {})["none"]
    assert entry["n_met_events"] == 1 and entry["met_response"][0] == pytest.approx(0.0, abs=1e-12)
    assert entry["n_gen_jets"] == 3 and entry["jet_efficiency"] == 1.0
    np.testing.assert_allclose(entry["jet_response"], 0.0, atol=1e-12)
    assert entry["fake_jets_per_event"] == 0.0


def test_truth_weights_undo_the_pileup_and_score_full_accuracy():
    events = _truth_event(with_pileup=True)
    truth = (~events.particles["is_pileup"]).astype(np.float64)
    verdict = pileup_verdict(events, {"truth": truth})
    assert verdict["truth"]["met_response"][0] == pytest.approx(0.0, abs=1e-12)
    assert verdict["truth"]["accuracy"] == 1.0 and verdict["truth"]["accuracy_pt_weighted"] == 1.0
    assert abs(verdict["none"]["met_response"][0]) > 0.01, "pileup must move the unweighted pT-miss"
    assert verdict["none"]["accuracy"] == pytest.approx(len(HARD) / (len(HARD) + len(PILEUP)))
    # pileup lands in both hadronic jets, not in the lepton's
    assert (verdict["none"]["jet_response"] > 0.01).sum() == 2 and np.min(verdict["none"]["jet_response"]) == 0.0


def test_two_particles_make_one_jet_within_the_radius_and_two_beyond():
    close = np.array([[20.0, 0.0, 0.0, 20.0], [10.0 * np.cos(0.3), 10.0 * np.sin(0.3), 0.0, 10.0]])
    far = np.array([[20.0, 0.0, 0.0, 20.0], [-20.0, 0.0, 0.0, 20.0]])
    jets = cluster_jets(np.concatenate([close, far]), np.array([0, 2, 4]), r=0.4, pt_min=15.0)
    np.testing.assert_array_equal(jets.offsets, [0, 1, 3])
    assert jets.pt[0] == pytest.approx(np.hypot(20 + 10 * np.cos(0.3), 10 * np.sin(0.3)))
    np.testing.assert_allclose(sorted(jets.pt[1:]), [20.0, 20.0])
    # 12 + 6 GeV: neither particle passes 15 GeV alone, their jet does
    assert cluster_jets(close * 0.6, np.array([0, 2]), r=0.4, pt_min=15.0).n_jets == 1
    assert cluster_jets(close * 0.4, np.array([0, 2]), r=0.4, pt_min=15.0).n_jets == 0


def test_weights_scale_the_four_vectors_and_zero_removes_a_particle():
    events = _truth_event(with_pileup=True)
    w = np.where(events.particles["is_pileup"], 0.0, 0.5)
    np.testing.assert_allclose(weighted_met(events, w), 0.5 * weighted_met(events, w * 2))
    reco = weighted_jets(events, 2 * w, r=0.4, pt_min=15.0)
    gen = generator_jets(events, r=0.4, pt_min=15.0)
    np.testing.assert_allclose(np.sort(reco.pt), np.sort(gen.pt))


def test_table_and_plots_show_every_algorithm(tmp_path):
    events = hand_built_events([HARD + PILEUP] * 3, gen=[[p[:3] for p in HARD]] * 3)
    truth = (~events.particles["is_pileup"]).astype(np.float64)
    verdict = pileup_verdict(events, {"puppi": np.full(events.n_particles, 0.7), "truth": truth},
                             VerdictConfig(jet_pt_min=10.0))
    table = format_verdict_table(verdict)
    assert [line.split()[0] for line in table.splitlines()[2:5]] == ["none", "puppi", "truth"]
    assert "+100.0" in table.splitlines()[4], "truth weights resolve pT-miss perfectly: 100% better than PUPPI"
    assert "met_response" not in verdict_summary(verdict)["truth"]
    plot_responses(verdict, tmp_path / "responses.png")
    plot_weight_distributions({"truth": truth}, events.particles["is_pileup"], tmp_path / "weights.png")
    assert (tmp_path / "responses.png").stat().st_size > 0 and (tmp_path / "weights.png").stat().st_size > 0


def test_weights_of_the_wrong_length_or_no_truth_are_named():
    events = _truth_event(with_pileup=True)
    with pytest.raises(DataError, match=r"weights\['teacher'\]: expected 9 values"):
        pileup_verdict(events, {"teacher": np.ones(4)})
    del events.particles["is_pileup"]
    with pytest.raises(DataError, match="hand-built: particles/is_pileup"):
        pileup_verdict(events, {})


def test_distribution_agreement_compares_weight_histograms_with_the_teacher():
    rng = np.random.default_rng(0)
    teacher = rng.beta(0.3, 3.0, 50_000)
    assert distribution_agreement(rng.permutation(teacher), teacher) == 1.0   # same distribution
    close = distribution_agreement(np.clip(teacher + rng.normal(0, 0.01, teacher.size), 0, 1), teacher)
    far = distribution_agreement(rng.uniform(0, 1, teacher.size), teacher)
    assert 0.9 < close < 1.0 and far < close
    # one bin holds 1/2 against 1/4, the other 1/2 against 3/4
    assert distribution_agreement(np.array([0.1, 0.9]), np.array([0.1, 0.9, 0.9, 0.9]), bins=2) == \
        pytest.approx((0.5 + (0.5 / 0.75)) / 2)

    events = hand_built_events([HARD + PILEUP] * 2, gen=[[p[:3] for p in HARD]] * 2)
    truth = (~events.particles["is_pileup"]).astype(np.float64)
    verdict = pileup_verdict(events, {"puppi": np.full(events.n_particles, 0.7), "teacher": truth})
    assert verdict["teacher"]["distribution_agreement"] == 1.0
    assert verdict["puppi"]["distribution_agreement"] == 0.0     # all its weights sit in a bin the teacher leaves empty
    assert "dist. agr." in format_verdict_table(verdict)
    assert pileup_verdict(events, {"puppi": truth})["puppi"]["distribution_agreement"] is None
    with pytest.raises(ConfigError, match="study.yaml: key 'distribution_bins': got 1"):
        config_from_dict(VerdictConfig, {"distribution_bins": 1}, "study.yaml")
