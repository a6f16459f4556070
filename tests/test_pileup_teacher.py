"""The pileup teacher: kNN graphs, order invariance, a short training, cached soft labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fpgakd.config import PileupTeacherConfig
from fpgakd.errors import DataError
from fpgakd.jets.events.eventfile import EVENT_FIELDS, GEN_FIELDS, EventSet
from fpgakd.learn.pileup.graph import event_batches, event_neighbours, graph_feed

#: a tiny teacher: a few seconds on one core
TINY_TEACHER = PileupTeacherConfig(width=8, edge_k=4, edge_blocks=2, edge_layers=1, epochs=2,
                                   batch_size=400, patience=2)


def pileup_events(n_events: int, seed: int = 0) -> EventSet:
    """Events of a collimated hard scatter (hard, dz ~ 0) over soft pileup spread in eta, phi and z."""
    rng = np.random.default_rng(seed)
    n_hard, n_pileup = 6, rng.integers(10, 30, n_events)
    counts = n_hard + n_pileup
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    pileup = np.concatenate([np.arange(c) >= n_hard for c in counts])
    n = int(offsets[-1])
    centre = np.repeat(rng.uniform(-np.pi, np.pi, n_events), counts)
    eta = np.where(pileup, rng.uniform(-4, 4, n), rng.normal(0, 0.3, n))
    phi = np.where(pileup, rng.uniform(-np.pi, np.pi, n), np.mod(centre + rng.normal(0, 0.3, n) + np.pi, 2 * np.pi) - np.pi)
    pt = np.where(pileup, rng.exponential(0.8, n), rng.exponential(10, n)) + 0.5
    charge = rng.choice([-1, 0, 1], n).astype(np.int8)
    track = charge != 0
    particles = {"pt": pt, "eta": eta, "phi": phi, "px": pt * np.cos(phi), "py": pt * np.sin(phi),
                 "pz": pt * np.sinh(eta), "e": pt * np.cosh(eta), "charge": charge,
                 "pdg_id": np.where(track, 211 * charge, 22).astype(np.int32),
                 "d0": np.where(track, rng.normal(0, 0.01, n), 0.0),
                 "dz": np.where(track, np.where(pileup, rng.normal(0, 5, n), rng.normal(0, 0.05, n)), 0.0),
                 "is_pileup": pileup}
    particles = {k: v if v.dtype.kind in "ib" else v.astype(np.float32) for k, v in particles.items()}
    return EventSet(particles, offsets, {k: np.zeros(n_events, v) for k, v in EVENT_FIELDS.items()},
                    {k: np.zeros(0, np.float32) for k in GEN_FIELDS}, np.zeros(n_events + 1, np.int64),
                    source="pileup.h5")


def fake_puppi(events: EventSet) -> np.ndarray:
    """A stand-in PUPPI weight per particle: any [0, 1] function of the particle (here of pT and dz)."""
    p = events.particles
    return (1.0 / (1.0 + np.abs(p["dz"]) + 1.0 / p["pt"])).astype(np.float32)


def tiny_teacher(root: Path) -> tuple[Path, object]:
    """A tiny teacher trained on 40 synthetic events into ``root``, and the data it read."""
    from fpgakd.learn.pileup.events import pileup_data
    from fpgakd.learn.pileup.teacher import fit_pileup_teacher

    events = pileup_events(40)
    data = pileup_data(events, fake_puppi(events))
    out = fit_pileup_teacher(data, root / "teacher", config=TINY_TEACHER, cache_dir=root / "cache",
                             progress=False)
    return out, data


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> tuple[Path, object]:
    return tiny_teacher(tmp_path_factory.mktemp("pileup_teacher"))


def test_neighbours_wrap_in_phi_skip_self_and_flag_missing_ones():
    idx, _ = event_neighbours(np.array([0.0, 0.0, 0.0]), np.array([3.1, -3.1, 0.0]), k=1)
    assert idx[:2, 0].tolist() == [1, 0]      # across the phi seam, 0.08 apart
    idx, ok = event_neighbours(np.array([0.0, 1.0]), np.array([0.0, 0.0]), k=3)
    # two particles cannot fill three neighbours: the missing ones point at the particle itself
    assert idx.tolist() == [[1, 0, 0], [0, 1, 1]] and ok.tolist() == [[True, False, False]] * 2
    offsets = np.array([0, 3, 5, 9])
    assert [b.tolist() for b in event_batches(offsets, np.array([0, 1, 2]), 5)] == [[0, 1], [2]]


def test_teacher_output_follows_a_permutation_of_the_particles(teacher):
    directory, data = teacher
    from fpgakd.learn.pileup.teacher import load_pileup_teacher

    loaded = load_pileup_teacher(directory)
    model = loaded.load_model()
    xs = loaded.standardizer.transform(data.x, data.names)
    p = data.events.particles
    lo, hi = data.events.offsets[:2]
    perm = np.random.default_rng(1).permutation(hi - lo)

    def event_logits(order):
        rows = lo + order
        feed, _ = graph_feed(xs[rows], p["eta"][rows], p["phi"][rows], np.array([0, hi - lo]),
                             np.array([0]), loaded.config.edge_k)
        return np.asarray(model(feed, training=False))[:, 0]

    straight = event_logits(np.arange(hi - lo))
    np.testing.assert_allclose(event_logits(perm), straight[perm], rtol=1e-5, atol=1e-5)
    assert np.ptp(straight) > 0      # not a constant: the test could fail


def test_teacher_directory_holds_model_scaling_and_test_metrics(teacher):
    directory, data = teacher
    meta = json.loads((directory / "pileup_teacher.json").read_text())
    assert (directory / "teacher.h5").is_file() and (directory / "training_curves.png").is_file()
    assert meta["inputs"] == list(data.names) and meta["data_fingerprint"] == data.fingerprint
    assert sum(meta["n_events"].values()) == 40
    for name in ("teacher", "puppi"):
        assert 0 <= meta["test"][name]["accuracy"] <= 1 and 0 <= meta["test"][name]["auc"] <= 1


def test_soft_labels_come_from_the_cache_the_second_time(teacher, tmp_path, monkeypatch):
    import fpgakd.learn.pileup.teacher as pileup_teacher

    directory, data = teacher
    first = pileup_teacher.pileup_soft_labels(directory, data, cache_dir=tmp_path, progress=False)
    assert first.shape == (data.events.n_particles,) and 0 <= first.min() and first.max() <= 1
    assert len(list(tmp_path.glob("soft_targets_*.h5"))) == 1

    def rerun(*args, **kwargs):
        raise AssertionError("the teacher ran again although its soft labels are cached")

    monkeypatch.setattr(pileup_teacher, "pileup_teacher_logits", rerun)
    np.testing.assert_array_equal(pileup_teacher.pileup_soft_labels(directory, data, cache_dir=tmp_path), first)


def test_a_jet_teacher_directory_is_refused_by_name(tmp_path):
    from fpgakd.learn.pileup.teacher import load_pileup_teacher

    (tmp_path / "teacher.json").write_text("{}")
    with pytest.raises(DataError, match="a jet teacher.*--events"):
        load_pileup_teacher(tmp_path)
