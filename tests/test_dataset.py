"""JetDataset: subsets, fingerprints independent of the file's path, concatenation."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np

from fpgakd.jets.loading import load_jets
from fpgakd.jets.dataset import concat_datasets
from helpers.formats import write_fpgakd


def test_subset_and_fingerprint(tmp_path: Path) -> None:
    ds = load_jets(write_fpgakd(tmp_path / "jets.h5"))
    sub = ds.subset([3, 1])
    assert sub.n_jets == 2 and sub.labels.tolist() == [3, 1]
    np.testing.assert_array_equal(sub.constituents[0], ds.constituents[3])
    copy = tmp_path / "elsewhere.h5"
    shutil.copy(tmp_path / "jets.h5", copy)
    assert load_jets(copy).fingerprint() == ds.fingerprint()          # independent of path
    assert ds.subset(np.arange(10)).fingerprint() == ds.fingerprint()
    assert sub.fingerprint() != ds.fingerprint()
    changed = dataclasses.replace(ds, hlf=ds.hlf + np.float32(1e-3))
    assert changed.fingerprint() != ds.fingerprint()
    assert len(concat_datasets([sub, sub]).labels) == 4
