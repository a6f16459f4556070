"""The suite-timeline plugin records every phase of every test, and its summary adds them up."""

import json
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_the_plugin_records_each_phase_and_the_summary_counts_the_tests(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_two.py").write_text("def test_slow():\n    pass\n\ndef test_quick():\n    pass\n")
    timeline = tmp_path / "timeline.jsonl"
    # run under pytest-xdist, this test's own worker name would be inherited
    env = {**{k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"},
           "PYTHONPATH": str(BENCHMARKS), "SUITE_TIMELINE": str(timeline)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "bench_test_suite", "-p", "no:cacheprovider",
                           "test_two.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [json.loads(line) for line in timeline.read_text().splitlines()]
    assert sorted((r["id"], r["phase"]) for r in rows) == sorted(
        (f"test_two.py::{t}", p) for t in ("test_slow", "test_quick") for p in ("setup", "call", "teardown"))
    assert all(r["worker"] == "main" and r["end"] >= r["start"] for r in rows)

    # the summary of that file, with test_slow's call made to last 2 s
    for r in rows:
        if r["id"].endswith("test_slow") and r["phase"] == "call":
            r["end"] = r["start"] + 2.0
    timeline.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = subprocess.run([sys.executable, str(BENCHMARKS / "bench_test_suite.py"), str(timeline)],
                             capture_output=True, text=True, check=True).stdout
    assert "over 2 tests" in summary and "1 of 2 tests under 1 s" in summary
    assert summary.index("test_two.py::test_slow") < summary.index("test_two.py::test_quick")


def test_an_unreadable_timeline_is_named_in_one_line(tmp_path):
    bad = tmp_path / "t.jsonl"
    bad.write_text("{not json\n")
    done = subprocess.run([sys.executable, str(BENCHMARKS / "bench_test_suite.py"), str(bad)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and str(bad) in done.stderr and done.stderr.count("\n") == 1
