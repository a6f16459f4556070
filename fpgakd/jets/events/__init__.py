"""Events with pileup (stage 1, for DistillNet): a hard process overlaid with Poisson(mu)
minimum-bias interactions, every particle's truth flag, each event's no-pileup truth, PUPPI
and the 16 per-particle inputs of Bal et al. 2024.

:mod:`fpgakd.jets.events.eventfile` is the file contract (:class:`EventSet`,
:func:`write_events`, :func:`load_events`). Nothing here imports a later stage; importing the
package imports neither Pythia, FastJet nor h5py.

>>> from fpgakd.jets.events import load_events             # doctest: +SKIP
>>> events = load_events("events.h5")                      # doctest: +SKIP
"""

from fpgakd._lazy import lazy_exports

_EXPORTS = {"EventSet": "eventfile", "load_events": "eventfile", "write_events": "eventfile",
            "concat_events": "eventfile", "particle_inputs": "particle_inputs"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
