"""The contract of fpgakd's event files (HDF5): particles of whole events with pileup.

Layout (E events, N reconstructed particles in all, G generator-level truth particles in all):

================================= ============= ==============================================
dataset                           shape, dtype  content
================================= ============= ==============================================
``particles/<field>``             (N,)          one row per reconstructed particle, fields and
                                                dtypes ``PARTICLE_FIELDS``; event e owns rows
                                                ``offsets[e]:offsets[e+1]``
``particles/is_pileup``           (N,) bool     truth flag: True for a pileup particle, False
                                                for one from the hard scatter (``TRUTH_FIELD``)
``events/offsets``                (E+1,) int64  particle row ranges per event
``events/<field>``                (E,)          ``EVENT_FIELDS``: overlaid interactions, the
                                                primary vertex z, the no-pileup truth pT-miss
``gen/<field>``                   (G,) float32  ``GEN_FIELDS``: generator-level four-vectors of
                                                the hard scatter's visible final-state
                                                particles in the acceptance, before any
                                                detector effect (the truth jets' input)
``events/gen_offsets``            (E+1,) int64  ``gen`` row ranges per event
================================= ============= ==============================================

Root attributes: ``format`` = ``FORMAT_NAME``, ``format_version``, ``options`` (JSON: what
generated the file), ``created``. Units: GeV, cm; ``phi`` in [-pi, pi). ``d0``/``dz`` are the
measured transverse/longitudinal impact parameters relative to the primary vertex (0 for
neutral particles, which have no track). ``gen_met_x``/``gen_met_y``: the negative vector
sum of the ``gen`` particles' transverse momenta, i.e. the pT-miss a perfect detector with
this acceptance would see without pileup.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.errors import DataError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "PARTICLE_FIELDS", "EVENT_FIELDS", "GEN_FIELDS",
           "TRUTH_FIELD", "EventSet", "write_events", "load_events", "concat_events", "event_rows"]

FORMAT_NAME = "fpgakd-events"
FORMAT_VERSION = 1

#: per-particle fields (besides the truth flag) and their stored dtypes
PARTICLE_FIELDS: dict[str, str] = {
    "px": "float32", "py": "float32", "pz": "float32", "e": "float32",
    "pt": "float32", "eta": "float32", "phi": "float32",
    "charge": "int8", "pdg_id": "int32", "d0": "float32", "dz": "float32",
}
#: the per-particle truth flag DistillNet's teacher learns from
TRUTH_FIELD = "is_pileup"
EVENT_FIELDS: dict[str, str] = {"n_pileup": "int32", "pv_z": "float32",
                                "gen_met_x": "float32", "gen_met_y": "float32"}
GEN_FIELDS: dict[str, str] = {"px": "float32", "py": "float32", "pz": "float32", "e": "float32"}


@dataclass(frozen=True)
class EventSet:
    """Events in memory: flat particle columns cut into events by ``offsets``.

    >>> events = load_events("events.h5")                        # doctest: +SKIP
    >>> events.n_events, events.particles["pt"][events.offsets[0]:events.offsets[1]].sum()  # doctest: +SKIP
    """

    particles: dict[str, np.ndarray]
    offsets: np.ndarray
    events: dict[str, np.ndarray]
    gen: dict[str, np.ndarray]
    gen_offsets: np.ndarray
    options: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_particles(self) -> int:
        return int(self.offsets[-1])

    @property
    def has_truth(self) -> bool:
        return TRUTH_FIELD in self.particles

    def event_index(self) -> np.ndarray:
        """The event each particle belongs to, shape (N,)."""
        return np.repeat(np.arange(self.n_events), np.diff(self.offsets))

    def subset(self, indices: Any) -> "EventSet":
        """The events ``indices`` (in that order), as a new set with contiguous offsets."""
        idx = np.asarray(indices, dtype=np.int64)
        rows, offsets = event_rows(self.offsets, idx)
        gen_rows, gen_offsets = event_rows(self.gen_offsets, idx)
        return EventSet({k: v[rows] for k, v in self.particles.items()}, offsets,
                        {k: v[idx] for k, v in self.events.items()},
                        {k: v[gen_rows] for k, v in self.gen.items()}, gen_offsets,
                        _options_counting(self.options, len(idx)), self.source)


def _options_counting(options: dict[str, Any], n_events: int) -> dict[str, Any]:
    """A copy of generation ``options`` whose ``n_events`` (where they name one) counts ``n_events``."""
    return {**options, "n_events": n_events} if "n_events" in options else dict(options)


def event_rows(offsets: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat row indices of the events ``idx`` (rows cut by ``offsets``) and their new offsets.

    >>> rows, new = event_rows(np.array([0, 2, 5]), np.array([1, 0]))
    >>> rows.tolist(), new.tolist()
    ([2, 3, 4, 0, 1], [0, 3, 5])
    """
    counts = (offsets[idx + 1] - offsets[idx]).astype(np.int64)
    new_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    rows = np.repeat(offsets[idx] - new_offsets[:-1], counts) + np.arange(new_offsets[-1])
    return rows.astype(np.int64), new_offsets


def concat_events(sets: list[EventSet]) -> EventSet:
    """One set holding the events of ``sets`` in order (options of the first, with their ``n_events`` summed).

    >>> concat_events([a, b]).n_events == a.n_events + b.n_events     # doctest: +SKIP
    True
    """
    if not sets:
        raise ValueError("concat_events needs at least one EventSet")

    def joined_offsets(offs: list[np.ndarray]) -> np.ndarray:
        starts = np.cumsum([0] + [int(o[-1]) for o in offs[:-1]])
        return np.concatenate([offs[0][:1]] + [o[1:] + s for o, s in zip(offs, starts)]).astype(np.int64)

    first = sets[0]
    return EventSet({k: np.concatenate([s.particles[k] for s in sets]) for k in first.particles},
                    joined_offsets([s.offsets for s in sets]),
                    {k: np.concatenate([s.events[k] for s in sets]) for k in first.events},
                    {k: np.concatenate([s.gen[k] for s in sets]) for k in first.gen},
                    joined_offsets([s.gen_offsets for s in sets]),
                    _options_counting(first.options, sum(s.n_events for s in sets)), first.source)


# ------------------------------------------------------------------------ writing
def write_events(path: str | os.PathLike, events: EventSet) -> Path:
    """Write ``events`` to ``path`` atomically (a temporary name, renamed when complete).

    >>> write_events("events.h5", events)                        # doctest: +SKIP
    """
    import h5py

    from fpgakd.atomic import atomic_path

    _check_consistent(events, str(path))
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update({"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                        "options": json.dumps(events.options, sort_keys=True, default=str),
                        "created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        dtypes = {**PARTICLE_FIELDS, TRUTH_FIELD: "bool"}
        for name, values in events.particles.items():
            f.create_dataset(f"particles/{name}", data=np.asarray(values, dtype=dtypes[name]),
                             compression="gzip", compression_opts=1)
        for name, values in events.events.items():
            f.create_dataset(f"events/{name}", data=np.asarray(values, dtype=EVENT_FIELDS[name]))
        f.create_dataset("events/offsets", data=np.asarray(events.offsets, dtype=np.int64))
        f.create_dataset("events/gen_offsets", data=np.asarray(events.gen_offsets, dtype=np.int64))
        for name, values in events.gen.items():
            f.create_dataset(f"gen/{name}", data=np.asarray(values, dtype=GEN_FIELDS[name]),
                             compression="gzip", compression_opts=1)
    return Path(path)


def _check_consistent(events: EventSet, where: str) -> None:
    """Every column present, of the length its offsets say; offsets non-decreasing from 0."""
    for name, offsets in (("events/offsets", events.offsets), ("events/gen_offsets", events.gen_offsets)):
        offsets = np.asarray(offsets)
        if offsets.ndim != 1 or len(offsets) != events.n_events + 1 or offsets[0] != 0 \
                or np.any(np.diff(offsets) < 0):
            raise DataError(f"{where}: {name}: expected {events.n_events + 1} non-decreasing "
                            f"offsets starting at 0")
    groups = (("particles", events.particles, PARTICLE_FIELDS, int(events.offsets[-1])),
              ("events", events.events, EVENT_FIELDS, events.n_events),
              ("gen", events.gen, GEN_FIELDS, int(events.gen_offsets[-1])))
    for group, columns, fields, length in groups:
        missing = sorted(set(fields) - set(columns))
        if missing:
            raise DataError(f"{where}: {group}: missing field(s) {', '.join(missing)}")
        extra = sorted(set(columns) - set(fields) - {TRUTH_FIELD})
        if extra:
            raise DataError(f"{where}: {group}: unknown field(s) {', '.join(extra)}")
        for name, values in columns.items():
            if np.shape(values) != (length,):
                raise DataError(f"{where}: {group}/{name}: expected shape ({length},), "
                                f"got {np.shape(values)}")


# ------------------------------------------------------------------------ reading
def load_events(path: str | os.PathLike, *, require_truth: bool = True) -> EventSet:
    """Read an event file written by :func:`write_events`, checking its layout.

    ``require_truth``: a file without the per-particle truth flag (``particles/is_pileup``)
    is an error, since teachers and the study learn from it.

    >>> load_events("events.h5").n_events                        # doctest: +SKIP
    200
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: event file not found")
    try:
        with h5py.File(path, "r") as f:
            events = _read_groups(f, path)
    except OSError as err:
        raise DataError(f"{path}: not a readable HDF5 event file ({err})") from None
    _check_consistent(events, str(path))
    if require_truth and not events.has_truth:
        raise DataError(f"{path}: particles/{TRUTH_FIELD}: no per-particle truth flags "
                        "(hard scatter or pileup) in this file; the teacher and the pileup study need them")
    return events


def _read_groups(f: Any, path: Path) -> EventSet:
    if f.attrs.get("format") != FORMAT_NAME:
        raise DataError(f"{path}: attribute 'format': expected {FORMAT_NAME!r}, "
                        f"got {f.attrs.get('format')!r} (not an fpgakd event file)")
    version = int(f.attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise DataError(f"{path}: attribute 'format_version': expected {FORMAT_VERSION}, got {version}")
    for group in ("particles", "events", "gen"):
        if group not in f:
            raise DataError(f"{path}: group {group!r} missing")
    events = {k: f["events"][k][()] for k in f["events"] if k not in ("offsets", "gen_offsets")}
    for name in ("offsets", "gen_offsets"):
        if name not in f["events"]:
            raise DataError(f"{path}: events/{name} missing")
    return EventSet({k: f["particles"][k][()] for k in f["particles"]}, f["events/offsets"][()],
                    events, {k: f["gen"][k][()] for k in f["gen"]}, f["events/gen_offsets"][()],
                    json.loads(f.attrs.get("options", "{}")), str(path))
