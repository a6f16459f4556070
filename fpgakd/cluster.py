"""Dask for fpgakd's fan-out work (jet generation chunks, scan points): one client, local or remote.

:func:`dask_client` yields a ``distributed.Client``: over a ``LocalCluster`` sized to the
cores, one single-threaded worker *process* per core, by default; connected to a running
scheduler when an address is given. Every worker runs TensorFlow, OpenMP and BLAS with one
thread (:data:`WORKER_ENV`), so N workers use N cores rather than N x N threads. The same
environment goes into the job scripts of a SLURM cluster (:func:`slurm_cluster_options`).

Dask itself is imported inside the functions: ``import fpgakd.cluster`` stays light, and
Dask is needed only by those who use it (the ``scan`` extra).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from fpgakd.errors import FpgakdError

__all__ = ["WORKER_ENV", "CONNECT_TIMEOUT_S", "dask_client", "default_workers",
           "slurm_cluster_options", "worker_label"]

log = logging.getLogger(__name__)

#: Thread counts of every worker process: one core each. TensorFlow reads the TF_ variables
#: when it starts; OpenMP and BLAS read theirs when loaded, hence also set before spawning.
WORKER_ENV = {"FPGAKD_TF_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
              "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "TF_CPP_MIN_LOG_LEVEL": "3"}
#: read when a library loads (OpenMP, BLAS), so set before the worker process is spawned;
#: the Nanny does that by setting them in its own process, which dask_client undoes after
_PRE_SPAWN_KEYS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: how long to wait for a remote scheduler before saying it is unreachable
CONNECT_TIMEOUT_S = 10


def default_workers() -> int:
    """Worker processes of a local cluster: the cores this process may use.

    >>> default_workers() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        return os.cpu_count() or 1


def _missing_dask(err: ImportError) -> FpgakdError:
    return FpgakdError(f"Dask is not installed ({err.name}): pip install 'fpgakd[scan]'")


def _local_cluster(workers: int) -> Any:
    import dask
    from distributed import LocalCluster

    # pre-spawn: set in the environment the worker process starts with, before numpy or
    # TensorFlow load their thread pools (the Nanny keeps it for restarted workers too)
    pre_spawn = {k: WORKER_ENV[k] for k in _PRE_SPAWN_KEYS}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": pre_spawn}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            env=dict(WORKER_ENV), dashboard_address=":0")


def _connect(scheduler: str, timeout_s: float) -> Any:
    from distributed import Client

    try:
        return Client(scheduler, timeout=timeout_s)
    except (OSError, TimeoutError) as err:
        raise FpgakdError(f"{scheduler}: no Dask scheduler answered within {timeout_s:g} s "
                          f"({type(err).__name__}); start one (dask scheduler, dask-jobqueue) "
                          "or drop --scheduler for a local cluster") from None


def _log_dashboard(client: Any) -> None:
    services = client.scheduler_info().get("services", {})
    if "dashboard" in services:
        log.info("Dask dashboard: %s", client.dashboard_link)
    else:
        log.info("Dask scheduler %s (no dashboard: install bokeh>=3.1 for one)",
                 client.scheduler.address)


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, *, workers: int | None = None,
                timeout_s: float = CONNECT_TIMEOUT_S) -> Iterator[Any]:
    """A ``distributed.Client``: on ``scheduler`` if given, else on a new ``LocalCluster``.

    The local cluster has ``workers`` processes (default: the cores) of one thread each
    and is shut down when the block ends, by an exception or Ctrl-C too. An unreachable
    scheduler raises :class:`~fpgakd.errors.FpgakdError` after ``timeout_s`` seconds.

    >>> with dask_client(workers=2) as client:                        # doctest: +SKIP
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    try:
        import distributed  # noqa: F401
    except ImportError as err:
        raise _missing_dask(err) from None
    if scheduler is not None:
        client = _connect(scheduler, timeout_s)
        with client:
            _log_dashboard(client)
            yield client
        return
    from distributed import Client

    saved = {k: os.environ.get(k) for k in _PRE_SPAWN_KEYS}
    try:
        with _local_cluster(workers or default_workers()) as cluster, Client(cluster) as client:
            _log_dashboard(client)
            yield client
    finally:
        for key, value in saved.items():   # this process keeps its own thread counts
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def worker_label() -> str:
    """Where the calling task runs: the Dask worker's address, or ``local`` outside Dask.

    >>> worker_label()
    'local'
    """
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def slurm_cluster_options(*, cores: int, memory: str, walltime: str = "04:00:00",
                          queue: str | None = None, account: str | None = None,
                          python: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``dask_jobqueue.SLURMCluster``: one single-threaded worker per core.

    Each job runs ``cores`` worker processes (``processes=cores``), each with one thread
    and :data:`WORKER_ENV` exported by the job script, as the local cluster does.

    >>> from dask_jobqueue import SLURMCluster                         # doctest: +SKIP
    >>> cluster = SLURMCluster(**slurm_cluster_options(cores=8, memory="16GB"))  # doctest: +SKIP
    >>> cluster.scale(jobs=10)                                         # doctest: +SKIP
    """
    options: dict[str, Any] = {
        "cores": cores, "processes": cores, "memory": memory, "walltime": walltime,
        "job_script_prologue": [f"export {k}={v}" for k, v in WORKER_ENV.items()],
    }
    if queue is not None:
        options["queue"] = queue
    if account is not None:
        options["account"] = account
    if python is not None:
        options["python"] = python
    return options
