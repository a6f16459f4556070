"""Synthetic jet files in fpgakd's layout, a tiny teacher trained on one, a tiny student config."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from fpgakd.config import ModelConfig, TeacherConfig, config_from_dict
from fpgakd.jets.jetfile import CLASS_NAMES, CONSTITUENT_NAMES, FORMAT_NAME, FORMAT_VERSION, HLF_NAMES, JET_NAMES

#: prongs and mean multiplicity per class g, q, W, Z, t: enough structure to learn from
_PRONGS = (1, 1, 2, 2, 3)
_MULT = (30, 18, 16, 18, 26)


def write_synthetic_jets(path: Path, n_per_class: int = 100, n_particles: int = 16,
                         seed: int = 0, class_names: tuple[str, ...] = CLASS_NAMES) -> Path:
    """A small file in fpgakd's jet layout whose classes differ in prongs and multiplicity.

    Not physics: a fast stand-in with the exact layout ``fpgakd.jets.loading.load_jets`` reads.
    """
    rng = np.random.default_rng(seed)
    n = n_per_class * len(class_names)
    labels = np.repeat(np.arange(len(class_names)), n_per_class)
    cons = np.zeros((n, n_particles, len(CONSTITUENT_NAMES)), np.float32)
    mask = np.zeros((n, n_particles), bool)
    for i, c in enumerate(labels):
        k = _PRONGS[c % len(_PRONGS)]
        m = int(np.clip(rng.poisson(_MULT[c % len(_MULT)]), 2, n_particles))
        centres = rng.normal(0, 0.25, size=(k, 2)) * (k > 1)
        prong = rng.integers(0, k, size=m)
        deta, dphi = (centres[prong] + rng.normal(0, 0.06, size=(m, 2))).T
        frac = np.sort(rng.exponential(1.0, size=m))[::-1]
        frac /= frac.sum()
        pt = 1000.0 * frac
        cons[i, :m] = np.stack([deta, dphi, np.log(pt), np.log(pt * 1.1), frac, frac,
                                np.hypot(deta, dphi), pt, deta, dphi, pt * 1.1], axis=1)
        mask[i, :m] = True
    hlf = rng.normal(size=(n, len(HLF_NAMES))).astype(np.float32)
    hlf[:, -1] = mask.sum(axis=1)
    jets = np.tile(np.array([1000.0, 0.0, 0.0, 50.0], np.float32), (n, 1))
    order = rng.permutation(n)
    with h5py.File(path, "w") as fh:
        fh.create_dataset("hlf", data=hlf[order])
        fh.create_dataset("hlf_names", data=np.array(HLF_NAMES, dtype="S"))
        fh.create_dataset("constituents", data=cons[order])
        fh.create_dataset("constituent_names", data=np.array(CONSTITUENT_NAMES, dtype="S"))
        fh.create_dataset("mask", data=mask[order])
        fh.create_dataset("labels", data=labels[order].astype(np.int64))
        fh.create_dataset("class_names", data=np.array(class_names, dtype="S"))
        fh.create_dataset("jets", data=jets)
        fh.create_dataset("jet_names", data=np.array(JET_NAMES, dtype="S"))
        fh.attrs["format"] = FORMAT_NAME
        fh.attrs["format_version"] = FORMAT_VERSION
    return path


def train_tiny_teacher(jets: Path, out: Path, **config) -> Path:
    """A Deep Sets teacher trained on ``jets`` into ``out``; ``config``: TeacherConfig fields.

    >>> train_tiny_teacher(jets, tmp / "teacher", n_constituents=8, width=8, epochs=1, n_folds=1)  # doctest: +SKIP
    """
    from fpgakd.learn.teacher import train_teacher

    return train_teacher(jets, out, config=TeacherConfig(**config), progress=False)


def tiny_student_config(**over) -> ModelConfig:
    """A 16-8 constituent student of a few epochs; ``over`` replaces (or, for mappings, updates) keys."""
    base = {"name": "tiny", "hidden": [16, 8],
            "inputs": {"type": "constituents", "n_constituents": 8,
                       "constituent_features": ["deta", "dphi", "log_pt_frac"]},
            "training": {"epochs": 6, "batch_size": 64, "patience": 2, "learning_rate": 0.005},
            "pruning": {"target_sparsity": 0.75, "begin_fraction": 0.1, "end_fraction": 0.5,
                        "frequency_steps": 5}}
    for key, value in over.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return config_from_dict(ModelConfig, base, "test")
