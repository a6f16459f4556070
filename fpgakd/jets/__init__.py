"""Stage 1, jets: generation (Pythia 8 + FastJet), observables, the jet-file contract,
public-format readers, datasets and the student input preprocessing.

Nothing here imports a later stage. The public entry points are re-exported lazily
(importing this package imports neither Pythia nor FastJet):

>>> from fpgakd.jets import load_jets                     # doctest: +SKIP
>>> jets = load_jets("jets.h5")                           # doctest: +SKIP
"""

from fpgakd._lazy import lazy_exports

_EXPORTS = {"generate_jets": "generate", "GenerationOptions": "options",
            "load_jets": "loading", "default_jets_path": "loading",
            "high_level_features": "observables", "JetDataset": "dataset"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
