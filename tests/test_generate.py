"""Jet generation: physics of a small real sample, reproducibility, file layout, atomicity."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from fpgakd.jets import generate as gen
from fpgakd.errors import ConfigError, ToolError
from fpgakd.jets.detector import smear_particles
from fpgakd.jets.generate import GenerationSummary, generate_jets
from fpgakd.jets.options import GenerationOptions, pythia_settings
from fpgakd.jets.jetfile import (CLASS_NAMES, CONSTITUENT_NAMES, FORMAT_NAME, FORMAT_VERSION,
                            HLF_NAMES, JET_NAMES)

JETS_PER_CLASS = 160
N_CONSTITUENTS = 32


def _read(path: Path) -> dict:
    with h5py.File(path, "r") as f:
        return {k: f[k][...] for k in f} | {"attrs": dict(f.attrs)}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    """One real sample (Pythia + FastJet + features) shared by the physics and layout tests."""
    path = tmp_path_factory.mktemp("gen") / "jets.h5"
    options = GenerationOptions(jets_per_class=JETS_PER_CLASS, seed=11, workers=2,
                                n_constituents=N_CONSTITUENTS)
    summary = generate_jets(path, options, progress=False)
    return path, summary


def _col(data: dict, cls: str, name: str) -> np.ndarray:
    return data["hlf"][data["labels"] == CLASS_NAMES.index(cls), HLF_NAMES.index(name)]


@pytest.mark.slow
def test_physics_of_generated_jets(sample: tuple[Path, GenerationSummary]) -> None:
    data = _read(sample[0])
    mass = {c: _col(data, c, "j_mass_mmdt") for c in CLASS_NAMES}
    assert 65 < np.median(mass["W"]) < 95
    assert 75 < np.median(mass["Z"]) < 105
    near_top = np.mean(np.abs(mass["t"] - 173) < 30)
    assert np.median(mass["t"]) > 120 or near_top > 0.3
    assert np.median(mass["W"]) < np.median(mass["Z"])
    mult = {c: _col(data, c, "j_multiplicity") for c in CLASS_NAMES}
    assert mult["g"].mean() > mult["q"].mean()
    d2 = {c: np.median(_col(data, c, "j_d2_b1_mmdt")) for c in CLASS_NAMES}
    for boson in ("W", "Z"):
        assert d2[boson] < d2["q"] and d2[boson] < d2["g"]
    # q/g jets mostly one-pronged: their groomed mass sits well below the bosons'
    assert np.median(mass["q"]) < 50


@pytest.mark.slow
def test_file_layout_matches_jetfile_contract(sample: tuple[Path, GenerationSummary]) -> None:
    path, summary = sample
    n, p = JETS_PER_CLASS * len(CLASS_NAMES), N_CONSTITUENTS
    with h5py.File(path, "r") as f:
        expected = {"hlf": ((n, 16), np.float32), "constituents": ((n, p, 11), np.float32),
                    "mask": ((n, p), np.bool_), "labels": ((n,), np.int64),
                    "jets": ((n, 4), np.float32)}
        for name, (shape, dtype) in expected.items():
            assert f[name].shape == shape and f[name].dtype == dtype, name
            assert f[name].compression == "gzip", name
        assert tuple(f["hlf_names"].asstr()[...]) == HLF_NAMES
        assert tuple(f["constituent_names"].asstr()[...]) == CONSTITUENT_NAMES
        assert tuple(f["class_names"].asstr()[...]) == CLASS_NAMES
        assert tuple(f["jet_names"].asstr()[...]) == JET_NAMES
        attrs = dict(f.attrs)
    assert attrs["format"] == FORMAT_NAME and attrs["format_version"] == FORMAT_VERSION
    for key in ("fpgakd_version", "pythia_version", "fastjet_version", "numpy_version",
                "created"):
        assert attrs[key], key
    assert attrs["seed"] == 11
    assert json.loads(attrs["options"])["jets_per_class"] == JETS_PER_CLASS
    assert json.loads(attrs["counts"]) == {c: JETS_PER_CLASS for c in CLASS_NAMES}
    assert summary.counts == {c: JETS_PER_CLASS for c in CLASS_NAMES}

    data = _read(path)
    assert np.array_equal(np.bincount(data["labels"]), [JETS_PER_CLASS] * len(CLASS_NAMES))
    jets, con, mask = data["jets"], data["constituents"], data["mask"]
    assert np.all((jets[:, 0] >= 900) & (jets[:, 0] < 1100))
    assert np.all(jets[:, 3] >= 0) and np.all(np.abs(jets[:, 2]) <= np.pi)
    col = {name: i for i, name in enumerate(CONSTITUENT_NAMES)}
    mult = data["hlf"][:, HLF_NAMES.index("j_multiplicity")]
    assert np.array_equal(mask.sum(1), np.minimum(mult, p))
    assert mask[:, 0].all() and np.all(mask[:, :-1] >= mask[:, 1:])  # real particles first
    assert np.all(con[~mask] == 0)
    pt = np.where(mask, con[..., col["pt"]], -1)
    assert np.all(pt[:, :-1] >= pt[:, 1:])  # pT-ordered
    assert np.allclose(con[..., col["pt_frac"]][mask],
                       (con[..., col["pt"]] / jets[:, :1])[mask], rtol=1e-5)
    assert np.allclose(np.exp(con[..., col["log_pt"]][mask]), con[..., col["pt"]][mask],
                       rtol=1e-4)
    dr = con[..., col["delta_r"]][mask]
    assert np.allclose(dr, np.hypot(con[..., col["deta"]], con[..., col["dphi"]])[mask],
                       atol=1e-5)
    # anti-kT constituents lie within about R of the axis in (rapidity, azimuth); in eta
    # they may not: a slow massive hadron's eta differs from its rapidity
    ptc, etac, ec = (con[..., col[k]].astype(np.float64) for k in ("pt", "eta", "e"))
    pz = ptc * np.sinh(etac)
    y = 0.5 * np.log(np.where(mask, ec + pz, 1.0) / np.where(mask, ec - pz, 1.0))
    jet_y = np.array([np.average(y[i][mask[i]], weights=ptc[i][mask[i]]) for i in range(n)])
    assert np.median(np.abs(jet_y - jets[:, 1])) < 0.05  # sanity of the rapidity reconstruction
    jet_pz = jets[:, 0] * np.sinh(jets[:, 1])
    jet_e = np.sqrt(jets[:, 0] ** 2 + jet_pz ** 2 + jets[:, 3] ** 2)
    jet_y = 0.5 * np.log((jet_e + jet_pz) / (jet_e - jet_pz))
    dr_y = np.hypot(y - jet_y[:, None], con[..., col["dphi"]])[mask]
    # (beyond R only where anti-kT merged a second hard prong and moved the axis)
    assert np.mean(dr_y > 0.8 + 1e-3) < 0.002 and dr_y.max() < 1.5 * 0.8
    assert np.median(dr) < 0.1  # pT-leading constituents sit close to the axis
    assert np.all(np.abs(con[..., col["dphi"]]) <= np.pi)
    # the summary agrees with the file
    w = next(c for c in summary.classes if c.name == "W")
    assert w.median_mass_mmdt == pytest.approx(np.median(_col(data, "W", "j_mass_mmdt")))
    assert "W" in summary.format_table() and "jets/s/core" in summary.format_table()


@pytest.mark.slow
def test_same_seed_same_arrays_for_any_worker_count(tmp_path: Path) -> None:
    kw = dict(jets_per_class=12, seed=5, classes=("W", "g"), chunk_jets=6, n_constituents=8)
    paths = []
    for i, workers in enumerate((1, 2)):
        paths.append(tmp_path / f"run{i}.h5")
        generate_jets(paths[-1], GenerationOptions(workers=workers, **kw), progress=False)
    runs = [_read(p) for p in paths]
    for name in ("hlf", "constituents", "mask", "labels", "jets"):
        assert np.array_equal(runs[0][name], runs[1][name]), name
    # file order follows options.classes; labels stay indices into CLASS_NAMES
    assert np.array_equal(runs[0]["labels"], [2] * 12 + [0] * 12)
    other = tmp_path / "other.h5"
    generate_jets(other, GenerationOptions(workers=1, **(kw | {"seed": 6})), progress=False)
    assert not np.array_equal(_read(other)["jets"], runs[0]["jets"])


@pytest.mark.parametrize("kwargs, name", [
    ({"jets_per_class": 0}, "jets_per_class"),
    ({"jets_per_class": -3}, "jets_per_class"),
    ({"seed": -1}, "seed"),
    ({"pt_min": 1200.0, "pt_max": 1000.0}, "pt_max"),
    ({"pt_min": 0.0}, "pt_min"),
    ({"jet_r": 0.0}, "jet_r"),
    ({"jet_r": 3.0}, "jet_r"),
    ({"n_constituents": 0}, "n_constituents"),
    ({"classes": ("W", "higgs")}, "classes"),
    ({"classes": ()}, "classes"),
    ({"workers": 0}, "workers"),
    ({"chunk_jets": 0}, "chunk_jets"),
])
def test_options_validation_names_the_option(kwargs: dict, name: str) -> None:
    base = {"jets_per_class": 10, "seed": 1}
    with pytest.raises(ConfigError, match=f"'{name}'"):
        GenerationOptions(**(base | kwargs))


def test_pthat_bracket_follows_the_window_unless_given() -> None:
    o = GenerationOptions(jets_per_class=1, seed=1, pt_min=450.0, pt_max=550.0)
    lo, hi = o.pthat_range
    assert lo < 450.0 and hi > 550.0
    assert GenerationOptions(jets_per_class=1, seed=1, pthat_min=800.0,
                             pthat_max=1200.0).pthat_range == (800.0, 1200.0)
    settings = pythia_settings("Z", o, 42)
    assert "WeakZ0:gmZmode = 2" in settings and f"PhaseSpace:pTHatMin = {lo}" in settings
    assert "PartonLevel:MPI = off" in pythia_settings(
        "g", GenerationOptions(jets_per_class=1, seed=1, mpi=False), 1)


def test_smearing_response_and_losses() -> None:
    rng = np.random.default_rng(0)
    n = 20000
    p4 = np.tile([[3.0, 4.0, 0.0, 5.0]], (n, 1))  # pT 5 GeV, E 5 GeV
    charged, kept_c = smear_particles(p4, np.full(n, 3), np.full(n, 211), rng)
    neutral, kept_n = smear_particles(p4, np.zeros(n), np.full(n, 2112), rng)
    photon, kept_p = smear_particles(p4, np.zeros(n), np.full(n, 22), rng)
    factor = charged[:, 3] / 5.0
    assert kept_c.all() and np.std(factor) == pytest.approx(np.hypot(2.5e-4 * 5, 0.015), rel=0.05)
    # direction kept: the whole four-vector scales
    assert np.allclose(charged[:, 0] / charged[:, 1], 0.75)
    sigma_n = np.hypot(1.20 / np.sqrt(5 / 7), 0.05)  # ~1.4: many neutral hadrons are lost
    assert np.mean(~kept_n) == pytest.approx(0.5 * math.erfc(1 / sigma_n / math.sqrt(2)), abs=0.02)
    sigma_p = np.sqrt((0.027 / np.sqrt(5 / 1.6)) ** 2 + (0.15 * 1.6 / 5) ** 2 + 0.005 ** 2)
    assert np.std(photon[:, 3] / 5.0) == pytest.approx(sigma_p, rel=0.05) and kept_p.all()


@pytest.mark.slow
def test_interrupted_generation_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "jets.h5"
    calls = []

    def interrupted(*args: object) -> dict:
        if calls:
            raise KeyboardInterrupt
        calls.append(args)
        return real(*args)

    real = gen._chunk_task
    monkeypatch.setattr(gen, "_chunk_task", interrupted)
    opts = GenerationOptions(jets_per_class=4, seed=1, classes=("Z",), chunk_jets=2, workers=1,
                             n_constituents=4)
    with pytest.raises(KeyboardInterrupt):
        generate_jets(target, opts, progress=False)
    assert calls and list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_failing_worker_raises_and_leaves_no_file(tmp_path: Path) -> None:
    # a pTHat range beyond the beam energy: Pythia cannot initialise inside the workers
    target = tmp_path / "jets.h5"
    opts = GenerationOptions(jets_per_class=2, seed=1, classes=("W", "g"), workers=2,
                             pthat_min=7000.0, pthat_max=8000.0)
    with pytest.raises(ToolError, match="Pythia"):
        generate_jets(target, opts, progress=False)
    assert list(tmp_path.iterdir()) == []
