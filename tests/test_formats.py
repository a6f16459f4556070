"""Each public layout written in miniature and read back, detection, bad input per layout.

The writers of the miniature files (tests/helpers/formats.py) are shared with the other data tests.
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from fpgakd.jets.loading import load_jets
from fpgakd.errors import DataError
from fpgakd.jets.formats import detect_format
from fpgakd.jets.jetfile import CLASS_NAMES, CONSTITUENT_NAMES, HLF_NAMES
from helpers.formats import (CLASSES, JET_FEATURES_150P, PARTICLE_150P, C, hlf_values, write_150p, write_arff, write_csv,
                             write_fpgakd, write_toptagging)

# ------------------------------------------------------------------ hls4ml HLF (ARFF, CSV)
EXPECTED_LABELS = [0, 1, 4, 2, 3, 2, 4, 0, 1, 3]  # g q W Z t order


def test_arff_maps_columns_and_classes_by_name(tmp_path: Path) -> None:
    hlf = hlf_values(10)
    order = list(range(16))[::-1]
    path = write_arff(tmp_path / "jets.arff", hlf, CLASSES, order=order)
    ds = load_jets(path)
    assert ds.format == "hls4ml-hlf" and ds.source == str(path)
    assert ds.hlf_names == HLF_NAMES and ds.class_names == CLASS_NAMES
    np.testing.assert_array_equal(ds.hlf, hlf)
    assert ds.labels.tolist() == EXPECTED_LABELS
    assert ds.constituents is None and ds.mask is None and ds.jets is None


def test_csv_and_gzipped_arff(tmp_path: Path) -> None:
    hlf = hlf_values(10, seed=3)
    rng = np.random.default_rng(0)
    csv = write_csv(tmp_path / "hlf.csv", hlf, CLASSES, list(rng.permutation(16)))
    ds = load_jets(csv)
    np.testing.assert_allclose(ds.hlf, hlf, rtol=1e-6)
    assert ds.labels.tolist() == EXPECTED_LABELS and ds.attrs["table"] == "csv"
    arff = write_arff(tmp_path / "plain.arff", hlf, CLASSES)
    gz = tmp_path / "jets.arff.gz"
    gz.write_bytes(gzip.compress(arff.read_bytes()))
    np.testing.assert_array_equal(load_jets(gz).hlf, hlf)


# ------------------------------------------------------------------ hls4ml 150p
def test_150p_maps_particle_features_by_name(tmp_path: Path) -> None:
    labels = [0, 1, 2, 3, 4, 2]
    raw = write_150p(tmp_path / "jetImage_0_150p_0_6.h5", labels)
    ds = load_jets(tmp_path / "jetImage_0_150p_0_6.h5")
    assert ds.format == "hls4ml-150p"
    assert ds.labels.tolist() == labels
    assert ds.constituents.shape == (6, 150, len(CONSTITUENT_NAMES))
    assert ds.constituent_names == CONSTITUENT_NAMES
    assert ds.mask.sum(axis=1).tolist() == raw["mult"][:6].tolist()
    part = raw["particles"]
    real = ds.mask
    for canon, name in [("deta", "etarel"), ("dphi", "phirel"), ("pt_frac", "ptrel"),
                        ("e_frac", "erel"), ("delta_r", "deltaR"), ("pt", "pt"), ("eta", "eta"),
                        ("phi", "phi"), ("e", "e")]:
        np.testing.assert_allclose(ds.constituents[..., C[canon]], part[..., PARTICLE_150P.index(name)],
                                   rtol=1e-6, err_msg=canon)
    pt = part[..., PARTICLE_150P.index("pt")]
    np.testing.assert_allclose(ds.constituents[..., C["log_pt"]][real], np.log(pt[real]), rtol=1e-6)
    assert np.all(ds.constituents[~real] == 0)
    cols = [JET_FEATURES_150P.index(n) for n in HLF_NAMES]
    np.testing.assert_allclose(ds.hlf, raw["jets"][:, cols], rtol=1e-6)
    np.testing.assert_allclose(ds.jets[:, 0], raw["jets"][:, JET_FEATURES_150P.index("j_pt")], rtol=1e-6)


def test_150p_without_the_dataless_pdgid_name(tmp_path: Path) -> None:
    write_150p(tmp_path / "a.h5", [4, 0], n_slots=10, drop_pdgid=True)
    assert load_jets(tmp_path / "a.h5").labels.tolist() == [4, 0]


# ------------------------------------------------------------------ top tagging
@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_toptagging_relative_to_summed_axis(tmp_path: Path, fmt: str) -> None:
    jets = [
        [(100.0, 0.2, 0.0), (100.0, -0.2, 0.0)],                       # axis at eta 0, phi 0
        [(50.0, 0.0, math.pi - 0.1), (50.0, 0.0, -math.pi + 0.1)],     # axis across phi = pi
        [(10.0, 0.0, 0.0), (30.0, 0.1, 0.1), (20.0, -0.1, 0.0)],       # stored out of pT order
    ]
    path = write_toptagging(tmp_path / f"train_{fmt}.h5", jets, [1, 0, 1], fmt=fmt)
    ds = load_jets(path)
    assert ds.format == "toptagging" and ds.class_names == ("QCD", "top")
    assert ds.hlf is None and ds.hlf_names == () and ds.constituent_names == CONSTITUENT_NAMES
    assert ds.labels.tolist() == [1, 0, 1]
    assert ds.constituents.shape == (3, 200, len(CONSTITUENT_NAMES))
    assert ds.mask.sum(axis=1).tolist() == [2, 2, 3]
    c = ds.constituents
    np.testing.assert_allclose(sorted(c[0, :2, C["deta"]]), [-0.2, 0.2], atol=1e-5)
    np.testing.assert_allclose(c[0, :2, C["dphi"]], 0, atol=1e-5)
    np.testing.assert_allclose(c[0, :2, C["pt_frac"]], 0.5, rtol=1e-5)
    np.testing.assert_allclose(c[0, :2, C["e_frac"]], 0.5, rtol=1e-5)
    np.testing.assert_allclose(c[0, :2, C["delta_r"]], 0.2, rtol=1e-4)
    np.testing.assert_allclose(c[0, :2, C["log_pt"]], math.log(100.0), rtol=1e-5)
    mass = math.sqrt(2 * 100.0**2 * (math.cosh(0.4) - 1))
    np.testing.assert_allclose(ds.jets[0], [200.0, 0.0, 0.0, mass], atol=1e-3)
    np.testing.assert_allclose(np.abs(c[1, :2, C["dphi"]]), 0.1, atol=1e-5)
    assert abs(abs(ds.jets[1, 2]) - math.pi) < 1e-5
    np.testing.assert_allclose(c[2, :3, C["pt"]], [30.0, 20.0, 10.0], rtol=1e-5)
    assert np.all(c[:, 3:] == 0) and not ds.mask[:, 3:].any()


# ------------------------------------------------------------------ fpgakd's own layout
def test_fpgakd_round_trip_and_name_reordering(tmp_path: Path) -> None:
    path = write_fpgakd(tmp_path / "jets.h5")
    ds = load_jets(path)
    with h5py.File(path) as f:
        np.testing.assert_array_equal(ds.hlf, f["hlf"][()])
        np.testing.assert_array_equal(ds.constituents, f["constituents"][()])
        np.testing.assert_array_equal(ds.mask, f["mask"][()])
        np.testing.assert_array_equal(ds.labels, f["labels"][()])
    assert ds.format == "fpgakd" and ds.attrs["options"] == {"jets_per_class": 2}
    assert ds.labels.dtype == np.int64 and ds.hlf.dtype == np.float32 and ds.mask.dtype == bool
    # hlf columns stored in another order are mapped back by name
    hlf = hlf_values(10)
    names = np.array(HLF_NAMES[::-1], dtype=object)
    shuffled = write_fpgakd(tmp_path / "shuffled.h5", hlf=hlf[:, ::-1].copy(), hlf_names=names)
    np.testing.assert_array_equal(load_jets(shuffled).hlf, hlf)


# ------------------------------------------------------------------ detection
def test_detection_reads_content_not_extension(tmp_path: Path) -> None:
    hlf = hlf_values(10)
    write_150p(tmp_path / "c.dat", [1], n_slots=4)
    cases = [
        ("fpgakd", write_fpgakd(tmp_path / "a")),
        ("hls4ml-hlf", write_arff(tmp_path / "b.h5", hlf, CLASSES)),       # misleading suffixes
        ("hls4ml-hlf", write_csv(tmp_path / "e.txt", hlf, CLASSES, list(range(16)))),
        ("hls4ml-150p", tmp_path / "c.dat"),
        ("toptagging", write_toptagging(tmp_path / "d.csv", [[(1.0, 0.0, 0.0)]], [0])),
    ]
    for fmt, path in cases:
        assert detect_format(path) == fmt, path
        assert load_jets(path).format == fmt


# ------------------------------------------------------------------ bad input
def _garbage(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 4)
    return path


def _foreign_hdf5(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.zeros((2, 3)))
    return path


BAD_CASES = {
    "missing file": (lambda p: p / "nope.h5", "nope.h5: data file not found"),
    "empty file": (lambda p: _empty(p / "empty.csv"), r"empty\.csv: data file is empty"),
    "binary garbage": (lambda p: _garbage(p / "garbage.bin"),
                       r"garbage\.bin: unknown data format.*fpgakd, hls4ml-hlf, hls4ml-150p, toptagging"),
    "foreign hdf5": (lambda p: _foreign_hdf5(p / "other.h5"),
                     r"other\.h5: HDF5 file \(holding images\) matches none.*toptagging"),
    "nan in hlf": (lambda p: write_fpgakd(p / "nan.h5", hlf=np.where(np.eye(10, 16) > 0, np.nan, 1.0)
                                          .astype(np.float32)),
                   r"nan\.h5: field 'hlf' holds 10 NaN/inf"),
    "inf in constituents": (lambda p: write_fpgakd(p / "inf.h5", constituents=np.full((10, 8, 11), np.inf,
                                                                                     np.float32)),
                            r"inf\.h5: field 'constituents' holds 880 NaN/inf"),
    "arff missing value": (lambda p: write_arff(p / "q.arff", hlf_values(10), CLASSES, missing=(2, 0)),
                           r"q\.arff: field 'j_zlogz' holds 1 NaN/inf"),
    "arff without rows": (lambda p: write_arff(p / "norows.arff", hlf_values(0), []),
                          r"norows\.arff: table has no rows \(0 jets\)"),
    "empty arrays": (lambda p: write_fpgakd(p / "zero.h5", n=0),
                     r"zero\.h5: field 'labels' is empty"),
    "wrong hlf shape": (lambda p: write_fpgakd(p / "shape.h5", hlf=np.ones((10, 16, 1), np.float32)),
                        r"shape\.h5: dataset 'hlf': expected 2 dimensions, got shape \(10, 16, 1\)"),
    "wrong mask shape": (lambda p: write_fpgakd(p / "mask.h5", mask=np.ones((10, 7), bool)),
                         r"mask\.h5: field 'mask': expected shape \(N, 8\), got \(10, 7\)"),
    "labels out of range": (lambda p: write_fpgakd(p / "lab.h5", labels=np.arange(10) % 7),
                            r"lab\.h5: field 'labels': 2 labels out of range \[0, 4\]"),
    "mismatched lengths": (lambda p: write_fpgakd(p / "len.h5", labels=np.zeros(9, np.int64)),
                           r"len\.h5: field 'hlf' has 10 jets but 'labels' has 9"),
    "missing labels": (lambda p: write_fpgakd(p / "nolab.h5", labels=None),
                       r"nolab\.h5: dataset 'labels' is missing"),
    "hlf names vs columns": (lambda p: write_fpgakd(p / "cols.h5", hlf=np.ones((10, 15), np.float32)),
                             r"cols\.h5: dataset 'hlf': expected one column per name.*\(16\), got shape \(10, 15\)"),
    "unknown class": (lambda p: write_csv(p / "cls.csv", hlf_values(3), ["g", "h", "x"], list(range(16))),
                      r"cls\.csv: column 'class': 2 label\(s\) out of range.*'h', 'x'"),
    "missing hlf column": (lambda p: _csv_without(p / "col.csv", "j_mass_mmdt"),
                           r"col\.csv: field 'columns' lacks j_mass_mmdt"),
    "150p bad one-hot": (lambda p: _broken_150p(p / "hot.h5"),
                         r"hot\.h5: dataset 'jets': 1 jet\(s\) without exactly one class flag"),
    "150p names vs columns": (lambda p: _150p_names(p / "names.h5"),
                              r"names\.h5: dataset 'particleFeatureNames' has 15 names for 16 features"),
    "toptagging label": (lambda p: write_toptagging(p / "top.h5", [[(1.0, 0, 0)], [(2.0, 0, 0)]], [0, 2]),
                         r"top\.h5: column 'is_signal_new': 1 label\(s\) out of range"),
    "toptagging empty jet": (lambda p: write_toptagging(p / "nojet.h5", [[(1.0, 0, 0)], []], [0, 1]),
                             r"nojet\.h5: 1 jet\(s\) without any constituent"),
}


def _empty(path: Path) -> Path:
    path.write_text("")
    return path


def _csv_without(path: Path, column: str) -> Path:
    write_csv(path, hlf_values(3), ["g", "q", "t"], list(range(16)))
    pd.read_csv(path).drop(columns=[column]).to_csv(path, index=False)
    return path


def _broken_150p(path: Path) -> Path:
    write_150p(path, [0, 1, 2], n_slots=5)
    with h5py.File(path, "a") as f:
        jets = f["jets"][()]
        jets[1, JET_FEATURES_150P.index("j_t")] = 1
        f["jets"][...] = jets
    return path


def _150p_names(path: Path) -> Path:
    write_150p(path, [0], n_slots=5)
    with h5py.File(path, "a") as f:
        del f["particleFeatureNames"]
        f.create_dataset("particleFeatureNames", data=np.array(["j1_" + p for p in PARTICLE_150P[:15]], "S"))
    return path


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_raises_data_error_naming_file_and_field(tmp_path: Path, case: str) -> None:
    make, pattern = BAD_CASES[case]
    path = make(tmp_path)
    with pytest.raises(DataError, match=pattern) as info:
        load_jets(path)
    assert str(path) in str(info.value)
