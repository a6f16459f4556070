"""Events with pileup (stage 1, for DistillNet): a hard process overlaid with Poisson(mu)
minimum-bias interactions, every particle's truth flag, each event's no-pileup truth, PUPPI
and the 16 per-particle inputs of Bal et al. 2024.

:mod:`fpgakd.jets.events.eventfile` is the file contract (:class:`EventSet`,
:func:`write_events`, :func:`load_events`). Generation: :mod:`~fpgakd.jets.events.options`
(:class:`PileupOptions`, the process presets), :mod:`~fpgakd.jets.events.minbias` (the cached
minimum-bias library), :mod:`~fpgakd.jets.events.interactions` (Pythia -> particles with
production vertices), :mod:`~fpgakd.jets.events.overlay` (one event: pileup counts, vertices,
detector, impact parameters) and :mod:`~fpgakd.jets.events.generate` (the file,
:func:`generate_events`, :func:`default_events_path`). :mod:`~fpgakd.jets.events.puppi` the
PUPPI weights; :mod:`~fpgakd.jets.events.reconstruction` the weighted pT-miss and jets, and the
no-pileup truth, that the DistillNet verdict (:mod:`fpgakd.learn.pileup.verdict`) compares.
Nothing here imports a later stage; importing the package imports neither Pythia, FastJet nor h5py.

>>> from fpgakd.jets.events import load_events             # doctest: +SKIP
>>> events = load_events("events.h5")                      # doctest: +SKIP
"""

from fpgakd._lazy import lazy_exports

_EXPORTS = {"EventSet": "eventfile", "load_events": "eventfile", "write_events": "eventfile",
            "concat_events": "eventfile", "PileupOptions": "options", "generate_events": "generate",
            "default_events_path": "generate", "cached_events_path": "generate",
            "events_cache_path": "generate", "PuppiConfig": "puppi", "puppi_weights": "puppi",
            "particle_inputs": "particle_inputs"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
