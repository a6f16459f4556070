"""The seeded, reusable library of minimum-bias interactions that pileup is drawn from.

Pythia makes about 300 minimum-bias events per second per core, so one mu = 140 event
would cost half a second of one core if its overlay were generated afresh. Instead, a library
of ``library_size`` events (``SoftQCD:nonDiffractive``, 14 TeV) is built once, in chunks of
``LIBRARY_CHUNK_EVENTS`` on worker processes, and cached under
``cache_dir()/minbias/<key>/``. Chunk k is seeded by (library seed, k) alone, so a chunk
file is the same whatever the library size, worker count or hard process; the key hashes
everything else that determines it (settings, acceptance, versions). Each finished chunk is
written atomically at once: an interrupted build resumes where it stopped, and a larger
library reuses the chunks of a smaller one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

import numpy as np

from fpgakd.atomic import atomic_path
from fpgakd.cache import cache_dir
from fpgakd.errors import DataError
from fpgakd.jets.events.interactions import Interactions, concat_interactions, generate_interactions
from fpgakd.jets.events.options import PileupOptions, minbias_settings, options_hash
from fpgakd.jets.pythia_source import pythia_seed_of
from fpgakd.jets.workers import chunk_sizes, results_in_order

__all__ = ["LIBRARY_CHUNK_EVENTS", "library_dir", "build_library", "load_library", "minbias_library"]

log = logging.getLogger(__name__)

#: min-bias events per chunk file: ~1.5 s of Pythia, ~2 MB on disk
LIBRARY_CHUNK_EVENTS = 500
#: bumped when the chunk layout changes, so that old chunks are never read
_LIBRARY_FORMAT = 1
_FLOAT = np.float32  # stored precision: far below the detector response's


def library_dir(options: PileupOptions) -> Path:
    """The cache folder of ``options``' library: keyed by everything that makes its chunks.

    >>> library_dir(PileupOptions()).parent.name                      # doctest: +SKIP
    'minbias'
    """
    from importlib.metadata import version

    key = options_hash({"format": _LIBRARY_FORMAT, "seed": options.library_seed,
                        "settings": minbias_settings(0)[:-1], "eta_max": options.eta_max,
                        "chunk_events": LIBRARY_CHUNK_EVENTS, "pythia": version("pythia8mc")})
    return cache_dir() / "minbias" / key


def _chunk_path(folder: Path, index: int, n_events: int) -> Path:
    return folder / f"chunk_{index:05d}_{n_events}.npz"


def _library_chunk(task: tuple[int, int, int, float]) -> tuple[int, Interactions]:
    """(index, interactions) of chunk ``index``: ``n`` events, Pythia seeded by (seed, index)."""
    index, n, library_seed, eta_max = task
    seed = pythia_seed_of(np.random.SeedSequence(library_seed, spawn_key=(index,)))
    return index, generate_interactions(minbias_settings(seed), f"min-bias chunk {index}", n, eta_max)


def _save_chunk(path: Path, chunk: Interactions) -> None:
    arrays = chunk.arrays()
    arrays["p4"], arrays["vertex"] = arrays["p4"].astype(_FLOAT), arrays["vertex"].astype(_FLOAT)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def build_library(options: PileupOptions, *, progress: bool = True) -> Path:
    """Generate the chunks of ``options``' library that are not cached yet; its folder.

    >>> build_library(PileupOptions(library_size=1000), progress=False)   # doctest: +SKIP
    PosixPath('/home/me/.cache/fpgakd/minbias/3f2a9c01d4e7')
    """
    from tqdm.auto import tqdm

    folder = library_dir(options)
    folder.mkdir(parents=True, exist_ok=True)
    sizes = chunk_sizes(options.library_size, LIBRARY_CHUNK_EVENTS)
    tasks = [(k, n, options.library_seed, options.eta_max) for k, n in enumerate(sizes)
             if not _chunk_path(folder, k, n).is_file()]
    if not tasks:
        return folder
    workers = min(options.workers or os.cpu_count() or 1, len(tasks))
    log.info("building the min-bias library: %d of %d chunks into %s on %d worker(s)",
             len(tasks), len(sizes), folder, workers)
    start = time.perf_counter()
    with tqdm(total=sum(t[1] for t in tasks), unit="event", desc="min-bias library",
              disable=not progress) as bar, \
            contextlib.closing(results_in_order(_library_chunk, tasks, workers)) as results:
        for index, chunk in results:
            _save_chunk(_chunk_path(folder, index, chunk.n_events), chunk)
            bar.update(chunk.n_events)
    log.info("min-bias library: %d events in %.1f s", sum(t[1] for t in tasks),
             time.perf_counter() - start)
    return folder


def load_library(options: PileupOptions) -> Interactions:
    """The library of ``options`` from its cached chunks (all must exist: :func:`build_library`).

    >>> load_library(PileupOptions(library_size=1000)).n_events       # doctest: +SKIP
    1000
    """
    folder = library_dir(options)
    parts = []
    for k, n in enumerate(chunk_sizes(options.library_size, LIBRARY_CHUNK_EVENTS)):
        path = _chunk_path(folder, k, n)
        try:
            with np.load(path) as f:
                parts.append(Interactions(f["p4"], f["vertex"], f["pdg_id"], f["charge"], f["offsets"]))
        except (OSError, KeyError, ValueError) as err:
            raise DataError(f"{path}: min-bias library chunk unreadable ({err}); delete it to "
                            "regenerate it") from None
    return concat_interactions(parts)


def minbias_library(options: PileupOptions, *, progress: bool = True) -> Interactions:
    """The library of ``options``, built (or completed) first if needed.

    >>> minbias_library(PileupOptions(library_size=200), progress=False).n_events  # doctest: +SKIP
    200
    """
    build_library(options, progress=progress)
    return load_library(options)

