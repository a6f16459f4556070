"""One chunk of jets, the unit of parallel work: Pythia 8 events -> smeared visible
particles -> anti-kT jets (FastJet) -> jets matched to the class's hard object -> constituent
tables and the 16 high-level features.

A chunk's Pythia seed and smearing generator derive from (seed, class, chunk index) only
(``_chunk_seeds``), so a chunk gives the same jets in any process.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, NamedTuple

import numpy as np

from fpgakd.errors import DataError
from fpgakd.jets import portable_math
from fpgakd.jets.detector import smear_particles
from fpgakd.jets.jetfile import CLASS_NAMES, CONSTITUENT_NAMES, HLF_NAMES, JET_NAMES
from fpgakd.jets.options import GenerationOptions, pythia_settings
from fpgakd.jets.pythia_source import (NEUTRINOS, PythiaSource, p4_kinematics, pythia_seed_of,
                                       wrap_phi)

__all__ = ["generate_chunk"]
# Parton ids: light quarks for the q class, any quark for decay products, the gluon.
_LIGHT_QUARKS = (1, 2, 3)
_QUARK_MAX_ID = 5
_GLUON = 21
_RESONANCE_ID = {"W": 24, "Z": 23, "t": 6}
_W_ID = 24
_DECAY_QUARKS = {"W": 2, "Z": 2, "t": 3}  # t -> b W, W -> q q'
_HARD_OUTGOING_STATUS = (-23, -22)  # outgoing partons (-23) / resonances (-22) of the 2 -> 2
_HARD_OUTGOING_SLOTS = (5, 6)       # event-record rows of the hard 2 -> 2 outgoing pair

# A chunk is abandoned when this many events per requested jet gave nothing: the window
# or R cannot be reached with these processes (a guard against an endless loop).
_MAX_EVENTS_PER_JET = 200
_MIN_EVENTS_BEFORE_GIVING_UP = 2000
# Events are clustered in batches: large enough to amortise the FastJet call, small
# enough not to overshoot a chunk by much.
_MIN_BATCH_EVENTS = 8
_MAX_BATCH_EVENTS = 256


# ------------------------------------------------------------------- one chunk
class _Generator:
    """One Pythia instance and its bookkeeping for one (class, chunk)."""

    def __init__(self, class_name: str, options: GenerationOptions, pythia_seed: int) -> None:
        self.class_name = class_name
        self.source = PythiaSource(
            pythia_settings(class_name, options, pythia_seed), f"class {class_name!r}",
            init_hint=f" with pTHat {options.pthat_range} GeV (options pt_min/pt_max or "
                      "pthat_min/pthat_max)")
        self.charge_of = self.source.charge_of

    def next_event(self) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float, list]]]:
        """Generate one event: (final-state ids, their p4 (M, 4), hard objects).

        A hard object is (rapidity, phi, [(rapidity, phi) of decay quarks]); it is listed
        only if it belongs to this class (gluon, light quark, W, Z or top).
        """
        final = self.source.next_final_state()
        return final.ids, final.p4, self._hard_objects(self.source.pythia.event)

    def _hard_objects(self, event: Any) -> list[tuple[float, float, list]]:
        objects = []
        cls = self.class_name
        for slot in _HARD_OUTGOING_SLOTS:
            prt = event[slot]
            if prt.status() not in _HARD_OUTGOING_STATUS:
                continue
            ida = prt.idAbs()
            if cls in ("g", "q"):
                if (cls == "g" and ida != _GLUON) or (cls == "q" and ida not in _LIGHT_QUARKS):
                    continue
                bot = event[prt.iBotCopy()]
                objects.append((bot.y(), bot.phi(), []))
                continue
            if ida != _RESONANCE_ID[cls]:
                continue
            last = event[prt.iBotCopyId()]
            quarks = []
            for d in last.daughterList():
                dp = event[d]
                dida = dp.idAbs()
                if cls == "t" and dida == _W_ID:
                    w = event[dp.iBotCopyId()]
                    quarks += [(event[q].y(), event[q].phi()) for q in w.daughterList()
                               if event[q].idAbs() <= _QUARK_MAX_ID]
                elif dida <= _QUARK_MAX_ID:
                    quarks.append((dp.y(), dp.phi()))
            if len(quarks) == _DECAY_QUARKS[cls]:
                objects.append((last.y(), last.phi(), quarks))
        return objects


def _delta_r(y1: Any, phi1: Any, y2: Any, phi2: Any) -> Any:
    return np.hypot(np.asarray(y1) - y2, wrap_phi(np.asarray(phi1) - phi2))


def _jet_arrays(p4: np.ndarray, jet_p4: np.ndarray, n_constituents: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Constituent table (P, 11), mask (P,), jet row (4,) and all constituents (pt, eta, phi, e)."""
    pt, eta, phi, _ = p4_kinematics(p4)
    e = p4[:, 3]
    order = np.argsort(-pt, kind="stable")
    pt, eta, phi, e = pt[order], eta[order], phi[order], e[order]
    jpt, jeta, jphi, _ = p4_kinematics(jet_p4)
    je = jet_p4[3]
    jmass = math.sqrt(max(je ** 2 - float(np.sum(jet_p4[:3] ** 2)), 0.0))
    n = min(len(pt), n_constituents)
    deta = eta[:n] - jeta
    dphi = wrap_phi(phi[:n] - jphi)
    table = np.zeros((n_constituents, len(CONSTITUENT_NAMES)), dtype=np.float32)
    table[:n] = np.stack([deta, dphi, portable_math.log(pt[:n]), portable_math.log(e[:n]), pt[:n] / jpt,
                          e[:n] / je, np.hypot(deta, dphi), pt[:n], eta[:n], phi[:n], e[:n]],
                         axis=1)
    mask = np.zeros(n_constituents, dtype=bool)
    mask[:n] = True
    return table, mask, np.array([jpt, jeta, jphi, jmass], dtype=np.float32), (pt, eta, phi, e)


def _chunk_seeds(seed: int, class_name: str, chunk_index: int) -> tuple[int, np.random.Generator]:
    """Pythia seed and smearing generator of one chunk; independent of the worker count."""
    ss = np.random.SeedSequence(seed, spawn_key=(CLASS_NAMES.index(class_name), chunk_index))
    ss_pythia, ss_smear = ss.spawn(2)
    return pythia_seed_of(ss_pythia), np.random.default_rng(ss_smear)


def _swallow_fastjet_banner(ak, fastjet, jet_def) -> None:
    """Trigger FastJet's once-per-process banner with file descriptor 1 on /dev/null.

    The compiled extension behind fastjet's awkward interface writes the banner straight to
    the C++ stdout on its first clustering and offers no switch; the library never prints.
    """
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        probe = ak.Array([[{"px": 1.0, "py": 0.0, "pz": 0.0, "E": 1.0}]])
        fastjet.ClusterSequence(probe, jet_def).inclusive_jets()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class _ChunkTables:
    """The output arrays of one chunk, filled jet by jet."""

    def __init__(self, n_jets: int, n_constituents: int) -> None:
        self.hlf = np.zeros((n_jets, len(HLF_NAMES)), dtype=np.float32)
        self.constituents = np.zeros((n_jets, n_constituents, len(CONSTITUENT_NAMES)),
                                     dtype=np.float32)
        self.mask = np.zeros((n_jets, n_constituents), dtype=bool)
        self.jets = np.zeros((n_jets, len(JET_NAMES)), dtype=np.float32)
        self.n_done = 0

    def arrays(self) -> dict[str, np.ndarray]:
        return {"hlf": self.hlf, "constituents": self.constituents, "mask": self.mask,
                "jets": self.jets}


class _Clustered(NamedTuple):
    """One batch's anti-kT jets and those matched to the class's hard objects."""

    jet_p4: np.ndarray       # (jets in the batch, 4)
    jet_start: np.ndarray    # first row in jet_p4 of each event
    part_start: np.ndarray   # first visible particle of each event
    constituent_index: Any   # FastJet's constituent indices, per event and jet
    selected: list[tuple[int, int]]  # (event, jet index within event)


def _give_up_if_nothing_passes(class_name: str, options: GenerationOptions, n_events: int,
                               n_jets: int, n_done: int) -> None:
    if n_events >= max(_MIN_EVENTS_BEFORE_GIVING_UP, _MAX_EVENTS_PER_JET * n_jets) \
            and n_done == 0:
        raise DataError(f"class {class_name!r}: no jet passed the selection in {n_events} "
                        f"events; check the options pt_min={options.pt_min}, "
                        f"pt_max={options.pt_max}, jet_r={options.jet_r}")


def _batch_events(need: int, jets_per_event: float) -> int:
    """Events for the next batch: enough for the jets still needed, at the running rate."""
    return int(min(_MAX_BATCH_EVENTS, max(_MIN_BATCH_EVENTS,
                                          math.ceil(1.1 * need / jets_per_event))))


def _visible_batch(gen: _Generator, batch: int, options: GenerationOptions,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list]:
    """Generate ``batch`` events: visible (smeared) particles' p4, their count per event,
    and each event's hard objects."""
    ids, p4s, objects = [], [], []
    for _ in range(batch):
        i, p, o = gen.next_event()
        ids.append(i)
        p4s.append(p)
        objects.append(o)
    counts = np.array([len(i) for i in ids])
    ids_flat = np.concatenate(ids)
    p4_flat = np.concatenate(p4s)
    visible = ~np.isin(np.abs(ids_flat), NEUTRINOS)
    if options.smearing:
        charge = gen.charge_of(ids_flat)
        p4_flat, kept = smear_particles(p4_flat, charge, ids_flat, rng)
        visible &= kept
    event_of = np.repeat(np.arange(batch), counts)[visible]
    return p4_flat[visible], np.bincount(event_of, minlength=batch), objects


def _matched_jets(objects: list, jet_y: np.ndarray, jet_phi: np.ndarray, jet_pt: np.ndarray,
                  options: GenerationOptions) -> list[int]:
    """Indices of one event's jets matched to its hard objects, in the pT window and, for
    W, Z and t, holding every decay quark."""
    matched: list[int] = []
    used = set()
    for y, phi, quarks in objects:
        dr = _delta_r(jet_y, jet_phi, y, phi)
        j = int(np.argmin(dr))
        if dr[j] >= options.jet_r or j in used:
            continue
        used.add(j)
        if not options.pt_min <= jet_pt[j] < options.pt_max:
            continue
        if quarks and any(_delta_r(jet_y[j], jet_phi[j], qy, qphi) >= options.jet_r
                          for qy, qphi in quarks):
            continue
        matched.append(j)
    return matched


def _cluster_and_match(ak: Any, fastjet: Any, jet_def: Any, p4_flat: np.ndarray,
                       counts: np.ndarray, objects: list, options: GenerationOptions
                       ) -> _Clustered:
    """Cluster a batch's events with FastJet and select the jets matched to hard objects."""
    arr = ak.unflatten(ak.zip({"px": p4_flat[:, 0], "py": p4_flat[:, 1],
                               "pz": p4_flat[:, 2], "E": p4_flat[:, 3]}), counts)
    cs = fastjet.ClusterSequence(arr, jet_def)
    # jets below the window can never be kept; asking FastJet for them only costs time
    cjets = cs.inclusive_jets(options.pt_min)
    cidx = cs.constituent_index(options.pt_min)
    jet_p4 = np.stack([ak.to_numpy(ak.flatten(cjets[f])) for f in ("px", "py", "pz", "E")],
                      axis=1)
    jet_start = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(cjets)))])
    jet_pt, _, jet_phi, jet_y = p4_kinematics(jet_p4)
    part_start = np.concatenate([[0], np.cumsum(counts)])
    selected: list[tuple[int, int]] = []
    for ev in range(len(objects)):
        lo, hi = jet_start[ev], jet_start[ev + 1]
        if lo == hi:
            continue
        selected += [(ev, j) for j in _matched_jets(objects[ev], jet_y[lo:hi], jet_phi[lo:hi],
                                                    jet_pt[lo:hi], options)]
    return _Clustered(jet_p4, jet_start, part_start, cidx, selected)


def _fill_selected(tables: _ChunkTables, clustered: _Clustered, p4_flat: np.ndarray,
                   options: GenerationOptions, timing: dict[str, float]) -> None:
    """Constituent tables and high-level features of the selected jets, until the chunk is full."""
    from fpgakd.jets.observables import high_level_features

    for ev, j in clustered.selected:
        if tables.n_done >= len(tables.hlf):
            break
        t = time.process_time()
        idx = np.asarray(clustered.constituent_index[ev][j], dtype=np.int64)
        part = p4_flat[clustered.part_start[ev] + idx]
        table, m, jrow, (pt, eta, phi, e) = _jet_arrays(
            part, clustered.jet_p4[clustered.jet_start[ev] + j], options.n_constituents)
        n = tables.n_done
        tables.constituents[n], tables.mask[n], tables.jets[n] = table, m, jrow
        timing["cluster"] += time.process_time() - t
        t = time.process_time()
        tables.hlf[n] = high_level_features(pt, eta, phi, e, z_cut=options.z_cut,
                                            jet_r=options.jet_r)
        timing["features"] += time.process_time() - t
        tables.n_done += 1


def generate_chunk(class_name: str, chunk_index: int, n_jets: int,
                   options: GenerationOptions) -> dict[str, Any]:
    """Generate ``n_jets`` jets of one class for one chunk (the unit of parallel work).

    Returns a dict of arrays ``hlf`` (n, 16), ``constituents`` (n, P, 11), ``mask`` (n, P),
    ``jets`` (n, 4), ``events`` (events generated) and ``timing`` (CPU seconds in Pythia's
    initialisation; events + particle extraction + smearing; clustering + matching +
    constituent tables; the high-level features).

    >>> out = generate_chunk("W", 0, 5, GenerationOptions(jets_per_class=5, seed=1))  # doctest: +SKIP
    >>> out["hlf"].shape                                                                 # doctest: +SKIP
    (5, 16)
    """
    import awkward as ak
    import fastjet

    pythia_seed, rng = _chunk_seeds(options.seed, class_name, chunk_index)
    t0 = time.process_time()
    gen = _Generator(class_name, options, pythia_seed)
    timing = {"init": time.process_time() - t0, "pythia": 0.0, "cluster": 0.0, "features": 0.0}
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, options.jet_r)
    _swallow_fastjet_banner(ak, fastjet, jet_def)
    tables = _ChunkTables(n_jets, options.n_constituents)
    n_events = 0
    jets_per_event = 1.0  # running estimate, sizes the next batch
    while tables.n_done < n_jets:
        _give_up_if_nothing_passes(class_name, options, n_events, n_jets, tables.n_done)
        batch = _batch_events(n_jets - tables.n_done, jets_per_event)
        t = time.process_time()
        p4_flat, counts, objects = _visible_batch(gen, batch, options, rng)
        n_events += batch
        timing["pythia"] += time.process_time() - t
        t = time.process_time()
        clustered = _cluster_and_match(ak, fastjet, jet_def, p4_flat, counts, objects, options)
        timing["cluster"] += time.process_time() - t
        jets_per_event = max(0.05, 0.5 * jets_per_event + 0.5 * len(clustered.selected) / batch)
        _fill_selected(tables, clustered, p4_flat, options, timing)
    return {"class_name": class_name, "chunk_index": chunk_index, **tables.arrays(),
            "events": n_events, "timing": timing}
