"""fpgakd: distil jet-tagging teachers into quantized, pruned students and hls4ml firmware.

One package per pipeline stage; each hands the next a file and its resolved config:

* ``fpgakd.jets``: jets generated with Pythia 8 + FastJet or read from public formats;
* ``fpgakd.learn``: the teacher and its soft targets, then the distilled student;
* ``fpgakd.firmware``: the HLS project, its bit-exact check, and the report.

Shared pieces (config, errors, atomic writes, figures, the cache) sit beside them; the
command line (``fpgakd.cli``) is a thin porch over the stages' functions.

Importing the package has no side effects; heavy dependencies (TensorFlow, hls4ml,
Pythia) are imported inside the stages that need them.
"""

__version__ = "0.1.0"

from fpgakd.errors import FpgakdError

__all__ = ["FpgakdError", "__version__"]
