"""Generate events with pileup into one event file (:mod:`fpgakd.jets.events.eventfile`).

The hard events come from Pythia 8 at 14 TeV in chunks of ``HARD_CHUNK_EVENTS`` (chunk k's
Pythia seeded by (seed, k)); each worker process loads the minimum-bias library
(:mod:`fpgakd.jets.events.minbias`) once and overlays every event of its chunks
(:mod:`fpgakd.jets.events.overlay`). Chunks come back in order and the file is written
atomically at the end: same options -> the same file with any number of workers, and an
error or Ctrl-C leaves nothing at the output path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.cache import cache_dir
from fpgakd.errors import ConfigError, DataError
from fpgakd.jets.events.eventfile import (EVENT_FIELDS, GEN_FIELDS, PARTICLE_FIELDS, TRUTH_FIELD,
                                          EventSet, load_events, write_events)
from fpgakd.jets.events.interactions import Interactions, generate_interactions
from fpgakd.jets.events.minbias import build_library, library_dir, load_library
from fpgakd.jets.events.options import PileupOptions, hard_settings, options_hash
from fpgakd.jets.events.overlay import HARD_STREAM, generator_truth, overlay_event
from fpgakd.jets.pythia_source import pythia_seed_of
from fpgakd.jets.workers import chunk_sizes, results_in_order

__all__ = ["EventSummary", "generate_events", "events_cache_path", "cached_events_path",
           "default_events_path", "HARD_CHUNK_EVENTS"]

log = logging.getLogger(__name__)

#: hard events per work unit: Pythia's initialisation (~0.3 s) stays small against the chunk.
#: Part of the seeding, so changing it changes the sample.
HARD_CHUNK_EVENTS = 50

_library: dict[str, Interactions] = {}  # per worker process: the library, loaded once


@dataclass(frozen=True)
class EventSummary:
    """What :func:`generate_events` produced, for the CLI and the logs.

    >>> s = EventSummary("e.h5", 10, 50.2, 2400.0, 0.95, 5.0, 1.0, 2)
    >>> s.events_per_second
    2.5
    """

    path: str
    events: int
    mean_pileup: float
    mean_particles: float
    pileup_fraction: float
    seconds: float
    library_seconds: float
    workers: int

    @property
    def events_per_second(self) -> float:
        """Events per second of the overlay phase (the library is built once, then cached)."""
        return self.events / max(self.seconds - self.library_seconds, 1e-9)

    def format_table(self) -> str:
        """A few lines: events, pileup, particles, timing."""
        return "\n".join([
            f"events                     {self.events}",
            f"mean pileup interactions   {self.mean_pileup:.1f}",
            f"mean particles per event   {self.mean_particles:.0f}",
            f"pileup particles           {100 * self.pileup_fraction:.1f}%",
            f"seconds                    {self.seconds:.1f} ({self.library_seconds:.1f} building the "
            f"min-bias library; {self.events_per_second:.1f} events/s on {self.workers} worker(s))"])


# ------------------------------------------------------------------- one chunk
def _load_worker_library(options: PileupOptions) -> None:
    _library["lib"] = load_library(options)


def _hard_chunk(task: tuple[int, int, int, PileupOptions]) -> dict[str, Any]:
    """Events ``first .. first + n - 1`` with pileup, as columns (the unit of parallel work)."""
    chunk, first, n, options = task
    seed = pythia_seed_of(np.random.SeedSequence(options.seed, spawn_key=(HARD_STREAM, chunk)))
    hard = generate_interactions(hard_settings(options, seed), f"process {options.process!r}",
                                 n, options.eta_max)
    library = _library["lib"]
    events, gens = [], []
    # the file's dtypes already here: half the memory and pickling of float64 columns
    dtypes = {**PARTICLE_FIELDS, TRUTH_FIELD: "bool"}
    for k in range(n):
        one = hard.take([k])
        columns = overlay_event(one, library, options, first + k)
        events.append({name: np.asarray(v, dtype=dtypes.get(name)) for name, v in columns.items()})
        gens.append(generator_truth(one, options))
    return {"events": events, "gen": gens}


def _plan(options: PileupOptions) -> list[tuple[int, int, int, PileupOptions]]:
    """(chunk index, first event, events, options) per work unit, in file order."""
    sizes = chunk_sizes(options.n_events, HARD_CHUNK_EVENTS)
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
    return [(k, first, n, options) for k, (first, n) in enumerate(zip(firsts, sizes))]


# ------------------------------------------------------------------- the file
def _event_set(events: list[dict[str, Any]], gens: list[np.ndarray], options: PileupOptions) -> EventSet:
    """The overlaid events as one :class:`EventSet` (columns joined, offsets from counts)."""
    def offsets_of(counts: list[int]) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    particles = {k: np.concatenate([e[k] for e in events]) for k in [*PARTICLE_FIELDS, TRUTH_FIELD]}
    gen_p4 = np.concatenate(gens) if gens else np.zeros((0, 4))
    met = np.array([-g[:, :2].sum(axis=0) for g in gens]).reshape(-1, 2)
    per_event = {"n_pileup": [e["n_pileup"] for e in events], "pv_z": [e["pv_z"] for e in events],
                 "gen_met_x": met[:, 0], "gen_met_y": met[:, 1]}
    return EventSet(particles, offsets_of([len(e["pt"]) for e in events]),
                    {k: np.asarray(per_event[k]) for k in EVENT_FIELDS},
                    {k: gen_p4[:, i] for i, k in enumerate(GEN_FIELDS)},
                    offsets_of([len(g) for g in gens]), _provenance(options))


def _provenance(options: PileupOptions) -> dict[str, Any]:
    from importlib.metadata import version

    import fpgakd

    settings = options.to_dict()
    settings.pop("workers")
    return {**settings, "hard_settings": hard_settings(options, 0)[:-1],
            "hard_chunk_events": HARD_CHUNK_EVENTS, "library": library_dir(options).name,
            "fpgakd_version": fpgakd.__version__, "pythia_version": version("pythia8mc")}


def generate_events(output: str | os.PathLike, options: PileupOptions, *,
                    progress: bool = True) -> EventSummary:
    """Generate ``options.n_events`` events with pileup into the event file ``output``.

    Builds (or completes) the cached minimum-bias library first. The file appears only when
    complete.

    >>> s = generate_events("events.h5", PileupOptions(mu=50, n_events=100))    # doctest: +SKIP
    >>> print(s.format_table())                                                  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    if not isinstance(options, PileupOptions):
        raise ConfigError(f"generate_events: options must be PileupOptions, got {type(options).__name__}")
    start = time.perf_counter()
    build_library(options, progress=progress)
    library_seconds = time.perf_counter() - start
    tasks = _plan(options)
    workers = min(options.workers or os.cpu_count() or 1, len(tasks))
    log.info("generating %d %s events with pileup mu = %g into %s on %d worker(s)",
             options.n_events, options.process, options.mu, output, workers)
    events: list[dict[str, Any]] = []
    gens: list[np.ndarray] = []
    with tqdm(total=options.n_events, unit="event", desc="events", disable=not progress) as bar, \
            contextlib.closing(results_in_order(_hard_chunk, tasks, workers,
                                                initializer=_load_worker_library,
                                                initargs=(options,))) as results:
        for res in results:
            events += res["events"]
            gens += res["gen"]
            bar.update(len(res["events"]))
    _library.clear()  # with one worker the library was loaded here: free it
    event_set = _event_set(events, gens, options)
    write_events(output, event_set)
    seconds = time.perf_counter() - start
    summary = EventSummary(
        path=str(output), events=event_set.n_events,
        mean_pileup=float(np.mean(event_set.events["n_pileup"])),
        mean_particles=event_set.n_particles / event_set.n_events,
        pileup_fraction=float(np.mean(event_set.particles[TRUTH_FIELD])) if event_set.n_particles else 0.0,
        seconds=seconds, library_seconds=library_seconds, workers=workers)
    log.info("wrote %s: %d events in %.1f s", output, summary.events, seconds)
    return summary


# ------------------------------------------------------------------- cached files
def events_cache_path(options: PileupOptions) -> Path:
    """Where ``options``' event file is cached: the name carries the process, mu and a hash
    of every option but the worker count (which does not change the events).

    >>> events_cache_path(PileupOptions(mu=50)).name                    # doctest: +SKIP
    'events_wjets_mu50_1a2b3c4d5e6f.h5'
    """
    settings = dataclasses.replace(options, workers=None).to_dict()
    return cache_dir() / f"events_{options.process}_mu{options.mu:g}_{options_hash(settings)}.h5"


def cached_events_path(options: PileupOptions, *, progress: bool = True) -> Path:
    """``options``' cached event file, generated on first use; a file that no longer loads is
    regenerated.

    >>> cached_events_path(PileupOptions(n_events=50), progress=False).suffix   # doctest: +SKIP
    '.h5'
    """
    target = events_cache_path(options)
    if target.exists():
        try:
            load_events(target)
            return target
        except DataError as err:
            log.warning("regenerating %s: the cached file is unusable (%s)", target, err)
    generate_events(target, options, progress=progress)
    return target


def default_events_path(*, progress: bool = True) -> Path:
    """The quickstart's event file (every option at its default), generated on first use.

    >>> default_events_path(progress=False).name                         # doctest: +SKIP
    'events_wjets_mu50_1a2b3c4d5e6f.h5'
    """
    return cached_events_path(PileupOptions(), progress=progress)
