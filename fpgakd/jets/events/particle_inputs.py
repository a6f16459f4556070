"""The 16 per-particle inputs of DistillNet (Bal et al. 2024, Table 1), read by its teacher and students.

In order: eta, phi, log pT, log E, charge, the PUPPI weight, a one-hot of the particle type
(8 types, :data:`PARTICLE_TYPES`), then the transverse and longitudinal impact parameters
d0 and dz (0 for neutral particles, which have no track).

The 8 types follow the categories of CMS particle flow (the ``pdgId`` of its candidates),
which is what the paper's one-hot encodes; they are derived from the generator pdg id, the
charge and |eta|:

============== ===================================================================
type           particles
============== ===================================================================
electron       |pdg| 11 inside the calorimeter barrel and endcaps (|eta| < 3)
muon           |pdg| 13, anywhere
photon         pdg 22, |eta| < 3
charged_had    charged hadrons (|pdg| > 100, charge != 0), |eta| < 3
neutral_had    neutral hadrons (|pdg| > 100, charge 0), |eta| < 3
forward_had    hadrons in the forward calorimeter (|eta| >= 3), charged or not
forward_em     electrons and photons in the forward calorimeter (|eta| >= 3)
other          anything else (e.g. pdg id 0: unidentified)
============== ===================================================================
"""

from __future__ import annotations

import numpy as np

from fpgakd.errors import DataError
from fpgakd.jets.events.eventfile import EventSet

__all__ = ["PARTICLE_TYPES", "PARTICLE_INPUT_NAMES", "N_PARTICLE_INPUTS", "PUPPI_RAW_INPUT_NAME",
           "particle_types", "particle_inputs"]

#: the one-hot's categories, in input order
PARTICLE_TYPES = ("electron", "muon", "photon", "charged_had", "neutral_had", "forward_had",
                  "forward_em", "other")
#: the 16 inputs in the order of Bal et al. 2024, Table 1
PARTICLE_INPUT_NAMES = ("eta", "phi", "log_pt", "log_e", "charge", "puppi_weight",
                        *(f"type_{t}" for t in PARTICLE_TYPES), "d0", "dz")
N_PARTICLE_INPUTS = len(PARTICLE_INPUT_NAMES)
#: the optional input after the 16 (a student's ``inputs.puppi_raw_weight``): PUPPI's weight
#: before its neutral cuts
PUPPI_RAW_INPUT_NAME = "puppi_raw_weight"

#: |eta| where CMS's forward (HF) calorimeter takes over from the endcaps (HF covers 3 < |eta| < 5)
FORWARD_ETA = 3.0
#: pdg ids of the leptons and the photon; |pdg| above this are hadrons (mesons from 111, baryons from 2112)
_ELECTRON, _MUON, _PHOTON, _HADRON_MIN = 11, 13, 22, 100
#: floor of pT and E (GeV) before the log: 1 MeV, far below any reconstructed particle, keeps log finite
_LOG_FLOOR = 1e-3


def particle_types(pdg_id: np.ndarray, charge: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The type index (into :data:`PARTICLE_TYPES`) of each particle, int64 (N,).

    >>> particle_types(np.array([211, 22, 130, 22]), np.array([1, 0, 0, 0]),
    ...                np.array([0.5, 1.0, -2.0, 3.5])).tolist()
    [3, 2, 4, 6]
    """
    apdg = np.abs(np.asarray(pdg_id))
    charged = np.asarray(charge) != 0
    forward = np.abs(np.asarray(eta)) >= FORWARD_ETA
    hadron = apdg > _HADRON_MIN
    em = (apdg == _ELECTRON) | (apdg == _PHOTON)
    # np.select takes the first matching condition: muons before the forward split
    conditions = [apdg == _MUON,
                  forward & hadron, forward & em,
                  apdg == _ELECTRON, apdg == _PHOTON,
                  hadron & charged, hadron & ~charged]
    choices = [PARTICLE_TYPES.index(t) for t in ("muon", "forward_had", "forward_em", "electron",
                                                 "photon", "charged_had", "neutral_had")]
    return np.select(conditions, choices, default=PARTICLE_TYPES.index("other")).astype(np.int64)


def _checked_puppi(events: EventSet, puppi: np.ndarray) -> np.ndarray:
    puppi = np.asarray(puppi, dtype=np.float32)
    where = events.source or "events"
    if puppi.shape != (events.n_particles,):
        raise DataError(f"{where}: PUPPI weights of shape {puppi.shape} for {events.n_particles} particles")
    if not np.all(np.isfinite(puppi)) or puppi.size and (puppi.min() < 0 or puppi.max() > 1):
        raise DataError(f"{where}: PUPPI weights must be finite and in [0, 1]")
    return puppi


def particle_inputs(events: EventSet, puppi: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The (N, 16) float32 inputs of every particle of ``events`` and their names.

    ``puppi`` is one PUPPI weight per particle row (:func:`fpgakd.jets.events.puppi.puppi_weights`).
    Nothing is standardized here: each network fits its own scaling on its training events.

    >>> x, names = particle_inputs(events, puppi_weights(events))     # doctest: +SKIP
    >>> x.shape, names[5]                                             # doctest: +SKIP
    ((412345, 16), 'puppi_weight')
    """
    p = events.particles
    weights = _checked_puppi(events, puppi)
    charge = np.asarray(p["charge"], dtype=np.float32)
    has_track = (charge != 0).astype(np.float32)
    onehot = np.eye(len(PARTICLE_TYPES), dtype=np.float32)[particle_types(p["pdg_id"], charge, p["eta"])]
    x = np.column_stack([
        np.asarray(p["eta"], dtype=np.float32), np.asarray(p["phi"], dtype=np.float32),
        np.log(np.maximum(np.asarray(p["pt"], dtype=np.float64), _LOG_FLOOR)),
        np.log(np.maximum(np.asarray(p["e"], dtype=np.float64), _LOG_FLOOR)),
        charge, weights, onehot,
        np.asarray(p["d0"], dtype=np.float32) * has_track,
        np.asarray(p["dz"], dtype=np.float32) * has_track,
    ]).astype(np.float32)
    bad = ~np.isfinite(x).all(axis=0)
    if bad.any():
        raise DataError(f"{events.source or 'events'}: non-finite values in the particle inputs "
                        f"{[PARTICLE_INPUT_NAMES[i] for i in np.flatnonzero(bad)]}")
    return x, list(PARTICLE_INPUT_NAMES)
