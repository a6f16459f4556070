"""The event-file contract: round trip, subsets, concatenation and errors naming the field."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from fpgakd.errors import DataError
from fpgakd.jets.events.eventfile import (EVENT_FIELDS, GEN_FIELDS, PARTICLE_FIELDS, EventSet,
                                          concat_events, load_events, write_events)


def random_events(n_events: int, seed: int = 0) -> EventSet:
    rng = np.random.default_rng(seed)
    offsets = np.concatenate([[0], np.cumsum(rng.integers(1, 6, n_events))])
    gen_offsets = np.concatenate([[0], np.cumsum(rng.integers(0, 4, n_events))])
    particles = {k: rng.normal(size=offsets[-1]).astype(v) for k, v in PARTICLE_FIELDS.items()}
    particles["is_pileup"] = rng.random(offsets[-1]) < 0.5
    return EventSet(particles, offsets, {k: rng.normal(size=n_events).astype(v) for k, v in EVENT_FIELDS.items()},
                    {k: rng.normal(size=gen_offsets[-1]).astype(v) for k, v in GEN_FIELDS.items()},
                    gen_offsets, {"mu": 3})


def test_round_trip_keeps_every_column(tmp_path):
    events = random_events(7)
    loaded = load_events(write_events(tmp_path / "e.h5", events))
    assert loaded.options == {"mu": 3} and loaded.has_truth
    for name, values in events.particles.items():
        np.testing.assert_array_equal(loaded.particles[name], values)
    np.testing.assert_array_equal(loaded.gen_offsets, events.gen_offsets)


def test_subset_and_concat_select_whole_events():
    a, b = random_events(4, seed=1), random_events(3, seed=2)
    a.options["n_events"] = 4
    both = concat_events([a, b])
    picked = both.subset([5, 0])
    assert both.options == {"mu": 3, "n_events": 7} and picked.options == {"mu": 3, "n_events": 2}
    want = np.concatenate([b.particles["pt"][b.offsets[1]:b.offsets[2]], a.particles["pt"][:a.offsets[1]]])
    np.testing.assert_array_equal(picked.particles["pt"], want)
    assert picked.n_events == 2 and picked.event_index().tolist() == [0] * (b.offsets[2] - b.offsets[1]) + [1] * a.offsets[1]


def test_a_file_without_truth_flags_is_refused_by_name(tmp_path):
    path = write_events(tmp_path / "e.h5", random_events(3))
    with h5py.File(path, "a") as f:
        del f["particles/is_pileup"]
    with pytest.raises(DataError, match=r"e\.h5: particles/is_pileup"):
        load_events(path)
    assert not load_events(path, require_truth=False).has_truth


def test_a_column_of_the_wrong_length_is_named(tmp_path):
    events = random_events(3)
    events.particles["eta"] = events.particles["eta"][:-1]
    with pytest.raises(DataError, match="particles/eta"):
        write_events(tmp_path / "e.h5", events)
    assert not (tmp_path / "e.h5").exists()
