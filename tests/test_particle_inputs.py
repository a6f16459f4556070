"""The 16 per-particle inputs of DistillNet: order, one-hot types, tracks, bad PUPPI weights."""

from __future__ import annotations

import numpy as np
import pytest

from fpgakd.config import InputConfig
from fpgakd.errors import DataError
from fpgakd.jets.events.eventfile import EVENT_FIELDS, GEN_FIELDS, EventSet
from fpgakd.jets.events.particle_inputs import PARTICLE_TYPES, particle_inputs
from fpgakd.jets.preprocessing import student_input_width

#: one particle of each type: (pdg id, charge, eta) -> expected type
_PARTICLES = [((11, -1, 0.5), "electron"), ((-13, 1, 3.5), "muon"), ((22, 0, -1.0), "photon"),
              ((211, 1, 2.0), "charged_had"), ((130, 0, 0.0), "neutral_had"),
              ((-211, -1, -4.0), "forward_had"), ((2112, 0, 3.2), "forward_had"),
              ((22, 0, 3.9), "forward_em"), ((0, 0, 0.1), "other")]


def hand_built_events() -> EventSet:
    """One event holding one particle of each type, pT 1..9 GeV, tracks with d0 0.01, dz 0.1 cm."""
    n = len(_PARTICLES)
    pdg, charge, eta = (np.array(col) for col in zip(*(p for p, _ in _PARTICLES)))
    pt = np.arange(1.0, n + 1.0)
    phi = np.linspace(-3.0, 3.0, n)
    particles = {"pt": pt, "eta": eta, "phi": phi, "px": pt * np.cos(phi), "py": pt * np.sin(phi),
                 "pz": pt * np.sinh(eta), "e": pt * np.cosh(eta), "charge": charge.astype(np.int8),
                 "pdg_id": pdg.astype(np.int32), "d0": np.full(n, 0.01), "dz": np.full(n, 0.1),
                 "is_pileup": np.zeros(n, bool)}
    particles = {k: v if v.dtype.kind in "ib" else v.astype(np.float32) for k, v in particles.items()}
    return EventSet(particles, np.array([0, n]), {k: np.zeros(1, v) for k, v in EVENT_FIELDS.items()},
                    {k: np.zeros(0, np.float32) for k in GEN_FIELDS}, np.array([0, 0]), source="hand.h5")


def test_sixteen_inputs_in_table_order_with_a_one_hot_type():
    events = hand_built_events()
    puppi = np.linspace(0, 1, events.n_particles).astype(np.float32)
    x, names = particle_inputs(events, puppi)
    assert x.shape == (events.n_particles, 16) and x.dtype == np.float32
    assert names[:6] == ["eta", "phi", "log_pt", "log_e", "charge", "puppi_weight"]
    assert names[-2:] == ["d0", "dz"] and len(PARTICLE_TYPES) == 8
    onehot = x[:, 6:14]
    assert np.all(onehot.sum(axis=1) == 1)
    assert [PARTICLE_TYPES[i] for i in onehot.argmax(axis=1)] == [t for _, t in _PARTICLES]
    np.testing.assert_allclose(x[:, 2], np.log(events.particles["pt"]), rtol=1e-6)
    np.testing.assert_array_equal(x[:, 5], puppi)
    charged = events.particles["charge"] != 0
    # neutral particles have no track: no impact parameters, whatever the file says
    assert np.all(x[~charged, 14:] == 0) and np.allclose(x[charged, 14:], [0.01, 0.1])
    assert student_input_width(InputConfig(type="particles")) == 16


@pytest.mark.parametrize("puppi, fragment", [(np.ones(3), r"hand\.h5: PUPPI weights of shape \(3,\)"),
                                             (np.full(9, 1.5), r"hand\.h5: PUPPI weights must be .*\[0, 1\]")])
def test_bad_puppi_weights_are_named(puppi, fragment):
    with pytest.raises(DataError, match=fragment):
        particle_inputs(hand_built_events(), puppi)


def test_a_student_may_read_puppis_weight_before_its_cuts_as_a_17th_input():
    from fpgakd.jets.events.puppi import puppi_shapes, puppi_weights
    from fpgakd.learn.pileup.events import pileup_data, student_inputs
    from helpers.events import pileup_events

    events = pileup_events(20)
    data = pileup_data(events, puppi_weights(events))
    x, names = student_inputs(data, InputConfig(type="particles"))
    assert x is data.x and names == data.names
    raw_inputs = InputConfig(type="particles", puppi_raw_weight=True)
    x, names = student_inputs(data, raw_inputs)
    assert x.shape == (data.n_particles, 17) and student_input_width(raw_inputs) == 17
    assert names == (*data.names, "puppi_raw_weight")
    np.testing.assert_array_equal(x[:, :16], data.x)
    np.testing.assert_array_equal(x[:, 16], puppi_shapes(events).raw.astype(np.float32))
    # the neutral cut zeroes soft neutrals whose shape PUPPI did weigh: the 17th input keeps that
    neutral = events.particles["charge"] == 0
    assert np.any(neutral & (data.puppi == 0) & (x[:, 16] > 0))


def test_an_event_file_loaded_with_its_own_puppi_keeps_the_raw_weights_the_student_reads(tmp_path):
    from fpgakd.jets.events.eventfile import write_events
    from fpgakd.jets.events.puppi import puppi_shapes, puppi_weights
    from fpgakd.learn.pileup.events import load_pileup_data, pileup_data, student_inputs
    from helpers.events import pileup_events

    events = pileup_events(20)
    loaded = load_pileup_data(write_events(tmp_path / "events.h5", events))
    np.testing.assert_array_equal(loaded.puppi, puppi_weights(events))
    np.testing.assert_array_equal(loaded.puppi_raw, puppi_shapes(events).raw)
    raw_inputs = InputConfig(type="particles", puppi_raw_weight=True)
    computed = student_inputs(pileup_data(events, puppi_weights(events)), raw_inputs)[0]
    np.testing.assert_array_equal(student_inputs(loaded, raw_inputs)[0], computed)
    # a caller that already holds both (a training after a benchmark's load) passes them on
    again = load_pileup_data(tmp_path / "events.h5", loaded.puppi, loaded.puppi_raw)
    assert again.puppi_raw is loaded.puppi_raw


def test_the_raw_weight_is_refused_beside_other_puppi_weights():
    from fpgakd.errors import ConfigError
    from fpgakd.learn.pileup.events import pileup_data, student_inputs
    from helpers.events import fake_puppi, pileup_events

    events = pileup_events(5)
    data = pileup_data(events, fake_puppi(events))
    with pytest.raises(ConfigError, match=r"pileup\.h5: key 'inputs\.puppi_raw_weight' .* other PUPPI weights"):
        student_inputs(data, InputConfig(type="particles", puppi_raw_weight=True))
