"""PUPPI on hand-built events: charged by vertex, neutrals by their neighbourhood, order-blind."""

from __future__ import annotations

import numpy as np
import pytest

from fpgakd.config import config_from_dict
from fpgakd.errors import ConfigError
from fpgakd.jets.events.puppi import PuppiConfig, local_shape, puppi_weights
from helpers.events import PILEUP_DZ, hand_built_events


def _pileup_background(rng: np.random.Generator, n: int = 40) -> list[tuple]:
    """Soft charged pileup spread over the tracker, each beside a soft charged primary-vertex
    particle at a random distance, so the pileup reference (median, RMS of alpha) is finite."""
    out = []
    for _ in range(n):
        eta, phi = rng.uniform(-2.0, 1.8), rng.uniform(-3.0, 3.0)
        dr = rng.uniform(0.05, 0.25)
        out.append((rng.uniform(0.5, 1.5), eta, phi, 1, PILEUP_DZ, True))
        out.append((rng.uniform(0.5, 1.5), eta + dr, phi, 1, 0.0, False))
    return out


def _probe_event() -> list[tuple]:
    """A hard charged primary-vertex pair, a neutral beside it, one far from everything."""
    rng = np.random.default_rng(3)
    hard = [(60.0, 0.5, 1.0, 1, 0.01, False), (40.0, 0.55, 1.05, -1, -0.02, False)]
    neutrals = [(10.0, 0.52, 1.1, 0, 0.0, False),   # inside the hard pair's cone
                (10.0, 2.4, -2.0, 0, 0.0, True)]  # the background ends below eta 2.05
    return hard + neutrals + _pileup_background(rng)


def _isolated_is_isolated(event: list[tuple], i: int) -> bool:
    p = np.array(event)
    dphi = (p[:, 2] - p[i, 2] + np.pi) % (2 * np.pi) - np.pi
    dr = np.hypot(p[:, 1] - p[i, 1], dphi)
    return bool(np.sort(dr)[1] > 0.3)


def test_neutral_next_to_the_hard_scatter_weighs_one_and_an_isolated_one_zero():
    event = _probe_event()
    assert _isolated_is_isolated(event, 3)
    w = puppi_weights(hand_built_events([event]))
    assert w.dtype == np.float32 and w.shape == (len(event),)
    assert w[2] > 0.99, "a neutral beside hard primary-vertex tracks looks like the hard scatter"
    # an isolated neutral has no hard-scatter neighbourhood: only CMS's floor for hard
    # neutrals, pT / 200 GeV, is left
    assert w[3] == pytest.approx(10.0 / 200.0), "an isolated neutral has no hard-scatter neighbourhood"
    assert 0.0 <= w.min() and w.max() <= 1.0


def test_charged_particles_weigh_one_from_the_primary_vertex_and_zero_from_pileup():
    event = _probe_event()
    w = puppi_weights(hand_built_events([event]))
    charged = np.array([p[3] != 0 for p in event])
    from_pv = np.array([abs(p[4]) < PuppiConfig().dz_cut for p in event])
    np.testing.assert_array_equal(w[charged & from_pv], 1.0)
    np.testing.assert_array_equal(w[charged & ~from_pv], 0.0)


def test_weights_follow_the_particles_whatever_their_order():
    events = [_probe_event(), _pileup_background(np.random.default_rng(9), 25)]
    w = puppi_weights(hand_built_events(events))
    order = [np.random.default_rng(1).permutation(len(ev)) for ev in events]
    shuffled = puppi_weights(hand_built_events([[ev[i] for i in o] for ev, o in zip(events, order)]))
    want = np.concatenate([w[:len(events[0])][order[0]], w[len(events[0]):][order[1]]])
    np.testing.assert_allclose(shuffled, want, atol=1e-6)


def test_local_shape_wraps_phi_and_skips_collinear_neighbours():
    nb_eta, nb_phi, nb_pt = np.array([0.0, 0.0, 0.0]), np.array([-3.1, 0.005, 0.2]), np.array([2.0, 50.0, 1.0])
    alpha = local_shape(np.array([0.0, 0.0]), np.array([3.1, 0.0]), nb_eta, nb_phi, nb_pt, cone_r=0.3, min_r=0.02)
    seam = 2 * np.pi - 6.2
    assert alpha[0] == pytest.approx(np.log((2.0 / seam) ** 2))
    # the neighbour at dR 0.005 < R_min is left out; the one at 0.2 counts
    assert alpha[1] == pytest.approx(np.log((1.0 / 0.2) ** 2))


def test_a_bad_puppi_parameter_is_named():
    with pytest.raises(ConfigError, match="min_r"):
        config_from_dict(PuppiConfig, {"min_r": 0.5}, "puppi.yaml")
