"""fpgakd: distil jet-tagging teachers into quantized, pruned students and hls4ml firmware.

Pipeline (each stage hands the next a file and its resolved config):
jets (``fpgakd.generate`` / ``fpgakd.data``) -> soft targets (``fpgakd.teacher``)
-> student (``fpgakd.distill``) -> HLS project (``fpgakd.firmware``) -> report (``fpgakd.reports``).

Importing the package has no side effects; heavy dependencies (TensorFlow, hls4ml,
Pythia) are imported inside the stages that need them.
"""

__version__ = "0.1.0"

from fpgakd.errors import FpgakdError

__all__ = ["FpgakdError", "__version__"]
