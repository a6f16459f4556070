"""Generator-level particles of many interactions (hard events or minimum-bias ones), flat
arrays cut by offsets: what the overlay combines into events with pileup.

Only visible final-state particles inside the acceptance are kept: neutrinos never reach a
detector, and particles beyond |eta| < eta_max never enter an event (the detector response
scales a four-momentum, so it cannot move a particle across the eta boundary).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fpgakd.jets.events.eventfile import event_rows
from fpgakd.jets.pythia_source import NEUTRINOS, PythiaSource, p4_kinematics

__all__ = ["Interactions", "generate_interactions", "concat_interactions"]

#: Pythia's chargeType is three times the electric charge
_CHARGE_TYPE_PER_CHARGE = 3


@dataclass(frozen=True)
class Interactions:
    """Particles of ``n_events`` interactions: p4 (M, 4) GeV, production vertex (M, 3) cm
    relative to the interaction point, PDG id and electric charge (M,); event k owns rows
    ``offsets[k]:offsets[k+1]``.

    >>> lib = Interactions(np.ones((3, 4)), np.zeros((3, 3)), np.array([211, 22, -211]),
    ...                    np.array([1, 0, -1]), np.array([0, 2, 3]))
    >>> lib.n_events, lib.take(np.array([1, 1])).pdg_id.tolist()
    (2, [-211, -211])
    """

    p4: np.ndarray
    vertex: np.ndarray
    pdg_id: np.ndarray
    charge: np.ndarray
    offsets: np.ndarray

    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1

    def counts(self) -> np.ndarray:
        """Particles per interaction."""
        return np.diff(self.offsets)

    def take(self, indices: np.ndarray) -> "Interactions":
        """The interactions ``indices`` (repeats allowed), in that order."""
        rows, offsets = event_rows(self.offsets, np.asarray(indices, dtype=np.int64))
        return Interactions(self.p4[rows], self.vertex[rows], self.pdg_id[rows],
                            self.charge[rows], offsets)

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns by name (for saving)."""
        return {"p4": self.p4, "vertex": self.vertex, "pdg_id": self.pdg_id,
                "charge": self.charge, "offsets": self.offsets}


def concat_interactions(parts: Sequence[Interactions]) -> Interactions:
    """One set holding the interactions of ``parts`` in order.

    >>> one = Interactions(np.ones((1, 4)), np.zeros((1, 3)), np.array([22]), np.array([0]),
    ...                    np.array([0, 1]))
    >>> concat_interactions([one, one]).offsets.tolist()
    [0, 1, 2]
    """
    counts = np.concatenate([p.counts() for p in parts])
    return Interactions(np.concatenate([p.p4 for p in parts]),
                        np.concatenate([p.vertex for p in parts]),
                        np.concatenate([p.pdg_id for p in parts]),
                        np.concatenate([p.charge for p in parts]),
                        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))


def generate_interactions(settings: Sequence[str], what: str, n_events: int,
                          eta_max: float) -> Interactions:
    """Run Pythia with ``settings`` for ``n_events`` events; their visible final-state
    particles with |eta| < ``eta_max``, with production vertices.

    >>> from fpgakd.jets.events.options import minbias_settings
    >>> generate_interactions(minbias_settings(1), "min-bias", 5, 4.0).n_events   # doctest: +SKIP
    5
    """
    source = PythiaSource(settings, what, init_hint=f" (settings {list(settings)})")
    p4s, vertices, ids = [], [], []
    for _ in range(n_events):
        final = source.next_final_state(vertices=True)
        _, eta, _, _ = p4_kinematics(final.p4)
        keep = ~np.isin(np.abs(final.ids), NEUTRINOS) & (np.abs(eta) < eta_max)
        p4s.append(final.p4[keep])
        vertices.append(final.vertex[keep])
        ids.append(final.ids[keep])
    flat_ids = np.concatenate(ids)
    charge = source.charge_of(flat_ids) // _CHARGE_TYPE_PER_CHARGE
    counts = [len(i) for i in ids]
    return Interactions(np.concatenate(p4s), np.concatenate(vertices), flat_ids.astype(np.int32),
                        charge.astype(np.int8),
                        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
