"""TensorFlow set up so that the same seed gives the same numbers on any machine.

Measured on the teacher (a Deep Sets network trained on the same jets with the same seed):

* oneDNN kernels depend on the processor: the same training with oneDNN limited to AVX2
  (``ONEDNN_MAX_CPU_ISA=AVX2``, as on a machine without AVX-512) gave other weights than
  with AVX-512. With oneDNN off, TensorFlow uses its own (Eigen) kernels, built for one
  instruction set whatever the processor.
* Eigen splits reductions by thread count: 1 and 2 intra-op threads gave other weights.
  The thread count is therefore fixed (:data:`TF_THREADS`) instead of following the cores.
* ``enable_op_determinism`` removes what scheduling order is left.
* Even with oneDNN's graph rewrites off, TensorFlow's matrix products run on oneDNN's
  ``sgemm`` (its Eigen contraction kernel), which picks its code by the processor at run
  time: the same small training gave other weights on an AVX-512 processor than with
  ``ONEDNN_MAX_CPU_ISA=AVX2``, and other again with ``AVX``. The instruction set is
  therefore capped at AVX2 (:data:`ONEDNN_ISA`), which every x86-64 processor of the last
  decade has: an AVX-512 machine then computes what an AVX2 machine does.

With all four, a teacher trained on 1 core and on 2 gave identical weights, and the default
``fpgakd distill`` printed the same tables on an AVX2 AMD EPYC and an AVX-512 Intel Xeon.
The cost on the 2-core reference machine is in the README (benchmarks/bench_distill.py).
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["configure_tensorflow", "TF_THREADS", "ONEDNN_ISA"]

log = logging.getLogger(__name__)

#: intra- and inter-op threads of every training: the reference machine's core count, so
#: the figures measured there are the ones anyone gets. ``FPGAKD_TF_THREADS`` overrides it
#: (at the price of other rounding in the teacher).
TF_THREADS = 2
#: the highest instruction set oneDNN's kernels may use (its ``ONEDNN_MAX_CPU_ISA``); a user
#: who sets that variable keeps their choice, at the price of other rounding
ONEDNN_ISA = "AVX2"
_ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"
_ONEDNN_ISA_ENV = "ONEDNN_MAX_CPU_ISA"
_configured = False


def _threads() -> int:
    text = os.environ.get("FPGAKD_TF_THREADS", str(TF_THREADS))
    if not text.isdigit() or int(text) < 1:
        from fpgakd.errors import ConfigError
        raise ConfigError(f"environment variable FPGAKD_TF_THREADS: got {text!r}, expected an integer >= 1")
    return int(text)


def configure_tensorflow() -> None:
    """Import TensorFlow with oneDNN off, its instruction set capped, fixed thread counts and
    deterministic ops (once).

    Called by every training entry point before it builds a model; a user who imported
    TensorFlow earlier keeps their settings, with a warning that the numbers may then
    depend on the machine.

    >>> configure_tensorflow()                                   # doctest: +SKIP
    """
    global _configured
    if _configured:
        return
    # oneDNN reads its cap at its first product, not at import: in time unless one ran already
    os.environ.setdefault(_ONEDNN_ISA_ENV, ONEDNN_ISA)
    if "tensorflow" not in sys.modules:
        os.environ.setdefault(_ONEDNN_ENV, "0")
    elif os.environ.get(_ONEDNN_ENV) != "0":
        log.warning("TensorFlow was imported before fpgakd could switch oneDNN off: trained "
                    "numbers may differ between processors (set %s=0 before importing it)", _ONEDNN_ENV)
    import tensorflow as tf

    threads = _threads()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        if tf.config.threading.get_intra_op_parallelism_threads() != threads:
            log.warning("TensorFlow was already running with other thread settings: trained "
                        "numbers may differ from a fresh process")
    tf.config.experimental.enable_op_determinism()
    _configured = True
