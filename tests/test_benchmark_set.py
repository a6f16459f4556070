"""The benchmark jet set: parts with their own seeds, resumed at the first missing part."""

from __future__ import annotations

import numpy as np
import pytest

from fpgakd.jets.benchmark import COMPLETE_MARKER, benchmark_jets_dir, benchmark_part_options
from fpgakd.jets.loading import load_jets


def test_parts_have_distinct_seeds_and_split_the_jets():
    a, b = benchmark_part_options(0), benchmark_part_options(1)
    assert a.seed != b.seed and a.jets_per_class * 10 == 30_000


@pytest.mark.slow
def test_an_interrupted_set_resumes_with_only_the_missing_part(tmp_path, monkeypatch):
    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path))
    small = dict(jets_per_class=4, parts=2, seed=3, workers=1, progress=False)
    first = benchmark_jets_dir(**small)
    assert (first / COMPLETE_MARKER).is_file() and load_jets(first).n_jets == 20
    kept = (first / "part_000.h5").stat().st_mtime_ns
    redone = load_jets(first / "part_001.h5").hlf
    (first / COMPLETE_MARKER).unlink()
    (first / "part_001.h5").unlink()
    again = benchmark_jets_dir(**small)
    assert again == first and (first / "part_000.h5").stat().st_mtime_ns == kept
    np.testing.assert_array_equal(load_jets(first / "part_001.h5").hlf, redone)
