"""Jet response calibration of pileup weights: a calibrated input stays as it is, a known
under-measurement is undone in jets, in the jet threshold and in pT-miss (type 1)."""

from __future__ import annotations

import numpy as np
import pytest

from fpgakd.errors import DataError
from fpgakd.learn.pileup.calibration import JetCalibration, fit_factors
from fpgakd.learn.pileup.verdict import fit_verdict_calibrations, pileup_verdict
from helpers.events import HARD, hand_built_events

#: a hard jet of its own that, measured at 80%, falls under the 15 GeV jet threshold
SOFT_JET = (17.0, -2.0, 2.8, 0, 0.0, False)
N_EVENTS = 30
SCALE = 0.8


def _hard_events(n_events: int = N_EVENTS):
    """Events without pileup whose generator particles are exactly their particles."""
    particles = HARD + [SOFT_JET]
    return hand_built_events([particles] * n_events, gen=[[p[:3] for p in particles]] * n_events)


def _without_arrays(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if not isinstance(v, np.ndarray) and k != "calibrated"}


def test_a_calibrated_input_gets_factors_of_one_and_an_unchanged_verdict():
    events = _hard_events()
    weights = {"truth": np.ones(events.n_particles)}
    calibrations = fit_verdict_calibrations(events, weights)
    assert set(calibrations) == {"none", "truth"}
    assert all(f == 1.0 for c in calibrations.values() for f in c.factors)

    plain = pileup_verdict(events, weights)
    calibrated = pileup_verdict(events, weights, calibrations=calibrations)
    for name in plain:
        assert calibrated[name]["calibrated"] and not plain[name]["calibrated"]
        assert _without_arrays(calibrated[name]) == _without_arrays(plain[name])
        np.testing.assert_array_equal(calibrated[name]["jet_response"], plain[name]["jet_response"])
        np.testing.assert_array_equal(calibrated[name]["met_response"], plain[name]["met_response"])


def test_an_under_measurement_is_undone_in_jets_threshold_and_pt_miss():
    events = _hard_events()
    low = {"low": np.full(events.n_particles, SCALE)}
    calibrations = fit_verdict_calibrations(events, low)
    assert calibrations["low"].factors == pytest.approx((1 / SCALE,) * len(calibrations["low"].factors))

    plain = pileup_verdict(events, low)["low"]
    calibrated = pileup_verdict(events, low, calibrations=calibrations)["low"]
    assert plain["jet_median_response"] == pytest.approx(SCALE - 1)
    assert plain["jet_efficiency"] == pytest.approx(3 / 4), "the 17 GeV jet at 80% is under 15 GeV"
    assert calibrated["jet_efficiency"] == 1.0
    np.testing.assert_allclose(calibrated["jet_response"], 0.0, atol=1e-12)
    assert plain["met_median_response"] == pytest.approx(SCALE - 1)
    np.testing.assert_allclose(calibrated["met_response"], 0.0, atol=1e-12)


def test_factors_apply_per_bin_and_leave_jets_below_the_first_edge():
    c = JetCalibration((10.0, 30.0), (2.0, 0.5))
    assert c.factors_of(np.array([5.0, 10.0, 29.0, 30.0, 100.0])).tolist() == [1.0, 2.0, 2.0, 0.5, 0.5]
    # an empty bin takes the nearest filled one's factor
    gen = np.full(40, 50.0)
    assert fit_factors(0.5 * gen, gen, edges=(5.0, 10.0, 20.0)).factors == (2.0, 2.0, 2.0)
    with pytest.raises(DataError, match="no pT bin"):
        fit_factors(np.ones(3), np.ones(3))


def test_calibrating_some_algorithms_but_not_all_is_refused():
    events = _hard_events()
    weights = {"puppi": np.ones(events.n_particles), "teacher": np.ones(events.n_particles)}
    calibrations = fit_verdict_calibrations(events, {"puppi": weights["puppi"]})
    with pytest.raises(DataError, match=r"calibrations: none for 'teacher'"):
        pileup_verdict(events, weights, calibrations=calibrations)
