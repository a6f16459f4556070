"""PUPPI's parameters: the eta regions and event-wide settings of CMS's ``PuppiProducer``.

The defaults are CMS's Phase-2 configuration (CMSSW ``CommonTools/PileupAlgos/python/Puppi_cff.py``,
the ``phase2_common`` modifier; the algorithm in ``PuppiContainer.cc`` / ``PuppiAlgo.cc``):
fpgakd's detector is the Phase-2 tracker's acceptance (|eta| < 4) at HL-LHC pileup. Where
fpgakd's detector and event model differ from CMS's, a default is tuned on a tuning sample
(``benchmarks/bench_puppi_tune.py``) and its comment says so. Named presets live in
``puppi_configs/*.yaml`` (:func:`load_puppi_config`): ``cms_phase2`` (CMS's values untouched),
``cms_run2`` (the Run-2 offline tune) and ``bertolini2014`` (the original paper's choices).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from fpgakd.config import check_field, config_from_dict, load_yaml_mapping, resolve_config_path

__all__ = ["PuppiRegion", "PuppiConfig", "PUPPI_CONFIG_DIR", "load_puppi_config", "region_of"]

#: folder of the named presets, beside ``models/`` and ``firmware_configs/``
PUPPI_CONFIG_DIR = "puppi_configs"


@dataclass(frozen=True)
class PuppiRegion:
    """One |eta| bin of CMS's ``algos`` (a ``PuppiAlgo`` PSet entry), half-open ``[eta_min, eta_max)``.

    >>> PuppiRegion(0.0, 2.5, charged_neighbours=True, min_neutral_pt=0.2, min_neutral_pt_slope=0.015).pt_min
    0.0
    """

    eta_min: float
    eta_max: float
    #: alpha's neighbours: the charged primary-vertex particles (CMS ``useCharged``, the
    #: tracker's alpha^C) or every particle (the forward alpha^F)
    charged_neighbours: bool
    #: GeV, a neutral particle's ``w pT`` must pass min_neutral_pt + slope * nPV (CMS
    #: ``MinNeutralPt``, ``MinNeutralPtSlope``)
    min_neutral_pt: float
    min_neutral_pt_slope: float
    #: GeV; particles at or below it get weight 0 (CMS ``ptMin``, 0 in every CMS region)
    pt_min: float = 0.0
    #: the pileup median and RMS, measured on central charged pileup, scaled for this bin
    #: (CMS ``MedEtaSF``, ``RMSEtaSF``; 1 where the alpha is measured)
    med_eta_sf: float = 1.0
    rms_eta_sf: float = 1.0
    #: GeV; charged pileup below it is left out of the median and RMS (CMS ``rmsPtMin``:
    #: 0.1 for the charged alpha, 0.5 for the all-particle alpha)
    rms_pt_min: float = 0.1

    def __post_init__(self) -> None:
        check_field(self.eta_min >= 0, "eta_min", self.eta_min, "a number >= 0 (|eta|)")
        check_field(self.eta_max > self.eta_min, "eta_max", self.eta_max, "a number > eta_min")
        check_field(self.min_neutral_pt >= 0, "min_neutral_pt", self.min_neutral_pt, "a number >= 0 (GeV)")
        check_field(0 <= self.min_neutral_pt_slope <= 1, "min_neutral_pt_slope", self.min_neutral_pt_slope,
                    "a number in [0, 1] (GeV per vertex)")
        check_field(self.pt_min >= 0, "pt_min", self.pt_min, "a number >= 0 (GeV)")
        check_field(0 < self.med_eta_sf <= 10, "med_eta_sf", self.med_eta_sf, "a number in (0, 10]")
        check_field(0 < self.rms_eta_sf <= 10, "rms_eta_sf", self.rms_eta_sf, "a number in (0, 10]")
        check_field(self.rms_pt_min >= 0, "rms_pt_min", self.rms_pt_min, "a number >= 0 (GeV)")


#: fpgakd's regions, CMS's Phase-2 ones (Puppi_cff.py, phase2_common): the charged alpha up to
#: |eta| 3.5 in two bins (MinNeutralPt 0.2 GeV; MinNeutralPtSlope 0.015 and 0.030 GeV per
#: vertex; RMSEtaSF and MedEtaSF 1; rmsPtMin 0.1), the all-particle alpha beyond (MinNeutralPt 2.0, slope 0.08,
#: RMSEtaSF 1.0, MedEtaSF 0.75, rmsPtMin 0.5). The two charged slopes are tuned for fpgakd
#: (with cone_r and dz_cut; benchmarks/bench_puppi_tune.py, 600 tuning events at mu 140):
#: 0.020 and 0.010 instead of 0.015 and 0.030. CMS's leave the central pileup in (median
#: pT-miss response +0.38) and cut the 2.5-3.5 jets' neutrals; fpgakd keeps no particle
#: below 0.5 GeV and counts every vertex, so its nPV and neutral spectrum are not CMS's.
DEFAULT_REGIONS = (
    PuppiRegion(0.0, 2.5, True, 0.2, 0.020, rms_pt_min=0.1),
    PuppiRegion(2.5, 3.5, True, 0.2, 0.010, rms_pt_min=0.1),
    PuppiRegion(3.5, 10.0, False, 2.0, 0.08, med_eta_sf=0.75, rms_eta_sf=1.0, rms_pt_min=0.5),
)


@dataclass(frozen=True)
class PuppiConfig:
    """PUPPI's parameters; each default names its source.

    >>> PuppiConfig().cone_r
    0.2
    >>> [r.eta_max for r in PuppiConfig().regions]
    [2.5, 3.5, 10.0]
    """

    #: R0, alpha's cone: CMS's is 0.4 (CMSSW Puppi_cff.py, puppiCentral / puppiForward
    #: ``cone``; 0.3 in its first tune); tuned to 0.2 for fpgakd (bench_puppi_tune.py: with
    #: 0.4 or 0.3 no slope brings the median pT-miss response within 0.1 while keeping 90%
    #: of the generator jets; fpgakd's alpha sees no particle below 0.5 GeV)
    cone_r: float = 0.2
    #: R_min: closer neighbours are left out of alpha (CMSSW PuppiContainer::var_within_R
    #: skips dR^2 < 0.0001)
    min_r: float = 0.01
    #: cm; a track with |dz| below it belongs to the primary vertex, any other to pileup
    #: (CMS Phase-2 ``DeltaZCut`` with ``EtaMinUseDeltaZ`` -1 and the default
    #: ``UseDeltaZCutForPileup``: fpgakd fits no vertices, so every track is treated as CMS
    #: treats the tracks that no vertex fit claimed). CMS's 0.1 is tuned to 0.05 for
    #: fpgakd's dz resolution (30 um (+) 150 um / pT; bench_puppi_tune.py)
    dz_cut: float = 0.05
    #: charged particles inside it have a track (the CMS Phase-2 tracker, |eta| < 4,
    #: CERN-LHCC-2017-009); charged particles beyond it are weighted like neutrals
    tracker_eta: float = 4.0
    #: the pileup median and RMS come from charged pileup inside |eta| < this (CMS ``EtaMaxExtrap``)
    extrap_eta: float = 2.0
    #: weights below this become 0 (CMS ``MinPuppiWeight``)
    weight_cut: float = 0.01
    #: move the median and RMS by the charged primary-vertex particles below the median
    #: (CMS ``applyLowPUCorr``, on in every CMS region)
    low_pu_correction: bool = True
    #: GeV; a neutral's weight is at least (pT - start) / (pt_max_neutrals - start), protecting
    #: hard neutrals; <= 0 turns it off (CMS ``PtMaxNeutrals`` 200, Phase-2 ``PtMaxNeutralsStartSlope`` 0)
    pt_max_neutrals: float = 200.0
    pt_max_neutrals_start: float = 0.0
    #: the |eta| bins, each with its alpha and cuts (CMS Phase-2 ``algos``, charged slopes tuned)
    regions: tuple[PuppiRegion, ...] = DEFAULT_REGIONS

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", tuple(self.regions))
        # R0 < 1 keeps one duplicate per particle enough at the phi seam
        check_field(0.0 < self.cone_r < 1.0, "cone_r", self.cone_r, "a number in (0, 1)")
        # R_min > 0 keeps a particle from being its own neighbour
        check_field(0.0 < self.min_r < self.cone_r, "min_r", self.min_r, "a number in (0, cone_r)")
        check_field(self.dz_cut > 0, "dz_cut", self.dz_cut, "a number > 0 (cm)")
        check_field(self.tracker_eta > 0, "tracker_eta", self.tracker_eta, "a number > 0")
        check_field(self.extrap_eta > 0, "extrap_eta", self.extrap_eta, "a number > 0")
        check_field(0.0 <= self.weight_cut < 1.0, "weight_cut", self.weight_cut, "a number in [0, 1)")
        check_field(self.pt_max_neutrals <= 0 or self.pt_max_neutrals > self.pt_max_neutrals_start,
                    "pt_max_neutrals", self.pt_max_neutrals, "a number > pt_max_neutrals_start, or <= 0 (off)")
        check_field(len(self.regions) > 0, "regions", self.regions, "a non-empty list of eta regions")
        ordered = sorted(self.regions, key=lambda r: r.eta_min)
        check_field(all(a.eta_max <= b.eta_min for a, b in zip(ordered, ordered[1:])), "regions",
                    [(r.eta_min, r.eta_max) for r in self.regions], "eta ranges that do not overlap")


def region_of(config: PuppiConfig, abs_eta: float) -> int:
    """Index of the region holding ``abs_eta``, or -1 (outside every region: weight 0).

    >>> region_of(PuppiConfig(), 3.0), region_of(PuppiConfig(), 12.0)
    (1, -1)
    """
    for i, region in enumerate(config.regions):
        if region.eta_min <= abs_eta < region.eta_max:
            return i
    return -1


def load_puppi_config(name_or_path: str | os.PathLike) -> PuppiConfig:
    """A named preset under ``puppi_configs/`` (or a YAML path), validated once.

    >>> load_puppi_config("bertolini2014").cone_r
    0.3
    """
    path = resolve_config_path(name_or_path, PUPPI_CONFIG_DIR)
    return config_from_dict(PuppiConfig, load_yaml_mapping(path), str(path))
