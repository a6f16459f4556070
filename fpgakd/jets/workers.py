"""Work units on a pool of worker processes (or in this process for one worker), results
in task order, workers stopped on any error or interrupt.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["results_in_order", "ignore_interrupts", "chunk_sizes"]


def ignore_interrupts(initializer: Callable[..., None] | None = None, *args: Any) -> None:
    """Worker start-up: ignore Ctrl-C, then run ``initializer(*args)``.

    Ctrl-C reaches the whole process group: the parent stops the pool and cleans up, so the
    workers should not each print a KeyboardInterrupt traceback. SIGTERM keeps its default:
    it is how the pool stops them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*args)


def results_in_order(function: Callable[[Any], Any], tasks: Sequence[Any], workers: int, *,
                     initializer: Callable[..., None] | None = None,
                     initargs: tuple = ()) -> Iterator[Any]:
    """``function(task)`` for each task, yielded in task order, on ``workers`` processes.

    ``initializer(*initargs)`` runs once per worker (once here for one worker). Close the
    iterator (``contextlib.closing``) to stop the workers early.

    >>> list(results_in_order(abs, [-1, 2], workers=1))
    [1, 2]
    """
    if workers <= 1:
        if initializer is not None:
            initializer(*initargs)
        for task in tasks:
            yield function(task)
        return
    # spawn: fork would copy the parent's threads (TensorFlow, tqdm) into the workers
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=ignore_interrupts, initargs=(initializer, *initargs)) as pool:
        # the pool is terminated on any exception, Ctrl-C included, by the with block
        yield from pool.imap(function, tasks)


def chunk_sizes(total: int, per_chunk: int) -> list[int]:
    """``total`` items in work units of ``per_chunk`` (the last one smaller).

    >>> chunk_sizes(1200, 500)
    [500, 500, 200]
    """
    full, rest = divmod(total, per_chunk)
    return [per_chunk] * full + ([rest] if rest else [])
