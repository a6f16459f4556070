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
"""

from __future__ import annotations

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "HLF_NAMES", "CLASS_NAMES",
           "CONSTITUENT_NAMES", "JET_NAMES"]

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
