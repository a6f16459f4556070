"""Whole events as graph batches for the pileup teacher: k nearest neighbours in (eta, phi).

A batch is a handful of whole events laid flat: particle rows of shape (M, F), each
particle's ``k`` nearest neighbours in its own event as row indices into the batch (M, k),
whether each neighbour exists (an event with k particles or fewer cannot fill the list),
the raw (eta, phi) the layers take separations from, and the batch-local event id of each
row. Neighbours are found in NumPy with :class:`scipy.spatial.cKDTree` (phi periodic), so
TensorFlow only gathers: memory and time grow with the number of particles, not its square,
which is what lets the teacher read mu-140 events on a CPU.

The second step of the DistillNet pipeline: it reads a :class:`~fpgakd.learn.pileup.events.PileupData`
(:func:`data_batches`, :func:`data_feed`) and hands the teacher its inputs.

>>> batches = data_batches(data, np.arange(data.events.n_events), 8192)   # doctest: +SKIP
>>> feed, rows = data_feed(data, xs, batches[0], k=16)                    # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fpgakd.learn.pileup.events import event_rows

__all__ = ["GRAPH_INPUTS", "event_neighbours", "all_event_neighbours", "event_batches", "graph_feed",
           "data_batches", "data_feed"]

#: the teacher's inputs, in order: features (M, F), (eta, phi) (M, 2), neighbour rows (M, k),
#: neighbour exists (M, k), batch-local event id (M,)
GRAPH_INPUTS = ("features", "coords", "neighbours", "valid", "event")
_TWO_PI = 2.0 * np.pi
#: eta is not periodic: its box is made wider than any eta range plus any distance in phi,
#: so a neighbour is never found across the eta "seam"
_ETA_BOX_MARGIN = 100.0


def event_neighbours(eta: np.ndarray, phi: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other particles of each particle of one event, and which exist.

    Distance is dR in (eta, phi) with phi periodic. Returns indices into the event (n, k)
    int32 (a missing neighbour points at the particle itself) and a bool mask (n, k).

    >>> idx, ok = event_neighbours(np.array([0.0, 0.1, 2.0]), np.array([3.1, -3.1, 0.0]), 1)
    >>> idx.ravel().tolist(), ok.all()
    ([1, 0, 1], True)
    """
    from scipy.spatial import cKDTree

    n = len(eta)
    if n == 0:
        return np.zeros((0, k), np.int32), np.zeros((0, k), bool)
    eta = np.asarray(eta, dtype=np.float64)
    wrapped = np.mod(np.asarray(phi, dtype=np.float64) + np.pi, _TWO_PI)
    wrapped[wrapped >= _TWO_PI] = 0.0       # mod can round up to the box edge
    points = np.column_stack([eta - eta.min(), wrapped])
    box = [np.ptp(eta) + _ETA_BOX_MARGIN, _TWO_PI]
    _, found = cKDTree(points, boxsize=box).query(points, k=min(k + 1, n))
    found = found.reshape(n, -1)
    own = np.arange(n)[:, None]
    # the particle itself is among the k + 1 found (first, unless another sits on the same
    # spot); a stable sort moves it last, so the first k are the nearest others
    order = np.argsort(found == own, axis=1, kind="stable")
    others = np.take_along_axis(found, order, axis=1)[:, :k]
    idx = np.broadcast_to(own, (n, k)).copy()
    idx[:, :others.shape[1]] = others
    valid = idx != own
    return idx.astype(np.int32), valid


def event_batches(offsets: np.ndarray, events: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """``events`` (in the given order) cut into consecutive groups of about ``batch_size`` particles.

    A group closes once it holds ``batch_size`` particles or more, so every group holds at
    least one whole event.

    >>> [b.tolist() for b in event_batches(np.array([0, 3, 5, 9]), np.array([2, 0, 1]), 4)]
    [[2], [0, 1]]
    """
    counts = np.diff(np.asarray(offsets))[np.asarray(events)]
    batches, start, filled = [], 0, 0
    for i, count in enumerate(counts):
        filled += int(count)
        if filled >= batch_size:
            batches.append(np.asarray(events[start:i + 1]))
            start, filled = i + 1, 0
    if start < len(events):
        batches.append(np.asarray(events[start:]))
    return batches


def all_event_neighbours(eta: np.ndarray, phi: np.ndarray, offsets: np.ndarray,
                         k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`event_neighbours` of every event, row by row: indices into each particle's own
    event (N, k) int32 and the mask (N, k) bool.

    Training reads every event once per epoch: the lists are found once and reused.

    >>> idx, ok = all_event_neighbours(np.zeros(3), np.array([0.0, 0.1, 2.0]), np.array([0, 1, 3]), 1)
    >>> idx.ravel().tolist(), ok.ravel().tolist()
    ([0, 1, 0], [False, True, True])
    """
    offsets = np.asarray(offsets)
    idx, valid = np.zeros((offsets[-1], k), np.int32), np.zeros((offsets[-1], k), bool)
    for lo, hi in zip(offsets[:-1], offsets[1:]):
        idx[lo:hi], valid[lo:hi] = event_neighbours(eta[lo:hi], phi[lo:hi], k)
    return idx, valid


def graph_feed(x: np.ndarray, eta: np.ndarray, phi: np.ndarray, offsets: np.ndarray,
               events: np.ndarray, k: int, neighbours: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[list[np.ndarray], np.ndarray]:
    """The teacher's inputs (:data:`GRAPH_INPUTS` order) for the whole ``events``, and their rows.

    ``neighbours`` are :func:`all_event_neighbours` found before (else found here).

    >>> feed, rows = graph_feed(x, eta, phi, offsets, np.array([4, 7]), k=16)   # doctest: +SKIP
    >>> [a.shape for a in feed]                                                 # doctest: +SKIP
    [(812, 16), (812, 2), (812, 16), (812, 16), (812,)]
    """
    offsets = np.asarray(offsets)
    events = np.asarray(events)
    rows = event_rows(offsets, events)
    counts = np.diff(offsets)[events]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
    if neighbours is None:
        found = [event_neighbours(eta[offsets[e]:offsets[e + 1]], phi[offsets[e]:offsets[e + 1]], k)
                 for e in events]
        idx = np.concatenate([f[0] for f in found]) if found else np.zeros((0, k), np.int32)
        ok = np.concatenate([f[1] for f in found]) if found else np.zeros((0, k), bool)
    else:
        idx, ok = neighbours[0][rows], neighbours[1][rows]
    # event-local indices become batch rows: each event's rows start where the previous ended
    event_ids = np.repeat(np.arange(len(events), dtype=np.int32), counts)
    coords = np.column_stack([eta[rows], phi[rows]]).astype(np.float32)
    feed = [np.asarray(x[rows], dtype=np.float32), coords,
            (idx + starts[event_ids][:, None]).astype(np.int32), ok.astype(np.float32), event_ids]
    return feed, rows


def data_batches(data: Any, events: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """:func:`event_batches` of the events of ``data`` (a :class:`~fpgakd.learn.pileup.events.PileupData`).

    >>> data_batches(data, np.arange(10), 8192)[0]                  # doctest: +SKIP
    """
    return event_batches(data.offsets, events, batch_size)


def data_feed(data: Any, xs: np.ndarray, events: np.ndarray, k: int,
              neighbours: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """:func:`graph_feed` of the whole ``events`` of ``data``, with features ``xs`` (one row per particle).

    >>> feed, rows = data_feed(data, xs, np.array([4, 7]), k=16)    # doctest: +SKIP
    """
    eta, phi = data.coords
    return graph_feed(xs, eta, phi, data.offsets, events, k, neighbours)
