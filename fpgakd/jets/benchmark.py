"""The benchmark jet set: 150,000 jets (30,000 per class), generated once in resumable parts.

The embedded default (:func:`fpgakd.jets.loading.default_jets_path`, 30,000 jets) keeps the
quickstart short; figures that need more statistics -- the KD frontier, whose goal is a
1.5-point accuracy gap between students -- come from this set, and say so. It is a directory of ``BENCHMARK_PARTS`` ordinary fpgakd jet files
in the cache (``load_jets`` reads a directory as the concatenation of its files). Each part
is one :func:`~fpgakd.jets.generate.generate_jets` call with its own seed, written
atomically, so an interrupted generation resumes at the first missing part; the directory
is handed out only once the hidden ``.complete`` marker says every part is there.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from fpgakd.cache import cache_dir
from fpgakd.errors import DataError
from fpgakd.jets.options import GenerationOptions

__all__ = ["BENCHMARK_JETS_PER_CLASS", "BENCHMARK_PARTS", "BENCHMARK_SEED", "benchmark_part_options",
           "benchmark_jets_dir"]

log = logging.getLogger(__name__)

#: 30,000 jets per class, 150,000 in all: 30,000 test jets, so the frontier's 1.5-point
#: accuracy gaps stand well above their statistical error (a few tenths of a point)
BENCHMARK_JETS_PER_CLASS = 30_000
BENCHMARK_SEED = 20261130
#: resumable units: 3,000 jets per class each, about 2 minutes of 2 cores
BENCHMARK_PARTS = 10
COMPLETE_MARKER = ".complete"


def benchmark_part_options(part: int, *, workers: int | None = None,
                           jets_per_class: int = BENCHMARK_JETS_PER_CLASS,
                           parts: int = BENCHMARK_PARTS, seed: int = BENCHMARK_SEED) -> GenerationOptions:
    """Generation options of one part; its seed derives from (``seed``, ``part``).

    >>> benchmark_part_options(0).jets_per_class
    3000
    """
    if jets_per_class % parts:
        raise DataError(f"benchmark set: {jets_per_class} jets per class do not split into {parts} parts")
    part_seed = int(np.random.SeedSequence(seed, spawn_key=(part,)).generate_state(1)[0])
    return GenerationOptions(jets_per_class=jets_per_class // parts, seed=part_seed, workers=workers)


def _set_dir(jets_per_class: int, parts: int, seed: int) -> Path:
    from fpgakd.jets.loading import _options_hash

    first = dataclasses.replace(benchmark_part_options(0, jets_per_class=jets_per_class, parts=parts,
                                                       seed=seed), seed=seed)
    return cache_dir() / f"benchmark_jets_{parts}x_{_options_hash(first)}"


def benchmark_jets_dir(*, progress: bool = True, workers: int | None = None, engine: str = "processes",
                       scheduler: str | None = None, jets_per_class: int = BENCHMARK_JETS_PER_CLASS,
                       parts: int = BENCHMARK_PARTS, seed: int = BENCHMARK_SEED) -> Path:
    """The benchmark set's directory, generating the parts still missing (tens of minutes).

    >>> from fpgakd.jets.loading import load_jets
    >>> load_jets(benchmark_jets_dir()).n_jets                     # doctest: +SKIP
    150000
    """
    from fpgakd.jets.loading import load_jets
    from fpgakd.jets.generate import generate_jets

    target = _set_dir(jets_per_class, parts, seed)
    if (target / COMPLETE_MARKER).is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    for part in range(parts):
        path = target / f"part_{part:03d}.h5"
        if path.is_file():
            try:
                load_jets(path, format="fpgakd")
                continue
            except DataError as err:
                log.warning("regenerating %s: %s", path, err)
        log.info("benchmark set: part %d of %d into %s", part + 1, parts, path)
        generate_jets(path, benchmark_part_options(part, workers=workers, jets_per_class=jets_per_class,
                                                   parts=parts, seed=seed),
                      progress=progress, engine=engine, scheduler=scheduler)
    (target / COMPLETE_MARKER).write_text(f"{parts} parts, {jets_per_class} jets per class\n")
    return target

