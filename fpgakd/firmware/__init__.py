"""Stage 3, firmware: hls4ml conversion into an HLS project, the bit-exact C-simulation
check, synthesis or the labelled resource estimate, and the normalised reports.

Reads student files (stage 2). Entry points are re-exported lazily (no hls4ml import
until used):

>>> from fpgakd.firmware import synthesize_run, read_project_report   # doctest: +SKIP
"""

from fpgakd._lazy import lazy_exports

_EXPORTS = {"synthesize": "synth", "synthesize_run": "synth", "convert_model": "hls",
            "read_project_report": "reports", "estimate_resources": "estimate"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
