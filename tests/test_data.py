"""Jet loading: each public layout written in miniature, detection, bad input, splits, scaling."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from fpgakd import data
from fpgakd.config import InputConfig
from fpgakd.data import (JetDataset, Standardizer, concat_datasets, detect_format, load_jets,
                         split_indices, student_inputs)
from fpgakd.errors import ConfigError, DataError
from fpgakd.jetfile import CLASS_NAMES, CONSTITUENT_NAMES, FORMAT_NAME, HLF_NAMES, JET_NAMES

C = {name: i for i, name in enumerate(CONSTITUENT_NAMES)}

# ------------------------------------------------------------------ writers, in each exact layout
# The 53 jet-level names of the Zenodo 150p files, then the one-hot flags and j_undef.
JET_FEATURES_150P = (
    "j_ptfrac j_pt j_eta j_mass j_tau1_b1 j_tau2_b1 j_tau3_b1 j_tau1_b2 j_tau2_b2 j_tau3_b2 "
    "j_tau32_b1 j_tau32_b2 j_zlogz j_c1_b0 j_c1_b1 j_c1_b2 j_c2_b1 j_c2_b2 j_d2_b1 j_d2_b2 "
    "j_d2_a1_b1 j_d2_a1_b2 j_m2_b1 j_m2_b2 j_n2_b1 j_n2_b2 j_tau1_b1_mmdt j_tau2_b1_mmdt "
    "j_tau3_b1_mmdt j_tau1_b2_mmdt j_tau2_b2_mmdt j_tau3_b2_mmdt j_tau32_b1_mmdt j_tau32_b2_mmdt "
    "j_c1_b0_mmdt j_c1_b1_mmdt j_c1_b2_mmdt j_c2_b1_mmdt j_c2_b2_mmdt j_d2_b1_mmdt j_d2_b2_mmdt "
    "j_d2_a1_b1_mmdt j_d2_a1_b2_mmdt j_m2_b1_mmdt j_m2_b2_mmdt j_n2_b1_mmdt j_n2_b2_mmdt "
    "j_mass_trim j_mass_mmdt j_mass_prun j_mass_sdb2 j_mass_sdm1 j_multiplicity "
    "j_g j_q j_w j_z j_t j_undef").split()
# Column order of jetConstituentList; particleFeatureNames adds j1_pdgid, which has no column.
PARTICLE_150P = ("px py pz e erel pt ptrel eta etarel etarot phi phirel phirot deltaR "
                 "costheta costhetarel").split()


def hlf_values(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 16)).astype(np.float32) * np.arange(1, 17, dtype=np.float32)


def write_arff(path: Path, hlf: np.ndarray, classes: list[str], *, order: list[int] | None = None,
               missing: tuple[int, int] | None = None) -> Path:
    order = order or list(range(16))
    lines = ["% hls4ml_lhc_jets_hlf, OpenML 42468", "@RELATION hls4ml_lhc_jets_hlf", ""]
    lines += [f"@ATTRIBUTE {HLF_NAMES[j]} NUMERIC" for j in order]
    lines += ["@ATTRIBUTE class {g,q,t,w,z}", "", "@DATA"]
    for i, cls in enumerate(classes):
        cells = [repr(float(hlf[i, j])) for j in order]
        if missing and missing[0] == i:
            cells[missing[1]] = "?"
        lines.append(",".join(cells + [cls]))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_csv(path: Path, hlf: np.ndarray, classes: list[str], order: list[int]) -> Path:
    df = pd.DataFrame({HLF_NAMES[j]: hlf[:, j] for j in order})
    df["class"] = classes
    df.to_csv(path, index=False)
    return path


def write_fpgakd(path: Path, n: int = 10, n_slots: int = 8, **override) -> Path:
    """A file in fpgakd's own layout (fpgakd/jetfile.py); ``override`` replaces datasets."""
    rng = np.random.default_rng(1)
    mult = rng.integers(1, n_slots + 1, size=n)
    mask = np.arange(n_slots)[None, :] < mult[:, None]
    const = rng.normal(size=(n, n_slots, len(CONSTITUENT_NAMES))).astype(np.float32)
    const[..., C["pt_frac"]] = np.sort(rng.uniform(0.01, 0.5, size=(n, n_slots)), axis=1)[:, ::-1]
    const[..., C["e_frac"]] = rng.uniform(0.01, 0.5, size=(n, n_slots))
    const[~mask] = 0
    content = {
        "hlf": hlf_values(n), "hlf_names": np.array(HLF_NAMES, dtype=object),
        "constituents": const, "constituent_names": np.array(CONSTITUENT_NAMES, dtype=object),
        "mask": mask, "labels": np.arange(n, dtype=np.int64) % 5,
        "class_names": np.array(CLASS_NAMES, dtype=object),
        "jets": rng.uniform(1, 2, size=(n, 4)).astype(np.float32),
        "jet_names": np.array(JET_NAMES, dtype=object),
    }
    content.update(override)
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT_NAME
        f.attrs["format_version"] = 1
        f.attrs["options"] = json.dumps({"jets_per_class": 2})
        for key, value in content.items():
            if value is None:
                continue
            if value.dtype == object:
                f.create_dataset(key, data=value, dtype=h5py.string_dtype())
            else:
                f.create_dataset(key, data=value)
    return path


def write_150p(path: Path, labels: list[int], *, n_slots: int = 150, drop_pdgid: bool = False) -> dict:
    """A Zenodo 3602260 file: float64 arrays, names as fixed-length bytes."""
    n = len(labels)
    rng = np.random.default_rng(2)
    mult = np.array([3, 5, 1, 7, 2, 4, 6, 3][:n])
    particles = np.zeros((n, n_slots, 16))
    for i, m in enumerate(mult):
        pt = np.sort(rng.uniform(1, 100, size=m))[::-1]
        for j, name in enumerate(PARTICLE_150P):
            particles[i, :m, j] = rng.uniform(-1, 1, size=m) if name != "pt" else pt
        particles[i, :m, PARTICLE_150P.index("e")] = pt * 1.5
        particles[i, :m, PARTICLE_150P.index("ptrel")] = pt / 1000
        particles[i, :m, PARTICLE_150P.index("erel")] = pt * 1.5 / 1200
    jets = rng.uniform(0, 1, size=(n, len(JET_FEATURES_150P)))
    flags = JET_FEATURES_150P.index("j_g")
    jets[:, flags:] = 0
    jets[np.arange(n), flags + np.array(labels)] = 1
    names = ["j1_" + p for p in PARTICLE_150P] + ([] if drop_pdgid else ["j1_pdgid"])
    with h5py.File(path, "w") as f:
        f.create_dataset("jetConstituentList", data=particles)
        f.create_dataset("jets", data=jets)
        f.create_dataset("jetFeatureNames", data=np.array(JET_FEATURES_150P, dtype="S"))
        f.create_dataset("particleFeatureNames", data=np.array(names, dtype="S"))
        f.create_dataset("jetImage", data=np.zeros((n, 4, 4)))
    return {"particles": particles, "jets": jets, "mult": mult}


def p4(pt: float, eta: float, phi: float) -> tuple[float, float, float, float]:
    """(E, px, py, pz) of a massless particle."""
    return pt * math.cosh(eta), pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)


def write_toptagging(path: Path, jets: list[list[tuple[float, float, float]]], labels: list[int],
                     fmt: str = "fixed", n_slots: int = 200) -> Path:
    """The Kasieczka et al. pandas frame: E_i, PX_i, PY_i, PZ_i, truth*, ttv, is_signal_new."""
    columns: dict[str, np.ndarray] = {}
    n = len(jets)
    for i in range(n_slots):
        for comp in ("E", "PX", "PY", "PZ"):
            columns[f"{comp}_{i}"] = np.zeros(n, dtype=np.float32)
    for j, particles in enumerate(jets):
        for i, (pt, eta, phi) in enumerate(particles):
            for comp, value in zip(("E", "PX", "PY", "PZ"), p4(pt, eta, phi)):
                columns[f"{comp}_{i}"][j] = value
    for comp in ("truthE", "truthPX", "truthPY", "truthPZ"):
        columns[comp] = np.zeros(n)
    columns["ttv"] = np.zeros(n, dtype=np.int64)
    columns["is_signal_new"] = np.array(labels, dtype=np.int64)
    pd.DataFrame(columns).to_hdf(path, key="table", format=fmt, mode="w")
    return path


# ------------------------------------------------------------------ hls4ml HLF (ARFF, CSV)
CLASSES = ["g", "q", "t", "w", "z", "w", "t", "g", "q", "z"]
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


def test_directory_of_150p_files_is_concatenated(tmp_path: Path) -> None:
    write_150p(tmp_path / "f1.h5", [0, 1], n_slots=10)
    write_150p(tmp_path / "f2.h5", [3], n_slots=10)
    ds = load_jets(tmp_path)
    assert ds.labels.tolist() == [0, 1, 3] and ds.source == str(tmp_path)
    assert ds.attrs["files"] == [str(tmp_path / "f1.h5"), str(tmp_path / "f2.h5")]
    write_150p(tmp_path / "f3.h5", [3], n_slots=12)
    with pytest.raises(DataError, match="f3.h5.*'constituents'"):
        load_jets(tmp_path)


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


def test_explicit_format_must_fit_the_file(tmp_path: Path) -> None:
    path = write_fpgakd(tmp_path / "jets.h5")
    assert load_jets(path, format="fpgakd").n_jets == 10
    with pytest.raises(DataError, match=r"jets\.h5.*'jetConstituentList' is missing"):
        load_jets(path, format="hls4ml-150p")


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


def test_unknown_format_name_lists_supported(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"x\.h5: unknown data format 'root'.*hls4ml-150p"):
        load_jets(tmp_path / "x.h5", format="root")


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


# ------------------------------------------------------------------ default dataset
@pytest.mark.slow
def test_default_jets_path_generates_once_and_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate = pytest.importorskip("fpgakd.generate")
    pytest.importorskip("fpgakd.observables")            # generation computes the features
    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    calls = []
    real = generate.generate_jets

    def small(output, options, *, progress=True):
        calls.append(options)
        return real(output, dataclasses.replace(options, jets_per_class=2, n_constituents=8, workers=1),
                    progress=False)

    monkeypatch.setattr(generate, "generate_jets", small)
    path = data.default_jets_path(progress=False)
    assert path.parent == tmp_path / "cache" and path.exists()
    assert calls[0].jets_per_class == data.DEFAULT_JETS_PER_CLASS and calls[0].seed == data.DEFAULT_SEED
    assert load_jets(path).n_jets == 10
    assert data.default_jets_path(progress=False) == path and len(calls) == 1
    path.write_bytes(b"truncated")                                   # a broken cache is regenerated
    assert data.default_jets_path(progress=False) == path and len(calls) == 2
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
