"""Degraded jets: a coarser detector's view of the same particles (after Ducharme & Serebriakov 2024).

Three independent degradations of the stored constituents, each a config key of
:class:`~fpgakd.studies.spec.DegradedStudyConfig`:

- ``pt_smearing``: every particle's four-momentum is scaled by a factor drawn from the
  Gaussian (1, pt_smearing) (seeded), so pT and E are smeared together and the particle's
  direction and mass-to-energy ratio are kept; a factor at or below ``_MIN_FACTOR`` is
  raised to it (the particle stays, softer);
- ``n_constituents``: only the N hardest particles (after smearing) are kept;
- ``angle_step``: eta and phi are rounded to a grid of this step (a tower size, in units of
  eta and radians), E and pT kept.

The jet is then the sum of the kept particles (what the coarser detector sees) and every
per-particle feature is rebuilt from it (:func:`fpgakd.studies.lorentz.jet_tables_from_p4s`).
Zero for ``pt_smearing`` or ``angle_step`` means that degradation is off. The 16
high-level features are dropped (they were computed from the full-resolution particles),
so only constituent students can be studied.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from fpgakd.errors import ConfigError
from fpgakd.jets.jetfile import CONSTITUENT_NAMES
from fpgakd.studies.lorentz import jet_tables_from_p4s, p4s_from_ptetaphie, require_fpgakd_constituents

__all__ = ["smear_pt", "keep_hardest", "round_angles", "degrade_dataset"]

#: smallest scale factor of a smeared particle: it stays in the jet, 1000 times softer
_MIN_FACTOR = 1e-3


def smear_pt(pt: NDArray, e: NDArray, *, sigma: float, rng: np.random.Generator
             ) -> tuple[NDArray, NDArray]:
    """pT and E [GeV] (any shape) scaled together by factors ~ N(1, sigma), at least 1e-3.

    >>> smear_pt(np.array([10.0]), np.array([20.0]), sigma=0.0, rng=np.random.default_rng(0))
    (array([10.]), array([20.]))
    """
    factor = np.maximum(1.0 + sigma * rng.standard_normal(np.shape(pt)), _MIN_FACTOR) if sigma > 0 else 1.0
    return np.asarray(pt) * factor, np.asarray(e) * factor


def keep_hardest(pt: NDArray, mask: NDArray, *, n: int) -> NDArray:
    """The mask (N, P) with only the ``n`` highest-pT real particles of each jet left True.

    >>> keep_hardest(np.array([[1.0, 3.0, 2.0]]), np.ones((1, 3), bool), n=2).tolist()
    [[False, True, True]]
    """
    rank = np.argsort(np.argsort(-np.where(mask, pt, -np.inf), axis=1, kind="stable"), axis=1)
    return np.asarray(mask, bool) & (rank < n)


def round_angles(eta: NDArray, phi: NDArray, *, step: float) -> tuple[NDArray, NDArray]:
    """eta and phi [rad] rounded to the nearest multiple of ``step`` (0: unchanged).

    >>> round_angles(np.array([0.12]), np.array([-0.26]), step=0.1)
    (array([0.1]), array([-0.3]))
    """
    if step <= 0:
        return np.asarray(eta), np.asarray(phi)
    return np.round(np.asarray(eta) / step) * step, np.round(np.asarray(phi) / step) * step


def degrade_dataset(dataset, *, pt_smearing: float, n_constituents: int, angle_step: float,
                    seed: int):
    """``dataset`` as a coarser detector sees it (module doc); labels and order unchanged.

    ``n_constituents`` may not exceed the stored particles per jet (key named in the error).

    >>> degraded = degrade_dataset(ds, pt_smearing=0.2, n_constituents=8, angle_step=0.05, seed=0)  # doctest: +SKIP
    """
    require_fpgakd_constituents(dataset, "degrading")
    stored = dataset.constituents.shape[1]
    if n_constituents > stored:
        raise ConfigError(f"key 'n_constituents': got {n_constituents}, but {dataset.source} "
                          f"stores only {stored} constituents per jet; allowed: 1 to {stored}")
    col = {name: dataset.constituents[..., i].astype(np.float64) for i, name in enumerate(CONSTITUENT_NAMES)}
    pt, e = smear_pt(col["pt"], col["e"], sigma=pt_smearing, rng=np.random.default_rng(seed))
    mask = keep_hardest(pt, dataset.mask, n=n_constituents)
    eta, phi = round_angles(col["eta"], col["phi"], step=angle_step)
    p4 = p4s_from_ptetaphie(pt, eta, phi, e)
    table, mask, jets = jet_tables_from_p4s(p4, mask)
    # the file's substructure features come from the full-resolution particles: drop them
    return dataclasses.replace(dataset, constituents=table, mask=mask, jets=jets, hlf=None,
                               source=f"{dataset.source} (degraded)",
                               attrs={**dataset.attrs, "degraded": True})
