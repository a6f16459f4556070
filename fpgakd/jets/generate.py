"""Generate labelled jets with Pythia 8 and FastJet into one fpgakd jet file.

The physics follows the hls4ml LHC jet dataset (see the layout in :mod:`fpgakd.jets.jetfile`):

* pp collisions at 13 TeV, one Pythia 8 process set per class (:data:`PROCESS_SETTINGS`);
  ``PhaseSpace:pTHatMin/Max`` bracket the jet pT window (:func:`pthat_bracket`), the window
  itself is applied to the reconstructed jets.
* Multiparton interactions, ISR, FSR, hadronization and decays stay on (Pythia's defaults,
  Monash tune): the underlying event lands inside R = 0.8 jets and changes their
  multiplicity and ungroomed mass. They are also most of Pythia's time (about 7 ms per
  1 TeV dijet event with MPI, 2.5 ms without), so ``GenerationOptions(mpi=False)`` exists
  for quick studies; files record which was used.
* Visible final-state particles (neutrinos dropped) get the detector response of the
  original dataset's processing (:func:`smear_particles`); a particle whose drawn energy
  factor is at or below zero is lost.
* Anti-kT clustering with the ``fastjet`` bindings (many events per call through their
  awkward-array interface). A jet is kept when it lies within Delta R < R of the class's
  hard object (the outgoing gluon / light quark u, d, s at ``iBotCopy()``; the last copy of
  the W, Z or top) with, for W, Z and t, every decay quark inside R of the jet axis (fully
  merged), and when its pT is in ``[pt_min, pt_max)``. Angles for matching are Delta R in
  (rapidity, azimuth), as FastJet clusters.

Work is split into chunks of ``chunk_jets`` jets per class. A chunk's Pythia seed and
smearing generator come from ``numpy.random.SeedSequence(seed, spawn_key=(class index,
chunk index))``, and chunks are written in order, so the same options give identical
files with any number of worker processes, and whatever runs them: a multiprocessing pool
(the default) or Dask (``engine="dask"``: a local cluster, or the cluster of ``scheduler``),
where each chunk is one task. The options live in :mod:`fpgakd.jets.options`,
one chunk's physics in :mod:`fpgakd.jets.chunks`, the detector response in
:mod:`fpgakd.jets.detector`; this module plans the chunks, runs them and writes the file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.atomic import atomic_path
from fpgakd.errors import ConfigError, DataError
from fpgakd.jets.chunks import generate_chunk
from fpgakd.jets.jetfile import (CLASS_NAMES, CONSTITUENT_NAMES, FORMAT_NAME, FORMAT_VERSION,
                                 HDF5_COMPRESSION, HLF_NAMES, JET_NAMES)
from fpgakd.jets.options import GenerationOptions, pythia_settings
from fpgakd.jets.workers import results_in_order

__all__ = ["GenerationSummary", "ClassSummary", "generate_jets", "ENGINES"]

log = logging.getLogger(__name__)

# HDF5 chunks of a few hundred jets suit the readers, which load contiguous slices
_HDF5_CHUNK_JETS = 256
#: what runs the chunks: a multiprocessing pool, or Dask tasks (fpgakd.cluster)
ENGINES = ("processes", "dask")


# ------------------------------------------------------------------- summary
@dataclass(frozen=True)
class ClassSummary:
    """Per-class numbers of a generated sample."""

    name: str
    jets: int
    events: int
    mean_multiplicity: float
    median_mass_mmdt: float
    median_d2_b1: float


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate_jets` produced, for the CLI and the logs.

    >>> s = GenerationSummary(path="j.h5", classes=(ClassSummary("W", 10, 8, 52.0, 80.1, 1.1),),
    ...                       elapsed_s=2.0, workers=1)
    >>> s.jets_per_second_per_core
    5.0
    """

    path: str
    classes: tuple[ClassSummary, ...]
    elapsed_s: float
    workers: int
    counts: dict[str, int] = field(default_factory=dict)
    #: worker CPU seconds per class and stage (init, pythia, cluster, features): CPU time,
    #: not wall time, so that a shared machine does not distort per-core rates
    stage_seconds: dict[str, dict[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.counts:
            object.__setattr__(self, "counts", {c.name: c.jets for c in self.classes})

    @property
    def total_jets(self) -> int:
        return sum(c.jets for c in self.classes)

    @property
    def jets_per_second_per_core(self) -> float:
        return self.total_jets / max(self.elapsed_s, 1e-9) / max(self.workers, 1)

    def format_table(self) -> str:
        """Per-class table (jets, events, mean multiplicity, median groomed mass, median D2)."""
        head = (f"{'class':<6}{'jets':>8}{'events':>9}{'mean mult':>11}"
                f"{'med m_mmdt [GeV]':>18}{'med D2(b=1)':>13}")
        lines = [head, "-" * len(head)]
        for c in self.classes:
            lines.append(f"{c.name:<6}{c.jets:>8d}{c.events:>9d}{c.mean_multiplicity:>11.1f}"
                         f"{c.median_mass_mmdt:>18.1f}{c.median_d2_b1:>13.3f}")
        lines.append(f"{self.total_jets} jets in {self.elapsed_s:.1f} s on {self.workers} "
                     f"worker(s): {self.jets_per_second_per_core:.1f} jets/s/core")
        return "\n".join(lines)


def _chunk_task(args: tuple[str, int, int, GenerationOptions]) -> dict[str, Any]:
    return generate_chunk(*args)


# ------------------------------------------------------------------- the file
def _plan(options: GenerationOptions) -> list[tuple[str, int, int, GenerationOptions]]:
    """Chunks in file order: classes in ``options.classes`` order, chunks in index order."""
    tasks = []
    for name in options.classes:
        left, k = options.jets_per_class, 0
        while left > 0:
            n = min(options.chunk_jets, left)
            tasks.append((name, k, n, options))
            left -= n
            k += 1
    return tasks


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import fpgakd

    out = {"fpgakd_version": fpgakd.__version__, "numpy_version": np.__version__}
    for key, dist in (("pythia_version", "pythia8mc"), ("fastjet_version", "fastjet"),
                      ("h5py_version", "h5py")):
        try:
            out[key] = version(dist)
        except PackageNotFoundError:
            out[key] = "unknown"
    return out


def _run_chunks(tasks: list, workers: int) -> Iterator[dict[str, Any]]:
    """Chunk results in task order, from a process pool (or in-process for one worker)."""
    return results_in_order(_chunk_task, tasks, workers)


def _in_order(futures: list) -> Iterator[dict[str, Any]]:
    for future in futures:
        yield future.result()
        future.release()   # the chunk is written: let the cluster forget it


@contextlib.contextmanager
def _chunk_results(tasks: list, workers: int, engine: str, scheduler: str | None
                   ) -> Iterator[tuple[Iterator[dict[str, Any]], int]]:
    """(chunk results in task order, worker count) from the pool or from Dask tasks."""
    if engine == "dask":
        from fpgakd.cluster import dask_client

        with dask_client(scheduler, workers=workers) as client:
            futures = client.map(_chunk_task, tasks, pure=False)
            yield _in_order(futures), len(client.scheduler_info()["workers"])
        return
    # closing(): on an error the pool's workers are stopped now, not at collection
    with contextlib.closing(_run_chunks(tasks, workers)) as results:
        yield results, workers


def _checked_engine(options: GenerationOptions, engine: str, scheduler: str | None) -> str:
    """Validate ``options`` and the engine; the engine to use (a scheduler implies Dask)."""
    if not isinstance(options, GenerationOptions):
        raise ConfigError(f"generate_jets: options must be GenerationOptions, got {type(options).__name__}")
    options.validate()
    if scheduler is not None:
        engine = "dask"
    if engine not in ENGINES:
        raise ConfigError(f"engine: got {engine!r}, allowed: {', '.join(ENGINES)}")
    return engine


def _create_datasets(f: Any, n_total: int, n_constituents: int) -> dict[str, Any]:
    """The file's empty per-jet datasets (by name) and its column/class name lists."""
    import h5py

    P = n_constituents
    gz = HDF5_COMPRESSION
    str_dt = h5py.string_dtype()
    datasets = {
        "hlf": f.create_dataset("hlf", (n_total, len(HLF_NAMES)), dtype="f4", **gz),
        "constituents": f.create_dataset(
            "constituents", (n_total, P, len(CONSTITUENT_NAMES)), dtype="f4",
            chunks=(min(n_total, _HDF5_CHUNK_JETS), P, len(CONSTITUENT_NAMES)), **gz),
        "mask": f.create_dataset("mask", (n_total, P), dtype=bool, **gz),
        "labels": f.create_dataset("labels", (n_total,), dtype="i8", **gz),
        "jets": f.create_dataset("jets", (n_total, len(JET_NAMES)), dtype="f4", **gz),
    }
    f.create_dataset("hlf_names", data=list(HLF_NAMES), dtype=str_dt)
    f.create_dataset("constituent_names", data=list(CONSTITUENT_NAMES), dtype=str_dt)
    f.create_dataset("class_names", data=list(CLASS_NAMES), dtype=str_dt)
    f.create_dataset("jet_names", data=list(JET_NAMES), dtype=str_dt)
    return datasets


def _write_chunks(datasets: dict[str, Any], results: Iterator[dict[str, Any]],
                  events: dict[str, int], timing: dict[str, dict[str, float]], bar: Any) -> int:
    """Write the chunk results one after another; add up events and stage times per class.

    Returns the number of jets written.
    """
    row = 0
    for res in results:
        name = res["class_name"]
        n = len(res["hlf"])
        sl = slice(row, row + n)
        for key in ("hlf", "constituents", "mask", "jets"):
            datasets[key][sl] = res[key]
        datasets["labels"][sl] = CLASS_NAMES.index(name)
        events[name] += res["events"]
        for k, v in res["timing"].items():
            timing[name][k] = timing[name].get(k, 0.0) + v
        row += n
        bar.update(n)
    return row


def _file_attrs(options: GenerationOptions, counts: dict[str, int],
                events: dict[str, int]) -> dict[str, Any]:
    """The file's attributes: format, versions, options, counts and Pythia settings."""
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **_versions(),
            "seed": int(options.seed), "options": json.dumps(options.to_dict()),
            "counts": json.dumps(counts),
            "events": json.dumps(events),
            "pythia_settings": json.dumps({c: pythia_settings(c, options, 0)[:-1]
                                           for c in options.classes}),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def generate_jets(output: str | os.PathLike, options: GenerationOptions, *,
                  progress: bool = True, engine: str = "processes",
                  scheduler: str | None = None) -> GenerationSummary:
    """Generate ``options.jets_per_class`` jets per class into the HDF5 file ``output``.

    The file (layout in :mod:`fpgakd.jets.jetfile`, gzip-compressed, jets grouped by class in
    ``options.classes`` order) appears only when complete: an error or Ctrl-C leaves
    nothing at ``output``. ``engine="dask"`` runs the chunks as Dask tasks, on a local
    cluster of ``options.workers`` processes or on the running cluster at ``scheduler``
    (which implies Dask); the arrays are the same as with the default process pool.

    >>> summary = generate_jets("jets.h5", GenerationOptions(jets_per_class=200, seed=1))  # doctest: +SKIP
    >>> print(summary.format_table())                                                      # doctest: +SKIP
    """
    import h5py
    from tqdm.auto import tqdm

    engine = _checked_engine(options, engine, scheduler)
    output = Path(output)
    tasks = _plan(options)
    workers = min(options.workers or os.cpu_count() or 1, len(tasks))
    n_total = options.jets_per_class * len(options.classes)
    log.info("generating %d jets per class (%s) into %s on %s, pTHat %s GeV",
             options.jets_per_class, ",".join(options.classes), output,
             scheduler or f"{workers} {engine} worker(s)", options.pthat_range)
    events = {name: 0 for name in options.classes}
    timing: dict[str, dict[str, float]] = {name: {} for name in options.classes}
    start = time.perf_counter()
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as f, \
            tqdm(total=n_total, unit="jet", desc="generate", disable=not progress) as bar:
        datasets = _create_datasets(f, n_total, options.n_constituents)
        with _chunk_results(tasks, workers, engine, scheduler) as (results, workers):
            row = _write_chunks(datasets, results, events, timing, bar)
        if row != n_total:  # would be a bug in the chunk plan, never silently write it
            raise DataError(f"{output}: wrote {row} jets, expected {n_total}")
        elapsed = time.perf_counter() - start
        counts = {name: options.jets_per_class for name in options.classes}
        f.attrs.update(_file_attrs(options, counts, events))
        summaries = _class_summaries(f, options, events)
    log.info("wrote %s: %d jets in %.1f s; cpu seconds per class and stage: %s", output,
             n_total, elapsed, json.dumps({c: {k: round(v, 1) for k, v in t.items()}
                                           for c, t in timing.items()}))
    return GenerationSummary(path=str(output), classes=summaries, elapsed_s=elapsed,
                             workers=workers, counts=counts, stage_seconds=timing)


def _class_summaries(f: Any, options: GenerationOptions, events: dict[str, int]
                     ) -> tuple[ClassSummary, ...]:
    hlf = f["hlf"][...]
    labels = f["labels"][...]
    i_mult = HLF_NAMES.index("j_multiplicity")
    i_mass = HLF_NAMES.index("j_mass_mmdt")
    i_d2 = HLF_NAMES.index("j_d2_b1_mmdt")
    out = []
    for name in options.classes:
        sel = hlf[labels == CLASS_NAMES.index(name)]
        out.append(ClassSummary(name=name, jets=len(sel), events=events[name],
                                mean_multiplicity=float(np.mean(sel[:, i_mult])),
                                median_mass_mmdt=float(np.median(sel[:, i_mass])),
                                median_d2_b1=float(np.median(sel[:, i_d2]))))
    return tuple(out)
