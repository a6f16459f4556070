"""An event file as the pileup teacher and students see it: the 16 inputs, truth, split by event.

The first step of the DistillNet pipeline: :mod:`fpgakd.learn.pileup.graph` builds the
teacher's graph batches from a :class:`PileupData`, the teacher and the student read its
inputs, truth flags and particle rows. :func:`load_pileup_data` is the one place where PUPPI
weights are computed when the caller gives none (the command-line path); the library functions
take them as an argument.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpgakd.config import InputConfig
from fpgakd.jets.events.eventfile import TRUTH_FIELD, EventSet

__all__ = ["PileupData", "pileup_data", "load_pileup_data", "event_rows", "student_inputs"]


@dataclass(frozen=True)
class PileupData:
    """Events, their raw (unstandardized) 16 inputs per particle and the PUPPI weights in them.

    ``fingerprint`` is a sha256 of the inputs, the event boundaries and the truth flags:
    what a teacher trained on them and its soft labels depend on (a change of PUPPI
    changes it too). ``puppi_raw``: the default PUPPI's weights before its cuts, kept where
    that PUPPI made ``puppi`` here (:func:`load_pileup_data`), so a student reading them
    (``inputs.puppi_raw_weight``) does not compute them again.
    """

    events: EventSet
    x: np.ndarray
    names: tuple[str, ...]
    puppi: np.ndarray
    fingerprint: str
    puppi_raw: np.ndarray | None = None

    @property
    def offsets(self) -> np.ndarray:
        """(n_events + 1,) the first particle row of each event, then the row count."""
        return self.events.offsets

    @property
    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """(eta, phi) of every particle row: where its neighbours are looked for."""
        return self.events.particles["eta"], self.events.particles["phi"]

    @property
    def n_particles(self) -> int:
        """Particle rows of all events."""
        return self.events.n_particles

    @property
    def is_hard(self) -> np.ndarray:
        """(N,) bool: the particle comes from the hard scatter (the teacher's target)."""
        return ~np.asarray(self.events.particles[TRUTH_FIELD], dtype=bool)

    def split(self, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Train, validation and test *events* (60/20/20, sorted), reproducible from ``seed``.

        >>> train, val, test = data.split(0)                       # doctest: +SKIP
        """
        from fpgakd.jets.preprocessing import split_indices

        return split_indices(self.events.n_events, seed=seed)

    def rows(self, events: np.ndarray) -> np.ndarray:
        """The particle rows of ``events`` in the order of ``events.subset`` (sorted events).

        >>> data.rows(np.array([0, 2]))                            # doctest: +SKIP
        """
        return event_rows(self.events.offsets, events)


def event_rows(offsets: np.ndarray, events: np.ndarray) -> np.ndarray:
    """The particle rows of ``events``, event after event, int64.

    >>> event_rows(np.array([0, 2, 5]), np.array([1, 0])).tolist()
    [2, 3, 4, 0, 1]
    """
    offsets = np.asarray(offsets)
    events = np.asarray(events, dtype=np.int64)
    starts, counts = offsets[events], np.diff(offsets)[events]
    new_starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return (np.repeat(starts - new_starts, counts) + np.arange(counts.sum())).astype(np.int64)


def _fingerprint(x: np.ndarray, events: EventSet) -> str:
    digest = hashlib.sha256()
    for array in (x, events.offsets, events.particles[TRUTH_FIELD]):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def pileup_data(events: EventSet, puppi: np.ndarray, puppi_raw: np.ndarray | None = None) -> PileupData:
    """Inputs of ``events`` with the given PUPPI weights (one per particle row; ``puppi_raw``:
    the default PUPPI's before its cuts, where it made ``puppi``).

    >>> data = pileup_data(load_events("events.h5"), puppi)        # doctest: +SKIP
    """
    from fpgakd.errors import DataError
    from fpgakd.jets.events.particle_inputs import particle_inputs

    if not events.has_truth:
        raise DataError(f"{events.source or 'events'}: particles/{TRUTH_FIELD}: no truth flags; "
                        "the pileup teacher and the metrics need them")
    x, names = particle_inputs(events, puppi)
    return PileupData(events, x, tuple(names), np.asarray(puppi, dtype=np.float32),
                      _fingerprint(x, events), puppi_raw)


def load_pileup_data(events_path: str | os.PathLike, puppi: np.ndarray | None = None,
                     puppi_raw: np.ndarray | None = None) -> PileupData:
    """Read an event file (truth flags required) and its inputs; PUPPI computed if not given
    (``puppi_raw``: with ``puppi``, the default PUPPI's weights before the cuts that made it).

    >>> data = load_pileup_data("events.h5")                        # doctest: +SKIP
    """
    from fpgakd.jets.events.eventfile import load_events

    events = load_events(Path(events_path))
    if puppi is not None:
        return pileup_data(events, puppi, puppi_raw)
    # the command line gives no weights: compute PUPPI's, the baseline every study compares to
    from fpgakd.jets.events.puppi import apply_puppi_cuts, puppi_shapes

    shapes = puppi_shapes(events)
    return pileup_data(events, apply_puppi_cuts(shapes), shapes.raw)


def student_inputs(data: PileupData, inputs: InputConfig) -> tuple[np.ndarray, tuple[str, ...]]:
    """The raw inputs of a per-particle student reading ``inputs`` and their names: the 16 of
    ``data``, and with ``puppi_raw_weight`` PUPPI's weight before its neutral cuts after them.

    That weight comes from the default PUPPI (:class:`~fpgakd.jets.events.puppi.PuppiConfig`),
    so the PUPPI weights among the 16 must be the default's too: other ones are refused.

    >>> x, names = student_inputs(data, load_model_config("qdistillnet").inputs)   # doctest: +SKIP
    >>> x.shape[1], names[-1]                                                     # doctest: +SKIP
    (16, 'dz')
    """
    if not inputs.puppi_raw_weight:
        return data.x, data.names
    from fpgakd.jets.events.particle_inputs import PUPPI_RAW_INPUT_NAME

    raw = data.puppi_raw if data.puppi_raw is not None else _default_puppi_raw(data)
    return np.column_stack([data.x, raw.astype(np.float32)]), (*data.names, PUPPI_RAW_INPUT_NAME)


def _default_puppi_raw(data: PileupData) -> np.ndarray:
    """The default PUPPI's weights before its cuts, refused unless its cuts give ``data.puppi``."""
    from fpgakd.errors import ConfigError
    from fpgakd.jets.events.puppi import apply_puppi_cuts, puppi_shapes

    shapes = puppi_shapes(data.events)
    if not np.array_equal(apply_puppi_cuts(shapes), data.puppi):
        raise ConfigError(f"{data.events.source or 'events'}: key 'inputs.puppi_raw_weight' reads the default "
                          "PUPPI's weights before its cuts, but these events carry other PUPPI weights")
    return shapes.raw
