"""One event with pileup: a hard interaction overlaid with Poisson(mu) interactions drawn from
the minimum-bias library, each at its own vertex along the beam, through the detector.

Every random number of event ``index`` comes from streams seeded by (seed, index) alone
(:func:`event_stream`): the number of pileup interactions from one (:func:`pileup_counts`,
which needs no Pythia), everything else (vertices, library draws, detector response, track
resolution) from another. An event is therefore the same whatever the number of workers.

Per particle: the detector response of :func:`fpgakd.jets.detector.smear_particles` (if on),
then the acceptance |eta| < eta_max and pT > pt_min on the measured momentum. Charged
particles get a track: the straight-line extrapolation of their production vertex to the
point of closest approach to the beam gives d0 (signed transverse distance) and z0, so
``dz = z0 - pv_z``; Gaussian resolutions a (+) b / pT are added. Neutral particles have no
track: d0 = dz = 0.
"""

from __future__ import annotations

import numpy as np

from fpgakd.jets.detector import smear_particles
from fpgakd.jets.events.interactions import Interactions, concat_interactions
from fpgakd.jets.events.options import PileupOptions
from fpgakd.jets.pythia_source import p4_kinematics

__all__ = ["pileup_counts", "event_stream", "overlay_event", "generator_truth",
           "impact_parameters", "COUNT_STREAM", "OVERLAY_STREAM", "HARD_STREAM"]

#: first spawn-key element of each random stream (see event_stream)
COUNT_STREAM, OVERLAY_STREAM, HARD_STREAM = 0, 1, 2


def event_stream(seed: int, stream: int, index: int) -> np.random.Generator:
    """The generator of stream ``stream`` for event (or chunk) ``index`` under ``seed``.

    >>> a, b = event_stream(1, 0, 5), event_stream(1, 0, 5)
    >>> a.random() == b.random()
    True
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, index)))


def pileup_counts(mu: float, seed: int, indices: np.ndarray) -> np.ndarray:
    """Pileup interactions of the events ``indices``: Poisson(``mu``) draws seeded by
    (``seed``, event index), so a count depends only on those.

    >>> pileup_counts(0.0, 3, np.arange(4)).tolist()
    [0, 0, 0, 0]
    >>> bool((pileup_counts(50.0, 3, np.arange(4)) == pileup_counts(50.0, 3, np.arange(4))).all())
    True
    """
    return np.array([event_stream(seed, COUNT_STREAM, int(i)).poisson(mu) for i in np.asarray(indices)],
                    dtype=np.int64)


def generator_truth(hard: Interactions, options: PileupOptions) -> np.ndarray:
    """The hard event's visible particles in the acceptance before any detector effect
    (rows of ``hard.p4``, (G, 4)): the truth jets' input and, negated and summed, the
    no-pileup pT-miss.

    >>> hard = Interactions(np.array([[1.0, 0, 0, 1], [0.1, 0, 0, 0.1]]), np.zeros((2, 3)),
    ...                     np.array([211, 22]), np.array([1, 0]), np.array([0, 2]))
    >>> generator_truth(hard, PileupOptions()).shape
    (1, 4)
    """
    pt, eta, _, _ = p4_kinematics(hard.p4)
    return hard.p4[(np.abs(eta) < options.eta_max) & (pt > options.pt_min)]


def impact_parameters(vertex: np.ndarray, p4: np.ndarray, charge: np.ndarray, pv_z: float,
                      options: PileupOptions, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Measured (d0, dz) in cm of particles produced at ``vertex`` (M, 3; absolute, cm) with
    momenta ``p4``; zero for neutral ones.

    >>> d0, dz = impact_parameters(np.array([[0.0, 0.0, 1.5]]), np.array([[5.0, 0, 1.0, 5.2]]),
    ...                            np.array([1]), 0.5, PileupOptions(d0_resolution=(0, 0),
    ...                            dz_resolution=(0, 0)), np.random.default_rng(0))
    >>> float(d0[0]), float(dz[0])
    (0.0, 1.0)
    """
    x, y, z = vertex[:, 0], vertex[:, 1], vertex[:, 2]
    px, py, pz = p4[:, 0], p4[:, 1], p4[:, 2]
    pt = np.maximum(np.hypot(px, py), np.finfo(float).tiny)
    # closest approach of the straight line (x, y, z) + t p to the beam axis
    t = -(x * px + y * py) / pt ** 2
    d0 = (x * py - y * px) / pt
    dz = z + t * pz - pv_z

    def resolution(terms: tuple[float, float]) -> np.ndarray:
        return rng.normal(0.0, np.hypot(terms[0], terms[1] / pt))

    charged = np.asarray(charge) != 0
    d0 = np.where(charged, d0 + resolution(options.d0_resolution), 0.0)
    dz = np.where(charged, dz + resolution(options.dz_resolution), 0.0)
    return d0, dz


def overlay_event(hard: Interactions, library: Interactions, options: PileupOptions,
                  index: int) -> dict[str, np.ndarray]:
    """Event ``index``: the hard interaction ``hard`` (one event) and its pileup drawn from
    ``library``, measured. Returns the particle columns of
    :data:`fpgakd.jets.events.eventfile.PARTICLE_FIELDS` plus ``is_pileup`` (float64 /
    int64 here; the file stores its dtypes) and the scalars ``n_pileup``, ``pv_z``.

    >>> cols = overlay_event(hard, library, PileupOptions(mu=50), 0)   # doctest: +SKIP
    >>> int(cols["n_pileup"]), bool(cols["is_pileup"].mean() > 0.5)    # doctest: +SKIP
    (47, True)
    """
    n_pileup = int(pileup_counts(options.mu, options.seed, [index])[0])
    rng = event_stream(options.seed, OVERLAY_STREAM, index)
    pv_z = rng.normal(0.0, options.sigma_z)
    pileup = library.take(rng.integers(0, library.n_events, n_pileup))
    pileup_z = rng.normal(0.0, options.sigma_z, n_pileup)
    raw = concat_interactions([hard, pileup])
    vertex_z = np.concatenate([np.full(len(hard.pdg_id), pv_z), np.repeat(pileup_z, pileup.counts())])
    is_pileup = np.arange(len(raw.pdg_id)) >= len(hard.pdg_id)

    p4 = raw.p4.astype(np.float64)
    kept = np.ones(len(p4), dtype=bool)
    if options.smearing:
        p4, kept = smear_particles(p4, raw.charge, raw.pdg_id, rng)
    pt, eta, phi, _ = p4_kinematics(p4)
    keep = kept & (np.abs(eta) < options.eta_max) & (pt > options.pt_min)
    vertex = raw.vertex[keep].astype(np.float64)
    vertex[:, 2] += vertex_z[keep]
    d0, dz = impact_parameters(vertex, p4[keep], raw.charge[keep], pv_z, options, rng)
    p4 = p4[keep]
    return {"px": p4[:, 0], "py": p4[:, 1], "pz": p4[:, 2], "e": p4[:, 3], "pt": pt[keep],
            "eta": eta[keep], "phi": phi[keep], "charge": raw.charge[keep],
            "pdg_id": raw.pdg_id[keep], "d0": d0, "dz": dz, "is_pileup": is_pileup[keep],
            "n_pileup": np.int64(n_pileup), "pv_z": np.float64(pv_z)}
