"""An event file as the pileup teacher and students see it: the 16 inputs, truth, split by event.

:func:`load_pileup_data` is the one place where PUPPI weights are computed when the caller
gives none (the command-line path); the library functions take them as an argument.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpgakd.jets.events.eventfile import TRUTH_FIELD, EventSet

__all__ = ["PileupData", "pileup_data", "load_pileup_data"]


@dataclass(frozen=True)
class PileupData:
    """Events, their raw (unstandardized) 16 inputs per particle and the PUPPI weights in them.

    ``fingerprint`` is a sha256 of the inputs, the event boundaries and the truth flags:
    what a teacher trained on them and its soft labels depend on (a change of PUPPI
    changes it too).
    """

    events: EventSet
    x: np.ndarray
    names: tuple[str, ...]
    puppi: np.ndarray
    fingerprint: str

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
        from fpgakd.learn.particle_graph import event_rows

        return event_rows(self.events.offsets, events)


def _fingerprint(x: np.ndarray, events: EventSet) -> str:
    digest = hashlib.sha256()
    for array in (x, events.offsets, events.particles[TRUTH_FIELD]):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def pileup_data(events: EventSet, puppi: np.ndarray) -> PileupData:
    """Inputs of ``events`` with the given PUPPI weights (one per particle row).

    >>> data = pileup_data(load_events("events.h5"), puppi)        # doctest: +SKIP
    """
    from fpgakd.errors import DataError
    from fpgakd.jets.events.particle_inputs import particle_inputs

    if not events.has_truth:
        raise DataError(f"{events.source or 'events'}: particles/{TRUTH_FIELD}: no truth flags; "
                        "the pileup teacher and the metrics need them")
    x, names = particle_inputs(events, puppi)
    return PileupData(events, x, tuple(names), np.asarray(puppi, dtype=np.float32),
                      _fingerprint(x, events))


def load_pileup_data(events_path: str | os.PathLike, puppi: np.ndarray | None = None) -> PileupData:
    """Read an event file (truth flags required) and its inputs; PUPPI computed if not given.

    >>> data = load_pileup_data("events.h5")                        # doctest: +SKIP
    """
    from fpgakd.jets.events.eventfile import load_events

    events = load_events(Path(events_path))
    if puppi is None:
        # the command line gives no weights: compute PUPPI's, the baseline every study compares to
        from fpgakd.jets.events.puppi import puppi_weights

        puppi = puppi_weights(events)
    return pileup_data(events, puppi)
