"""``fpgakd scan``, the run: validate, sample, share data and teacher, fan out on Dask, collect rows.

Steps of :func:`run_scan`: load the scan YAML and resolve every point (all errors before any
work); connect to ``scheduler`` if one is given (an unreachable one fails here, having
written nothing); load the jets, find or train the teacher and compute the soft targets
once, in this process, into the cache the workers then read; skip the points whose row is
already in the table; start a local cluster if no scheduler was given; submit one task per
point and write each row as it arrives; plot the fronts.

Ctrl-C or SIGTERM (a ``KeyboardInterrupt``) cancels the remaining tasks and shuts the local
cluster down; the table holds every point finished until then, never half a row.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpgakd.errors import ConfigError
from fpgakd.scan.points import (ResolvedPoint, failed_row, point_key, point_task, point_work, resolve_point,
                                 run_point)
from fpgakd.scan.sampling import sample_choices
from fpgakd.scan.spec import ScanConfig, load_scan_config
from fpgakd.scan.table import TABLE_NAME, ResultsTable

__all__ = ["ScanSummary", "run_scan", "DEFAULT_SCANS_DIR", "PLOT_NAME"]

log = logging.getLogger(__name__)

DEFAULT_SCANS_DIR = Path("scans")
PLOT_NAME = "fronts.png"
RESOLVED_NAME = "scan.yaml"


@dataclass(frozen=True)
class ScanSummary:
    """What :func:`run_scan` did: points in the scan, skipped (already done), run, failed."""

    scan_dir: Path
    table: Path
    plot: Path
    n_points: int
    n_skipped: int
    n_run: int
    n_failed: int
    seconds: float


@dataclass(frozen=True)
class _Shared:
    """What every point shares: the jet file, the teacher, and where the soft targets are."""

    jets: Path
    teacher: Path
    soft_targets: Path
    fingerprint: str
    teacher_identity: str


def _resolve_points(scan: ScanConfig, source: str) -> list[ResolvedPoint]:
    points = [resolve_point(scan, choice, source) for choice in sample_choices(scan, source)]
    split_seeds = {p.model.training.split_seed for p in points}
    if len(split_seeds) > 1:
        raise ConfigError(f"{source}: key 'training.split_seed' differs between points "
                          f"({sorted(split_seeds)}): they share one teacher, trained on one split")
    return points


def _share_data_and_teacher(scan: ScanConfig, split_seed: int, cache_dir: Path | None,
                            progress: bool) -> _Shared:
    """Jets, teacher and soft targets, computed here once so that no worker repeats them."""
    from fpgakd.cache import cache_dir as default_cache
    from fpgakd.jets.loading import default_jets_path, load_jets
    from fpgakd.learn.distillation import default_teacher_dir
    from fpgakd.learn.soft_targets import load_teacher_source, member_logits

    jets = Path(scan.jets).expanduser() if scan.jets else default_jets_path(progress=progress)
    dataset = load_jets(jets)
    if scan.teacher:
        teacher = Path(scan.teacher).expanduser()
    else:
        teacher = default_teacher_dir(jets, dataset, split_seed=split_seed, progress=progress)
    soft = Path(cache_dir) if cache_dir else default_cache() / "soft_targets"
    # a teacher directory, a Keras file or a distill run (a teacher assistant), as for distill
    member_logits(teacher, dataset, cache_dir=soft, progress=progress)
    return _Shared(jets, teacher, soft, dataset.fingerprint(), load_teacher_source(teacher).identity)


def _tasks(points: list[ResolvedPoint], scan: ScanConfig, shared: _Shared,
           scan_dir: Path) -> list[dict[str, Any]]:
    tasks: dict[str, dict[str, Any]] = {}
    for point in points:   # random draws may repeat a point: run it once
        key = point_key(point, shared.fingerprint, shared.teacher_identity, scan.csim_jets)
        tasks.setdefault(key, point_task(point, key, jets=shared.jets, teacher=shared.teacher,
                                         soft_targets=shared.soft_targets, scan_dir=scan_dir,
                                         csim_jets=scan.csim_jets, keep_project=scan.keep_projects))
    return list(tasks.values())


def _remove_stale_temporaries(scan_dir: Path) -> None:
    # a worker killed mid-point leaves its run or project under a temporary name
    for folder in ("runs", "hls"):
        for stale in (scan_dir / folder).glob(".*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)


def _collect(client: Any, tasks: list[dict[str, Any]], table: ResultsTable, retries: int,
             progress: bool) -> int:
    """Submit one task per point, write each row as it arrives; return how many failed."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    started = time.time()
    # the longest points first: a long one started last would keep one worker busy alone
    ordered = sorted(tasks, key=point_work, reverse=True)
    futures = {client.submit(run_point, task, key=f"scan-point-{task['key']}", retries=retries,
                             pure=False, priority=len(ordered) - rank): task
               for rank, task in enumerate(ordered)}
    failed = 0
    try:
        for future in tqdm(as_completed(futures), total=len(futures), desc="scan", unit="point",
                           disable=not progress):
            task = futures[future]
            if future.status == "finished":
                row = future.result()
            else:   # raised after its retries, or its worker died too often (KilledWorker)
                row = failed_row(task, future.exception(), time.time() - started)
            failed += row["status"] != "ok"
            table.add(row)
            future.release()
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:   # Ctrl-C: stop what is still queued or running
            client.cancel(pending)
    return failed


def _finish(table: ResultsTable, scan_dir: Path) -> Path:
    from fpgakd.scan.pareto import plot_fronts

    table.write()
    return plot_fronts(table.frame(), scan_dir / PLOT_NAME)


def run_scan(config_path: str | os.PathLike, scan_dir: str | os.PathLike | None = None, *,
             scheduler: str | None = None, workers: int | None = None,
             cache_dir: str | os.PathLike | None = None, progress: bool = True) -> ScanSummary:
    """Run the scan of ``config_path`` into ``scan_dir`` (default ``scans/<name>``); resumable.

    ``scheduler``: address of a running Dask scheduler (``tcp://host:8786``); else a local
    cluster of ``workers`` single-threaded processes (default: the cores, at most one per
    point). ``cache_dir``: where the soft targets go (default: the fpgakd cache).

    >>> s = run_scan("scans/example.yaml", workers=2)            # doctest: +SKIP
    >>> s.n_points, s.n_failed, s.table                          # doctest: +SKIP
    (8, 0, PosixPath('scans/example/results.parquet'))
    """
    from fpgakd.cluster import dask_client, default_workers
    from fpgakd.config import dump_config

    started = time.time()
    scan = load_scan_config(config_path)
    points = _resolve_points(scan, str(config_path))
    scan_dir = Path(scan_dir) if scan_dir else DEFAULT_SCANS_DIR / scan.name
    with contextlib.ExitStack() as stack:
        # a remote scheduler is checked first: unreachable, it costs nothing and writes nothing
        client = stack.enter_context(dask_client(scheduler)) if scheduler else None
        shared = _share_data_and_teacher(scan, points[0].model.training.split_seed,
                                         Path(cache_dir) if cache_dir else None, progress)
        tasks = _tasks(points, scan, shared, scan_dir)
        table = ResultsTable(scan_dir)
        todo = [t for t in tasks if t["key"] not in table.done_keys()]
        log.info("scan %s: %d points, %d already done, %d to run", scan.name, len(tasks),
                 len(tasks) - len(todo), len(todo))
        dump_config(scan, scan_dir / RESOLVED_NAME)
        _remove_stale_temporaries(scan_dir)
        # last out: once the cluster is closed (its workers stopped mid-point by Ctrl-C or
        # SIGTERM), what they were writing under temporary names goes too
        stack.callback(_remove_stale_temporaries, scan_dir)
        failed = 0
        if todo:
            if client is None:
                n_workers = min(workers or default_workers(), len(todo))
                client = stack.enter_context(dask_client(None, workers=n_workers))
            failed = _collect(client, todo, table, scan.retries, progress)
    plot = _finish(table, scan_dir)
    return ScanSummary(scan_dir, scan_dir / TABLE_NAME, plot, len(tasks),
                       len(tasks) - len(todo), len(todo), failed, time.time() - started)
