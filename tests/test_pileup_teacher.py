"""The pileup teacher: kNN graphs, order invariance, a short training, cached soft labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fpgakd.errors import DataError
from fpgakd.learn.pileup.graph import event_batches, event_neighbours, graph_feed


@pytest.fixture
def teacher(pileup_teacher) -> tuple[Path, object]:
    return pileup_teacher


def test_neighbours_wrap_in_phi_skip_self_and_flag_missing_ones():
    idx, _ = event_neighbours(np.array([0.0, 0.0, 0.0]), np.array([3.1, -3.1, 0.0]), k=1)
    assert idx[:2, 0].tolist() == [1, 0]      # across the phi seam, 0.08 apart
    idx, ok = event_neighbours(np.array([0.0, 1.0]), np.array([0.0, 0.0]), k=3)
    # two particles cannot fill three neighbours: the missing ones point at the particle itself
    assert idx.tolist() == [[1, 0, 0], [0, 1, 1]] and ok.tolist() == [[True, False, False]] * 2
    offsets = np.array([0, 3, 5, 9])
    assert [b.tolist() for b in event_batches(offsets, np.array([0, 1, 2]), 5)] == [[0, 1], [2]]


@pytest.mark.slow
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


@pytest.mark.slow
def test_teacher_directory_holds_model_scaling_and_test_metrics(teacher):
    directory, data = teacher
    meta = json.loads((directory / "pileup_teacher.json").read_text())
    assert (directory / "teacher.h5").is_file() and (directory / "training_curves.png").is_file()
    assert meta["inputs"] == list(data.names) and meta["data_fingerprint"] == data.fingerprint
    assert sum(meta["n_events"].values()) == 40
    for name in ("teacher", "puppi"):
        assert 0 <= meta["test"][name]["accuracy"] <= 1 and 0 <= meta["test"][name]["auc"] <= 1


@pytest.mark.slow
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


def test_cached_neighbour_lists_give_the_same_feed_as_lists_found_per_batch():
    from fpgakd.learn.pileup.graph import all_event_neighbours
    from helpers.events import pileup_events

    events = pileup_events(6, seed=2)
    p, offsets = events.particles, events.offsets
    x = np.random.default_rng(0).normal(size=(events.n_particles, 3)).astype(np.float32)
    cached = all_event_neighbours(p["eta"], p["phi"], offsets, 4)
    for batch in (np.array([3, 0]), np.array([5, 1, 2])):
        fresh, rows = graph_feed(x, p["eta"], p["phi"], offsets, batch, 4)
        reused, rows_again = graph_feed(x, p["eta"], p["phi"], offsets, batch, 4, cached)
        assert np.array_equal(rows, rows_again)
        for a, b in zip(fresh, reused, strict=True):
            np.testing.assert_array_equal(a, b)
        assert fresh[2].max() >= np.diff(offsets)[batch[0]]    # the second event's rows are shifted


def test_edgeconv_computes_the_mlp_of_the_concatenated_edge_features():
    from fpgakd.learn.pileup.layers import ParticleEdgeConv

    rng = np.random.default_rng(0)
    m, f, k = 7, 3, 2
    h = rng.normal(size=(m, f)).astype(np.float32)
    coords = rng.uniform(-3, 3, size=(m, 2)).astype(np.float32)
    nb = rng.integers(0, m, size=(m, k)).astype(np.int32)
    valid = (rng.uniform(size=(m, k)) > 0.3).astype(np.float32)
    layer = ParticleEdgeConv(5, n_layers=2)
    out = np.asarray(layer([h, coords, nb, valid]))
    # the edge MLP written out on [h_i, h_j - h_i, deta, dphi, dR]
    deta = coords[nb, 0] - coords[:, None, 0]
    dphi = np.mod(coords[nb, 1] - coords[:, None, 1] + np.pi, 2 * np.pi) - np.pi
    h_i = np.broadcast_to(h[:, None, :], (m, k, f))
    e = np.concatenate([h_i, h[nb] - h_i, np.stack([deta, dphi, np.hypot(deta, dphi)], -1)], -1)
    for dense in layer.edge_mlp:
        e = np.maximum(e @ dense.kernel.numpy() + dense.bias.numpy(), 0)
    agg = (e * valid[..., None]).sum(1) / np.maximum(valid.sum(1), 1)[:, None]
    expected = np.maximum(h @ layer.shortcut.kernel.numpy() + layer.shortcut.bias.numpy() + agg, 0)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert np.ptp(out) > 0


@pytest.mark.slow
def test_soft_labels_of_other_puppi_weights_are_cached_apart(teacher, tmp_path):
    from fpgakd.learn.pileup.events import pileup_data
    from fpgakd.learn.pileup.teacher import pileup_soft_labels

    directory, data = teacher
    other = pileup_data(data.events, data.puppi * 0.5)     # the same events under another PUPPI
    assert other.fingerprint != data.fingerprint
    first = pileup_soft_labels(directory, data, cache_dir=tmp_path, progress=False)
    second = pileup_soft_labels(directory, other, cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("soft_targets_*.h5"))) == 2
    assert not np.allclose(first, second)                   # PUPPI is one of the teacher's inputs
