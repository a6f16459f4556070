"""The default teacher ships trained: it is found under the cache's own key, loads whole, and
is used (not retrained) exactly where data and teacher config match."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fpgakd.config import TeacherConfig
from fpgakd.jets.dataset import JetDataset
from fpgakd.learn import shipped_teacher as shipped
from fpgakd.learn.distillation import default_teacher_dir
from fpgakd.learn.rundir import TEACHER_JSON
from fpgakd.learn.shipped_teacher import teacher_key

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_hashes.json").read_text())


def _shipped_dirs() -> list[Path]:
    return sorted(p for p in shipped.SHIPPED_TEACHERS.iterdir() if p.is_dir())


def test_the_default_teacher_is_shipped_under_the_key_the_default_config_looks_up():
    # a changed TeacherConfig default or default dataset would silently retrain: fail instead
    assert [p.name for p in _shipped_dirs()] == [teacher_key(GOLDEN["default"]["fingerprint"], TeacherConfig())]


@pytest.mark.parametrize("directory", _shipped_dirs(), ids=lambda p: p.name)
def test_a_shipped_teacher_loads_with_the_identity_it_was_written_with(directory):
    from fpgakd.learn.teacher import load_teacher

    meta = json.loads((directory / TEACHER_JSON).read_text())
    assert meta["data_fingerprint"] == GOLDEN["default"]["fingerprint"]
    assert load_teacher(directory).identity == meta["identity"]


def _no_training(*args, **kwargs):
    raise AssertionError("the teacher was trained although one is shipped or cached")


@pytest.fixture
def tiny_key(tmp_path, monkeypatch):
    """A tiny dataset and its default-teacher key, with an empty cache and shipped folder
    under ``tmp_path`` and training forbidden."""
    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(shipped, "SHIPPED_TEACHERS", tmp_path / "shipped")
    monkeypatch.setattr("fpgakd.learn.teacher.train_teacher", _no_training)
    ds = JetDataset(hlf=np.arange(32, dtype=np.float32).reshape(2, 16), labels=np.array([0, 1]))
    return ds, teacher_key(ds.fingerprint(), TeacherConfig())


def _place_teacher(root: Path, key: str) -> Path:
    (root / key).mkdir(parents=True)
    (root / key / TEACHER_JSON).write_text("{}")
    return root / key


def test_a_shipped_teacher_is_used_instead_of_training(tmp_path, tiny_key):
    ds, key = tiny_key
    shipped_dir = _place_teacher(tmp_path / "shipped", key)
    assert default_teacher_dir("jets.h5", ds, progress=False) == shipped_dir
    # another teacher config has another key: nothing shipped for it, so it trains
    with pytest.raises(AssertionError, match="was trained"):
        default_teacher_dir("jets.h5", ds, config=TeacherConfig(n_folds=2), progress=False)


def test_a_teacher_in_the_cache_comes_before_the_shipped_one(tmp_path, tiny_key):
    ds, key = tiny_key
    _place_teacher(tmp_path / "shipped", key)
    cached = _place_teacher(tmp_path / "cache" / "teachers", key)
    assert default_teacher_dir("jets.h5", ds, progress=False) == cached
