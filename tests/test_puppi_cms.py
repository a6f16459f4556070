"""CMS's PUPPI on a hand-built event: every expected weight derived here from the published
formulas (CMSSW PuppiContainer / PuppiAlgo), then the forward region and the bad inputs."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.special import erf
from scipy.stats import chi2

from fpgakd.config import config_from_dict
from fpgakd.errors import ConfigError
from fpgakd.jets.events.puppi import PuppiConfig, load_puppi_config, puppi_shapes, puppi_weights
from helpers.benchmarks import load_benchmark
from helpers.events import PILEUP_DZ, hand_built_events

CMS = load_puppi_config("cms_phase2")
N_PILEUP = 10
#: charged pileup (1 GeV), each with one charged primary-vertex partner (2 GeV) at dR 0.1,
#: 0.2, 0.25 in phi, the groups 1 apart in eta: alpha = log((2 / dR)^2) = log 400, 100, 64
PARTNER_DR = (0.1, 0.2, 0.25)
BACKGROUND = [row for eta, dr in zip((-1.5, -0.5, 0.5), PARTNER_DR)
              for row in ((1.0, eta, -2.5, 1, PILEUP_DZ, True), (2.0, eta, -2.5 + dr, 1, 0.0, False))]
HARD = [(60.0, 1.5, 1.0, 1, 0.01, False), (40.0, 1.55, 1.05, -1, -0.02, False)]
HARD_NEUTRAL = (10.0, 1.52, 1.1, 0, 0.0, False)
#: a soft neutral with one soft primary-vertex track 0.2 away; at |eta| 2.2 the track is
#: outside the reference sample (|eta| < 2)
SOFT_NEUTRAL, SOFT_TRACK = (3.0, 2.2, 0.5, 0, 0.0, True), (1.7, 2.2, 0.7, 1, 0.0, False)


def _event() -> list[tuple]:
    return BACKGROUND + HARD + [HARD_NEUTRAL, SOFT_NEUTRAL, SOFT_TRACK]


def _reference_by_hand() -> tuple[float, float]:
    """Median and RMS of the pileup alphas, after the low-pileup correction."""
    alphas = sorted(math.log((2.0 / dr) ** 2) for dr in PARTNER_DR)
    median = alphas[1]
    rms = math.sqrt(sum((a - median) ** 2 for a in alphas if a <= median) / 2)
    # the 3 partners have no charged primary-vertex neighbour (alpha below the median), the
    # hard pair is far above it: 3 of 3 + 3 / 2
    shift = math.sqrt(chi2.ppf(3 / (3 + 0.5 * 3), 1) * rms)
    return median - shift, abs(rms - shift)


def _weight_by_hand(alpha: float, median: float, rms: float) -> float:
    return float(erf(math.sqrt(((alpha - median) / rms) ** 2 / 2))) if alpha > median else 0.0


def test_a_hand_built_event_gets_the_weights_of_the_formula():
    event = _event()
    w = puppi_weights(hand_built_events([event], n_pileup=N_PILEUP), CMS)
    median, rms = _reference_by_hand()
    soft_alpha = math.log((1.7 / 0.2) ** 2)
    soft = _weight_by_hand(soft_alpha, median, rms)
    assert 0.3 < soft < 0.9, "the soft neutral sits just above the pileup median"
    # it passes the neutral cut: w pT = 2 GeV > 0.2 + 0.015 (10 + 1) GeV
    assert soft * 3.0 > 0.2 + 0.015 * (N_PILEUP + 1)
    hard_alpha = math.log((60 / math.hypot(0.02, 0.1)) ** 2 + (40 / math.hypot(0.03, 0.05)) ** 2)
    assert w[event.index(SOFT_NEUTRAL)] == pytest.approx(soft, abs=1e-6)
    assert w[event.index(HARD_NEUTRAL)] == pytest.approx(_weight_by_hand(hard_alpha, median, rms), abs=1e-6)
    charged = np.array([p[3] != 0 for p in event])
    from_pv = np.array([abs(p[4]) < CMS.dz_cut for p in event])
    np.testing.assert_array_equal(w[charged & from_pv], 1.0)
    np.testing.assert_array_equal(w[charged & ~from_pv], 0.0)


def test_the_neutral_cut_grows_with_the_vertices_and_hard_neutrals_keep_a_floor():
    event = _event()
    median, rms = _reference_by_hand()
    soft = _weight_by_hand(math.log((1.7 / 0.2) ** 2), median, rms)
    crowded = 140
    # 0.2 + 0.015 * 141 = 2.3 GeV > w pT = 2 GeV: cut, then CMS's floor pT / 200 GeV
    assert soft * 3.0 < 0.2 + 0.015 * (crowded + 1)
    w = puppi_weights(hand_built_events([event], n_pileup=crowded), CMS)
    assert w[event.index(SOFT_NEUTRAL)] == pytest.approx(3.0 / 200.0)


def test_forward_neutrals_see_every_neighbour_and_an_extrapolated_pileup_reference():
    # two forward neutrals 0.3 apart: alpha^F = log((1.5 / 0.3)^2) counts the other neutral
    forward = [(1.5, 3.8, 2.0, 0, 0.0, True), (1.5, 3.8, 2.3, 0, 0.0, True)]
    central_twins = [(1.5, 1.0, 2.0, 0, 0.0, True), (1.5, 1.0, 2.3, 0, 0.0, True)]
    event = _event() + forward + central_twins
    events = hand_built_events([event], n_pileup=N_PILEUP)
    raw = puppi_shapes(events, CMS).raw
    # the all-particle alpha of the pileup sample is again log 400, 100, 64 (their only
    # neighbour is the partner); the partners' (log((1 / dR)^2)) are all at or below the
    # median: the same reference, then MedEtaSF 0.75 and RMSEtaSF 1.0 for |eta| > 3.5
    median, rms = _reference_by_hand()
    alpha = math.log((1.5 / 0.3) ** 2)
    assert alpha < median, "without the extrapolation the forward neutrals would weigh 0"
    want = _weight_by_hand(alpha, 0.75 * median, 1.0 * rms)
    assert raw[len(event) - 4] == pytest.approx(want, abs=1e-6)
    assert raw[len(event) - 3] == pytest.approx(want, abs=1e-6)
    # the same pair in the centre has no charged primary-vertex neighbour: alpha^C = -inf
    np.testing.assert_array_equal(raw[len(event) - 2:], 0.0)
    # the forward cut, 2.0 + 0.08 * 11 GeV, is above w pT; 1.5 / 200 is below MinPuppiWeight
    assert want * 1.5 < 2.0 + 0.08 * (N_PILEUP + 1) and 1.5 / 200 < CMS.weight_cut
    np.testing.assert_array_equal(puppi_weights(events, CMS)[len(event) - 4:], 0.0)


def test_the_default_is_cms_phase2_but_for_the_tuned_values():
    default = PuppiConfig()
    for name in ("min_r", "tracker_eta", "extrap_eta", "weight_cut", "low_pu_correction",
                 "pt_max_neutrals", "pt_max_neutrals_start"):
        assert getattr(default, name) == getattr(CMS, name), name
    # tuned: the cone, the dz cut and the charged regions' slopes
    assert (default.cone_r, default.dz_cut) == (0.2, 0.05) and (CMS.cone_r, CMS.dz_cut) == (0.4, 0.1)
    tuned = [dataclasses.replace(r, min_neutral_pt_slope=0.0) for r in default.regions]
    assert tuned == [dataclasses.replace(r, min_neutral_pt_slope=0.0) for r in CMS.regions]
    assert [r.min_neutral_pt_slope for r in default.regions] == [0.02, 0.01, 0.08]


def test_the_old_puppi_stays_as_a_preset():
    old = load_puppi_config("bertolini2014")
    assert (old.cone_r, old.min_r, old.weight_cut) == (0.3, 0.02, 0.1)
    event = _event()
    w = puppi_weights(hand_built_events([event], n_pileup=N_PILEUP), old)
    assert w[event.index(HARD_NEUTRAL)] == pytest.approx(1.0)


_REGION = {"eta_min": 0.0, "eta_max": 2.5, "charged_neighbours": True, "min_neutral_pt": 0.2,
           "min_neutral_pt_slope": 0.015}


@pytest.mark.parametrize("data, key", [
    ({"cone_r": 1.5}, "cone_r"),
    ({"min_r": 0.5}, "min_r"),
    ({"dz_cut": 0.0}, "dz_cut"),
    ({"weight_cut": 1.0}, "weight_cut"),
    ({"pt_max_neutrals": 10.0, "pt_max_neutrals_start": 20.0}, "pt_max_neutrals"),
    ({"regions": []}, "regions"),
    ({"regions": [{**_REGION, "min_neutral_pt_slope": -0.01}]}, "regions[0].min_neutral_pt_slope"),
    ({"regions": [_REGION, {**_REGION, "eta_max": 0.0}]}, "regions[1].eta_max"),
    ({"regions": [_REGION, {**_REGION, "eta_min": 2.0, "eta_max": 3.0}]}, "regions"),
    ({"regions": [{**_REGION, "med_eta_sf": 0.0}]}, "regions[0].med_eta_sf"),
])
def test_a_bad_puppi_parameter_is_one_line_naming_file_and_key(data, key):
    with pytest.raises(ConfigError) as err:
        config_from_dict(PuppiConfig, data, "puppi.yaml")
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"puppi.yaml: key '{key}'")


def test_a_bad_preset_file_names_its_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("cone_r: 0.4\nregions:\n  - {eta_min: 0, eta_max: 4, charged_neighbours: yes,\n"
                    "     min_neutral_pt: -1, min_neutral_pt_slope: 0.01}\n")
    with pytest.raises(ConfigError, match=r"mine\.yaml: key 'regions\[0\]\.min_neutral_pt'"):
        load_puppi_config(path)


def _tuning_script():
    return load_benchmark("bench_puppi_tune")


def test_the_tuning_script_refuses_a_bad_mu_in_one_line(tmp_path, capsys):
    assert _tuning_script().main(["--mu", "-5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'mu'" in err and "-5" in err
    assert not list(tmp_path.glob("*.h5")), "nothing generated"


@pytest.mark.slow
def test_on_generated_pileup_cms_puppi_keeps_hard_neutral_pt_over_pileup_and_cuts_pt_miss(tmp_path, monkeypatch):
    from fpgakd.jets.events.eventfile import load_events
    from fpgakd.jets.events.generate import generate_events
    from fpgakd.jets.events.options import PileupOptions
    from fpgakd.learn.pileup.verdict import pileup_verdict

    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    options = PileupOptions(mu=60.0, n_events=20, seed=4, library_size=200, workers=1)
    generate_events(tmp_path / "events.h5", options, progress=False)
    events = load_events(tmp_path / "events.h5")
    p = events.particles
    neutral = np.asarray(p["charge"]) == 0
    is_hard = ~np.asarray(p["is_pileup"], dtype=bool)
    pt = np.asarray(p["pt"], np.float64)
    w = puppi_weights(events)
    # the hard scatter's neutrals include its soft underlying event: PUPPI keeps a part of
    # their pT, but a far smaller part of the pileup neutrals' pT
    kept = {name: (w * pt)[neutral & m].sum() / pt[neutral & m].sum() for name, m in
            (("hard", is_hard), ("pileup", ~is_hard))}
    assert kept["hard"] > 3 * kept["pileup"], kept
    verdict = pileup_verdict(events, {"puppi": w})
    assert abs(verdict["puppi"]["met_median_response"]) < abs(verdict["none"]["met_median_response"])
    assert abs(verdict["puppi"]["jet_median_response"]) < abs(verdict["none"]["jet_median_response"])


def test_a_tuning_candidate_sets_the_weight_cut_and_the_hard_neutral_pt_only_where_given():
    script = _tuning_script()
    base = load_puppi_config("cms_phase2")
    same = script.candidate(base, 0.2, 0.05, 0.02, 0.01)
    assert (same.weight_cut, same.pt_max_neutrals) == (base.weight_cut, base.pt_max_neutrals)
    tuned = script.candidate(base, 0.2, 0.05, 0.02, 0.01, weight_cut=0.3, pt_max_neutrals=50.0)
    assert (tuned.cone_r, tuned.dz_cut, tuned.weight_cut, tuned.pt_max_neutrals) == (0.2, 0.05, 0.3, 50.0)
    assert [r.min_neutral_pt_slope for r in tuned.regions if r.charged_neighbours] == [0.02, 0.01]


def test_candidates_cached_before_the_cuts_were_tuned_carry_the_base_values(tmp_path):
    script = _tuning_script()
    base = load_puppi_config("cms_phase2")
    cache = tmp_path / "candidates.json"
    cache.write_text('[{"cone": 0.2, "dz_cut": 0.05, "slope": 0.02, "next_slope": 0.01}]')
    (old,) = script.cached_candidates(cache, base)
    assert (old["weight_cut"], old["pt_max_neutrals"]) == (base.weight_cut, base.pt_max_neutrals)


def test_the_perfect_weights_keep_the_hard_scatter_only():
    from types import SimpleNamespace

    events = SimpleNamespace(particles={"is_pileup": np.array([True, False, True])})
    assert _tuning_script().truth_weights(events).tolist() == [0.0, 1.0, 0.0]
