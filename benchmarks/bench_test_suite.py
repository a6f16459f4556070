#!/usr/bin/env python
"""Benchmark (not a test): where the test suite's time goes, per worker, per module and per test.

As a pytest plugin it appends one JSON line per test phase (setup, call, teardown) with the
pytest-xdist worker, the test's id and its start and end (wall clock) to ``$SUITE_TIMELINE``
(default ``suite_timeline.jsonl``); as a script it summarises such a file:

    rm -f suite_timeline.jsonl
    PYTHONPATH=benchmarks pytest -p bench_test_suite --runslow -n auto --maxprocesses 4 --dist loadgroup
    python benchmarks/bench_test_suite.py suite_timeline.jsonl --top 20

Printed: each worker's busy seconds and when it finished, the phases' sum, the modules by
their summed seconds (and the workers they ran on), the slowest tests, and the share of the
tests under a second. pytest's own ``--durations`` gives the per-test part but not which
worker was busy when, which is what says whether the suite waits on one long group.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path

import pytest

#: the environment variable naming the timeline file, and its default
TIMELINE_ENV, DEFAULT_TIMELINE = "SUITE_TIMELINE", "suite_timeline.jsonl"
#: tests shorter than this many seconds (all phases) are counted as "quick"
QUICK_SECONDS = 1.0


def _record(item: pytest.Item, phase: str, start: float) -> None:
    row = {"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "id": item.nodeid, "phase": phase,
           "start": start, "end": time.time()}
    # one short line per write in append mode: the workers' lines do not interleave
    with open(os.environ.get(TIMELINE_ENV, DEFAULT_TIMELINE), "a") as f:
        f.write(json.dumps(row) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    start = time.time()
    yield
    _record(item, "setup", start)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    start = time.time()
    yield
    _record(item, "call", start)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item):
    start = time.time()
    yield
    _record(item, "teardown", start)


def summarize(rows: list[dict], top: int = 10) -> list[str]:
    """The summary's lines for the timeline ``rows``.

    >>> rows = [{"worker": "gw0", "id": "tests/test_a.py::t1", "phase": "call", "start": 0.0, "end": 3.0},
    ...         {"worker": "gw1", "id": "tests/test_b.py::t2", "phase": "call", "start": 0.0, "end": 0.5}]
    >>> summarize(rows, top=1)[0]
    'gw0: busy 3 s, finished at 3 s'
    """
    t0 = min(r["start"] for r in rows)
    busy, finished = collections.defaultdict(float), collections.defaultdict(float)
    per_module, per_test = collections.defaultdict(float), collections.defaultdict(float)
    module_workers = collections.defaultdict(set)
    for r in rows:
        seconds = r["end"] - r["start"]
        busy[r["worker"]] += seconds
        finished[r["worker"]] = max(finished[r["worker"]], r["end"] - t0)
        module = r["id"].split("::")[0]
        per_module[module] += seconds
        module_workers[module].add(r["worker"])
        per_test[r["id"]] += seconds
    total = sum(busy.values())
    lines = [f"{w}: busy {busy[w]:.0f} s, finished at {finished[w]:.0f} s" for w in sorted(busy)]
    lines.append(f"phases' sum: {total:.0f} s over {len(per_test)} tests")
    lines.append("modules:")
    lines += [f"  {s:7.1f} s {100 * s / total:5.1f}%  {m} ({', '.join(sorted(module_workers[m]))})"
              for m, s in sorted(per_module.items(), key=lambda kv: -kv[1])[:top]]
    lines.append("tests:")
    lines += [f"  {s:7.1f} s  {t}" for t, s in sorted(per_test.items(), key=lambda kv: -kv[1])[:top]]
    quick = [s for s in per_test.values() if s < QUICK_SECONDS]
    lines.append(f"{len(quick)} of {len(per_test)} tests under {QUICK_SECONDS:g} s, {sum(quick):.0f} s together")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("timeline", nargs="?", default=DEFAULT_TIMELINE, help="the plugin's JSON lines")
    parser.add_argument("--top", type=int, default=15, help="modules and tests listed")
    args = parser.parse_args(argv)
    path = Path(args.timeline)
    try:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as err:
        print(f"{path}: cannot read the timeline ({err})", file=sys.stderr)
        return 2
    if not rows:
        print(f"{path}: no test phases recorded", file=sys.stderr)
        return 2
    print("\n".join(summarize(rows, args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
