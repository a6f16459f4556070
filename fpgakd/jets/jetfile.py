"""The contract of fpgakd's own jet files (HDF5), shared by generation and loading.

Layout of a file written by ``fpgakd generate`` (N jets, P constituents per jet):

==================== ================= ===============================================
dataset              shape, dtype      content
==================== ================= ===============================================
``hlf``              (N, 16) float32   the 16 high-level features, order ``HLF_NAMES``
``hlf_names``        (16,) str         ``HLF_NAMES``
``constituents``     (N, P, 11) f32    per-particle features, order ``CONSTITUENT_NAMES``,
                                       pT-ordered, zero-padded
``constituent_names`` (11,) str        ``CONSTITUENT_NAMES``
``mask``             (N, P) bool       True where a real particle sits
``labels``           (N,) int64        index into ``class_names``
``class_names``      (5,) str          ``CLASS_NAMES``
``jets``             (N, 4) float32    jet pt [GeV], eta, phi, mass [GeV]
``jet_names``        (4,) str          ``JET_NAMES``
==================== ================= ===============================================

Root attributes: ``format`` = ``FORMAT_NAME``, ``format_version``, ``fpgakd_version``,
``pythia_version``, ``fastjet_version``, ``seed``, ``options`` (JSON), ``counts`` (JSON,
jets per class), ``created`` (ISO time).

Constituent coordinates: ``deta``/``dphi`` relative to the jet axis (pseudorapidity and
azimuth, dphi wrapped to [-pi, pi)), ``log_pt``/``log_e`` natural log of GeV,
``pt_frac``/``e_frac`` = pT/pT_jet and E/E_jet, ``delta_r`` = hypot(deta, dphi), then the
absolute ``pt`` [GeV], ``eta``, ``phi``, ``e`` [GeV].

:func:`write_jet_file` writes jets held in memory (derived jets) in the same layout.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "HLF_NAMES", "CLASS_NAMES",
           "CONSTITUENT_NAMES", "JET_NAMES", "HDF5_COMPRESSION", "HASHED_ARRAYS", "HASH_DIGITS",
           "write_jet_file", "content_hash", "array_hashes"]

FORMAT_NAME = "fpgakd-jets"
FORMAT_VERSION = 1

#: The 16 features of the public hls4ml LHC jet dataset, in its column order.
HLF_NAMES: tuple[str, ...] = (
    "j_zlogz",
    "j_c1_b0_mmdt", "j_c1_b1_mmdt", "j_c1_b2_mmdt",
    "j_c2_b1_mmdt", "j_c2_b2_mmdt",
    "j_d2_b1_mmdt", "j_d2_b2_mmdt",
    "j_d2_a1_b1_mmdt", "j_d2_a1_b2_mmdt",
    "j_m2_b1_mmdt", "j_m2_b2_mmdt",
    "j_n2_b1_mmdt", "j_n2_b2_mmdt",
    "j_mass_mmdt", "j_multiplicity",
)

#: Jet classes, label i is CLASS_NAMES[i] (the public set's order g, q, W, Z, t).
CLASS_NAMES: tuple[str, ...] = ("g", "q", "W", "Z", "t")

CONSTITUENT_NAMES: tuple[str, ...] = (
    "deta", "dphi", "log_pt", "log_e", "pt_frac", "e_frac", "delta_r",
    "pt", "eta", "phi", "e",
)

JET_NAMES: tuple[str, ...] = ("pt", "eta", "phi", "mass")


#: HDF5 compression of every written jet file (``fpgakd generate`` and derived jets): gzip
#: level 4 is most of level 9's gain at a fraction of its time
HDF5_COMPRESSION = {"compression": "gzip", "compression_opts": 4, "shuffle": True}


#: the arrays whose content hashes identify a jet file's physics (names and attributes aside)
HASHED_ARRAYS: tuple[str, ...] = ("hlf", "constituents", "mask", "labels", "jets")
#: hex digits of SHA-256 kept in a printed content hash: 64 bits, ample to tell files apart
HASH_DIGITS = 16


def content_hash(array: np.ndarray) -> str:
    """The first ``HASH_DIGITS`` hex digits of the SHA-256 of an array's bytes (C order).

    Two machines that computed the same array bit for bit print the same hash.

    >>> content_hash(np.arange(4, dtype=np.float32))
    '4c9c4f354e74153d'
    """
    data = np.ascontiguousarray(array)
    return hashlib.sha256(data.view(np.uint8).reshape(-1) if data.size else b"").hexdigest()[:HASH_DIGITS]


def array_hashes(dataset: Any) -> dict[str, str]:
    """``{array name: content_hash}`` of the ``HASHED_ARRAYS`` a jet dataset holds.

    >>> from fpgakd.jets.dataset import JetDataset
    >>> array_hashes(JetDataset(hlf=np.zeros((2, 16), np.float32), labels=np.array([0, 1])))
    {'hlf': '...', 'labels': '...'}
    """
    arrays = {name: getattr(dataset, name, None) for name in HASHED_ARRAYS}
    return {name: content_hash(arr) for name, arr in arrays.items() if arr is not None}


def write_jet_file(path: str | os.PathLike, dataset: Any, attrs: dict[str, Any] | None = None) -> Path:
    """Write a :class:`~fpgakd.jets.dataset.JetDataset` in this layout, atomically; return the path.

    For derived jets a step reads from a file (a boost-augmented training set, ...):
    ``load_jets`` gives back the same arrays, so the same fingerprint. ``attrs`` join the
    root attributes (strings, numbers).

    >>> write_jet_file("boosted.h5", boosted, {"derived_from": "jets.h5"})   # doctest: +SKIP
    PosixPath('boosted.h5')
    """
    import h5py

    from fpgakd.atomic import atomic_path

    gz = HDF5_COMPRESSION
    names = {"hlf": ("hlf_names", dataset.hlf_names),
             "constituents": ("constituent_names", dataset.constituent_names), "jets": ("jet_names", JET_NAMES)}
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("labels", data=dataset.labels, **gz)
        f.create_dataset("class_names", data=list(dataset.class_names), dtype=h5py.string_dtype())
        for field, (names_key, column_names) in names.items():
            if getattr(dataset, field) is not None:
                f.create_dataset(field, data=getattr(dataset, field), **gz)
                f.create_dataset(names_key, data=list(column_names), dtype=h5py.string_dtype())
        if dataset.mask is not None:
            f.create_dataset("mask", data=dataset.mask, **gz)
        f.attrs.update({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **(attrs or {})})
    return Path(path)
