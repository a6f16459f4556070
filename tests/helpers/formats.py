"""Writers of miniature files in each public jet layout fpgakd reads (and in its own)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from fpgakd.jets.jetfile import CLASS_NAMES, CONSTITUENT_NAMES, FORMAT_NAME, HLF_NAMES, JET_NAMES

C = {name: i for i, name in enumerate(CONSTITUENT_NAMES)}

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
    """A file in fpgakd's own layout (fpgakd/jets/jetfile.py); ``override`` replaces datasets."""
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


#: the class column of a 10-jet hls4ml HLF file, in the file's own names
CLASSES = ["g", "q", "t", "w", "z", "w", "t", "g", "q", "z"]
