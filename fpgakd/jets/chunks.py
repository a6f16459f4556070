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
from typing import Any

import numpy as np

from fpgakd.errors import DataError
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
# HDF5 storage: gzip level 4 is most of level 9's gain at a fraction of its time; chunks of


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
    table[:n] = np.stack([deta, dphi, np.log(pt[:n]), np.log(e[:n]), pt[:n] / jpt,
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

    from fpgakd.jets.observables import high_level_features

    pythia_seed, rng = _chunk_seeds(options.seed, class_name, chunk_index)
    t0 = time.process_time()
    gen = _Generator(class_name, options, pythia_seed)
    timing = {"init": time.process_time() - t0, "pythia": 0.0, "cluster": 0.0, "features": 0.0}
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, options.jet_r)
    _swallow_fastjet_banner(ak, fastjet, jet_def)
    P = options.n_constituents
    hlf = np.zeros((n_jets, len(HLF_NAMES)), dtype=np.float32)
    constituents = np.zeros((n_jets, P, len(CONSTITUENT_NAMES)), dtype=np.float32)
    mask = np.zeros((n_jets, P), dtype=bool)
    jets = np.zeros((n_jets, len(JET_NAMES)), dtype=np.float32)
    n_done = 0
    n_events = 0
    jets_per_event = 1.0  # running estimate, sizes the next batch
    while n_done < n_jets:
        if n_events >= max(_MIN_EVENTS_BEFORE_GIVING_UP, _MAX_EVENTS_PER_JET * n_jets) \
                and n_done == 0:
            raise DataError(f"class {class_name!r}: no jet passed the selection in {n_events} "
                            f"events; check the options pt_min={options.pt_min}, "
                            f"pt_max={options.pt_max}, jet_r={options.jet_r}")
        need = n_jets - n_done
        batch = int(min(_MAX_BATCH_EVENTS, max(_MIN_BATCH_EVENTS,
                                               math.ceil(1.1 * need / jets_per_event))))
        t = time.process_time()
        ids, p4s, objects = [], [], []
        for _ in range(batch):
            i, p, o = gen.next_event()
            ids.append(i)
            p4s.append(p)
            objects.append(o)
        n_events += batch
        counts = np.array([len(i) for i in ids])
        ids_flat = np.concatenate(ids)
        p4_flat = np.concatenate(p4s)
        visible = ~np.isin(np.abs(ids_flat), NEUTRINOS)
        if options.smearing:
            charge = gen.charge_of(ids_flat)
            p4_flat, kept = smear_particles(p4_flat, charge, ids_flat, rng)
            visible &= kept
        event_of = np.repeat(np.arange(batch), counts)[visible]
        p4_flat = p4_flat[visible]
        counts = np.bincount(event_of, minlength=batch)
        timing["pythia"] += time.process_time() - t

        t = time.process_time()
        arr = ak.unflatten(ak.zip({"px": p4_flat[:, 0], "py": p4_flat[:, 1],
                                   "pz": p4_flat[:, 2], "E": p4_flat[:, 3]}), counts)
        cs = fastjet.ClusterSequence(arr, jet_def)
        # jets below the window can never be kept; asking FastJet for them only costs time
        cjets = cs.inclusive_jets(options.pt_min)
        cidx = cs.constituent_index(options.pt_min)
        jet_p4 = np.stack([ak.to_numpy(ak.flatten(cjets[f])) for f in ("px", "py", "pz", "E")],
                          axis=1)
        jet_counts = ak.to_numpy(ak.num(cjets))
        jet_start = np.concatenate([[0], np.cumsum(jet_counts)])
        jet_ptall, _, jet_phiall, jet_yall = p4_kinematics(jet_p4)
        part_start = np.concatenate([[0], np.cumsum(counts)])
        selected: list[tuple[int, int]] = []  # (event, jet index within event)
        for ev in range(batch):
            lo, hi = jet_start[ev], jet_start[ev + 1]
            if lo == hi:
                continue
            used = set()
            for y, phi, quarks in objects[ev]:
                dr = _delta_r(jet_yall[lo:hi], jet_phiall[lo:hi], y, phi)
                j = int(np.argmin(dr))
                if dr[j] >= options.jet_r or j in used:
                    continue
                used.add(j)
                if not options.pt_min <= jet_ptall[lo + j] < options.pt_max:
                    continue
                if quarks and any(_delta_r(jet_yall[lo + j], jet_phiall[lo + j], qy, qphi)
                                  >= options.jet_r for qy, qphi in quarks):
                    continue
                selected.append((ev, j))
        timing["cluster"] += time.process_time() - t

        jets_per_event = max(0.05, 0.5 * jets_per_event + 0.5 * len(selected) / batch)
        for ev, j in selected:
            if n_done >= n_jets:
                break
            t = time.process_time()
            idx = np.asarray(cidx[ev][j], dtype=np.int64)
            part = p4_flat[part_start[ev] + idx]
            table, m, jrow, (pt, eta, phi, e) = _jet_arrays(part, jet_p4[jet_start[ev] + j], P)
            constituents[n_done], mask[n_done], jets[n_done] = table, m, jrow
            timing["cluster"] += time.process_time() - t
            t = time.process_time()
            hlf[n_done] = high_level_features(pt, eta, phi, e, z_cut=options.z_cut,
                                              jet_r=options.jet_r)
            timing["features"] += time.process_time() - t
            n_done += 1
    return {"class_name": class_name, "chunk_index": chunk_index, "hlf": hlf,
            "constituents": constituents, "mask": mask, "jets": jets, "events": n_events,
            "timing": timing}


