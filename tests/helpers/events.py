"""Hand-built and synthetic events with pileup, a stand-in PUPPI weight, a tiny pileup teacher."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fpgakd.config import PileupTeacherConfig
from fpgakd.jets.events.eventfile import EVENT_FIELDS, GEN_FIELDS, EventSet

#: a track this far from the primary vertex (cm) comes from a pileup vertex
PILEUP_DZ = 5.0


def hand_built_events(events: list[list[tuple]], gen: list[list[tuple]] | None = None,
                      n_pileup: int = 10) -> EventSet:
    """Events from particle tuples (pt, eta, phi, charge, dz, is_pileup); massless four-vectors.

    ``gen``: per event, generator particles as (pt, eta, phi); the events' gen pT-miss is
    their negative vector sum.
    """
    gen = gen if gen is not None else [[] for _ in events]
    rows = np.array([p for ev in events for p in ev], dtype=np.float64).reshape(-1, 6)
    pt, eta, phi = rows[:, 0], rows[:, 1], rows[:, 2]
    particles = {"pt": pt, "eta": eta, "phi": phi, "px": pt * np.cos(phi), "py": pt * np.sin(phi),
                 "pz": pt * np.sinh(eta), "e": pt * np.cosh(eta), "charge": rows[:, 3].astype(np.int8),
                 "pdg_id": np.where(rows[:, 3] != 0, 211, 22).astype(np.int32), "d0": np.zeros(len(rows)),
                 "dz": rows[:, 4], "is_pileup": rows[:, 5].astype(bool)}
    g = np.array([p for ev in gen for p in ev], dtype=np.float64).reshape(-1, 3)
    gen_cols = {"px": g[:, 0] * np.cos(g[:, 2]), "py": g[:, 0] * np.sin(g[:, 2]),
                "pz": g[:, 0] * np.sinh(g[:, 1]), "e": g[:, 0] * np.cosh(g[:, 1])}
    gen_offsets = np.concatenate([[0], np.cumsum([len(ev) for ev in gen])]).astype(np.int64)
    gen_event = np.repeat(np.arange(len(events)), np.diff(gen_offsets))
    per_event = {"n_pileup": np.full(len(events), n_pileup), "pv_z": np.zeros(len(events)),
                 "gen_met_x": -np.bincount(gen_event, gen_cols["px"], minlength=len(events)),
                 "gen_met_y": -np.bincount(gen_event, gen_cols["py"], minlength=len(events))}
    offsets = np.concatenate([[0], np.cumsum([len(ev) for ev in events])]).astype(np.int64)
    return EventSet(particles, offsets, per_event, gen_cols, gen_offsets, source="hand-built")


# A W(lv)+jets-like event: a hard lepton (a jet of its own) and two jets; the neutrino is invisible.
HARD = [(45.0, 0.3, 2.0, -1, 0.0, False),                                   # the lepton
        (30.0, -0.5, -1.0, 1, 0.01, False), (20.0, -0.45, -1.1, 0, 0.0, False),  # jet 1
        (25.0, 1.5, 0.2, 0, 0.0, False), (6.0, 1.6, 0.25, -1, 0.0, False)]      # jet 2
PILEUP = [(3.0, -0.4, -1.05, 0, 0.0, True), (2.0, 1.55, 0.1, 1, PILEUP_DZ, True),
          (4.0, -2.0, 2.5, 0, 0.0, True), (1.0, 0.0, 0.0, 1, PILEUP_DZ, True)]


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


def tiny_pileup_teacher(root: Path) -> tuple[Path, object]:
    """A tiny teacher trained on 40 synthetic events into ``root``, and the data it read."""
    from fpgakd.learn.pileup.events import pileup_data
    from fpgakd.learn.pileup.teacher import fit_pileup_teacher

    events = pileup_events(40)
    data = pileup_data(events, fake_puppi(events))
    out = fit_pileup_teacher(data, root / "teacher", config=TINY_TEACHER, cache_dir=root / "cache",
                             progress=False)
    return out, data
