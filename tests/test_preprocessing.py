"""A student's inputs, splits and scaling."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from fpgakd.config import InputConfig
from fpgakd.jets.loading import load_jets
from fpgakd.errors import ConfigError, DataError
from fpgakd.jets.jetfile import HLF_NAMES
from fpgakd.jets.preprocessing import Standardizer, fit_student_standardizer, split_indices, student_inputs
from helpers.formats import CLASSES, C, hlf_values, write_arff, write_fpgakd, write_toptagging


# ------------------------------------------------------------------ student inputs
def test_student_inputs_hlf(tmp_path: Path) -> None:
    ds = load_jets(write_fpgakd(tmp_path / "jets.h5"))
    x, names = student_inputs(ds, InputConfig(type="hlf"))
    assert x.shape == (10, 16) and x.dtype == np.float32 and names == HLF_NAMES
    np.testing.assert_array_equal(x, ds.hlf)
    top = load_jets(write_toptagging(tmp_path / "top.h5", [[(1.0, 0, 0)]], [1]))
    with pytest.raises(DataError, match=r"top\.h5: the student reads the high-level features"):
        student_inputs(top, InputConfig(type="hlf"))
    hlf_only = load_jets(write_arff(tmp_path / "h.arff", hlf_values(10), CLASSES))
    with pytest.raises(DataError, match=r"h\.arff: the student reads constituents"):
        student_inputs(hlf_only, InputConfig(type="constituents"))


def test_student_inputs_constituents_particle_major_with_padding(tmp_path: Path) -> None:
    ds = load_jets(write_fpgakd(tmp_path / "jets.h5", n_slots=8))
    cfg = InputConfig(type="constituents", n_constituents=4, constituent_features=("deta", "log_pt_frac"))
    x, names = student_inputs(ds, cfg)
    assert x.shape == (10, 8) and x.dtype == np.float32
    assert names[:4] == ("p0_deta", "p0_log_pt_frac", "p1_deta", "p1_log_pt_frac") and len(names) == 8
    grid = x.reshape(10, 4, 2)
    real = ds.mask[:, :4]
    np.testing.assert_array_equal(grid[..., 0], np.where(real, ds.constituents[:, :4, C["deta"]], 0))
    np.testing.assert_allclose(grid[..., 1][real], np.log(ds.constituents[:, :4, C["pt_frac"]][real]), rtol=1e-6)
    assert np.all(grid[~real] == 0) and (~real).any()
    # asking for more particles than stored pads with zeros
    wide, _ = student_inputs(ds, dataclasses.replace(cfg, n_constituents=10))
    assert wide.shape == (10, 20) and np.all(wide[:, 16:] == 0)
    with pytest.raises(ConfigError, match=r"unknown feature 'charge'.*available: deta.*log_pt_frac, log_e_frac"):
        student_inputs(ds, dataclasses.replace(cfg, constituent_features=("deta", "charge")))


def test_student_inputs_hybrid_is_hlf_then_constituents(tmp_path: Path) -> None:
    ds = load_jets(write_fpgakd(tmp_path / "jets.h5", n_slots=8))
    cfg = InputConfig(type="hybrid", n_constituents=4, constituent_features=("deta", "dphi", "log_pt_frac"))
    x, names = student_inputs(ds, cfg)
    assert x.shape == (10, 16 + 12) and x.dtype == np.float32
    assert names[:16] == HLF_NAMES and names[16:19] == ("p0_deta", "p0_dphi", "p0_log_pt_frac")
    np.testing.assert_array_equal(x[:, :16], ds.hlf)
    con, _ = student_inputs(ds, dataclasses.replace(cfg, type="constituents"))
    np.testing.assert_array_equal(x[:, 16:], con)
    hlf_only = load_jets(write_arff(tmp_path / "h.arff", hlf_values(10), CLASSES))
    with pytest.raises(DataError, match=r"h\.arff: the student reads constituents"):
        student_inputs(hlf_only, cfg)


def test_hybrid_standardization_travels_with_the_model(tmp_path: Path) -> None:
    ds = load_jets(write_fpgakd(tmp_path / "jets.h5", n_slots=8))
    x, names = student_inputs(ds, InputConfig(type="hybrid", n_constituents=2))
    scaler = Standardizer().fit(x, names)
    scaler.save(tmp_path / "standardization.json")
    again = Standardizer.from_dict(json.loads((tmp_path / "standardization.json").read_text()))
    assert again.feature_names_ == names
    np.testing.assert_allclose(again.transform(x), scaler.transform(x))


# ------------------------------------------------------------------ splits
def test_split_is_disjoint_covering_reproducible_and_stratified() -> None:
    labels = np.repeat(np.arange(5), [100, 200, 300, 150, 250])
    train, val, test = split_indices(len(labels), (0.6, 0.2, 0.2), seed=3, labels=labels)
    together = np.concatenate([train, val, test])
    assert len(together) == len(labels) and np.array_equal(np.sort(together), np.arange(len(labels)))
    for part, frac in ((train, 0.6), (val, 0.2), (test, 0.2)):
        counts = np.bincount(labels[part], minlength=5)
        np.testing.assert_array_equal(counts, np.round(np.bincount(labels) * frac))
    again = split_indices(len(labels), (0.6, 0.2, 0.2), seed=3, labels=labels)
    assert all(np.array_equal(a, b) for a, b in zip(again, (train, val, test)))
    other = split_indices(len(labels), (0.6, 0.2, 0.2), seed=4, labels=labels)
    assert not np.array_equal(other[0], train)
    plain = split_indices(7, (0.5, 0.25, 0.25), seed=0)
    assert sorted(np.concatenate(plain).tolist()) == list(range(7))
    with pytest.raises(ConfigError, match="split fractions"):
        split_indices(10, (0.5, 0.5, 0.5))


# ------------------------------------------------------------------ standardizer
def test_standardizer_round_trip_and_mismatch(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(500, 3))
    x[:, 2] = 7.0                                                    # zero variance
    s = Standardizer()
    assert not hasattr(s, "mean_")
    with pytest.raises(DataError, match="not fitted"):
        s.transform(x)
    z = s.fit_transform(x, ("a", "b", "c"))
    assert z.dtype == np.float32 and s.scale_[2] == 1.0
    np.testing.assert_allclose(z[:, :2].mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(z[:, :2].std(axis=0), 1, atol=1e-5)
    np.testing.assert_array_equal(z[:, 2], 0)
    path = s.save(tmp_path / "standardizer.json")
    loaded = Standardizer.load(path)
    assert loaded.feature_names_ == ("a", "b", "c")
    np.testing.assert_array_equal(loaded.mean_, s.mean_)              # exact through JSON
    np.testing.assert_array_equal(loaded.transform(x), z)
    with pytest.raises(DataError, match="fitted on 3 features, got 2"):
        loaded.transform(x[:, :2])
    with pytest.raises(DataError, match="feature 1 is 'B'.*'b'"):
        loaded.transform(x, names=("a", "B", "c"))
    bad = s.to_dict() | {"scale": [1.0, 0.0, 1.0]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(DataError, match=r"bad\.json: key 'scale'"):
        Standardizer.load(tmp_path / "bad.json")
    with pytest.raises(DataError, match=r"absent\.json: standardizer file not found"):
        Standardizer.load(tmp_path / "absent.json")


def test_clipped_standardizer_saturates_travels_and_refuses_a_bad_clip(tmp_path: Path) -> None:
    x = np.zeros((20, 2))
    x[0, 0], x[1, 0], x[:, 1] = 40.0, -2.0, np.arange(20)             # one 4-sigma outlier in a
    names = ("a", "b")
    s = fit_student_standardizer(x, names, InputConfig(clip=1.5))
    z = s.transform(x)
    assert z.max() == np.float32(1.5) and z.min() >= -1.5
    unclipped = Standardizer().fit(x, names).transform(x)
    np.testing.assert_array_equal(z, np.clip(unclipped, -1.5, 1.5))
    loaded = Standardizer.load(s.save(tmp_path / "clipped.json"))
    assert loaded.clip_ == 1.5
    np.testing.assert_array_equal(loaded.transform(x), z)
    plain = Standardizer().fit(x, names).to_dict()
    assert "clip" not in plain                                       # files of unclipped students unchanged
    assert Standardizer.from_dict(plain).clip_ is None
    (tmp_path / "bad.json").write_text(json.dumps(plain | {"clip": -2}))
    with pytest.raises(DataError, match=r"bad\.json: key 'clip' is -2"):
        Standardizer.load(tmp_path / "bad.json")


def test_a_particle_set_students_clip_keeps_padding_and_masks() -> None:
    x = np.array([[30.0, 1.0, 0.0, 0.0], [-1.0, 1.0, 2.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    inputs = InputConfig(type="particle_set", n_constituents=2, constituent_features=("a",), clip=1.0)
    z = fit_student_standardizer(x, ("p0_a", "p0_mask", "p1_a", "p1_mask"), inputs).transform(x)
    np.testing.assert_array_equal(z[:, [1, 3]], x[:, [1, 3]])        # masks as they were
    np.testing.assert_array_equal(z[[0, 2], 2], 0)                   # padded particles still zero
    assert np.abs(z).max() == 1.0
