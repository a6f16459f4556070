"""Students for the firmware tests (built, pruned by hand) and whether the RTL tools are here."""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from fpgakd.config import ModelConfig
from fpgakd.errors import ToolError
from fpgakd.jets.preprocessing import student_input_width

#: the share of each kernel's smallest weights set to zero, as pruning would
SPARSITY = 0.75


def _widths(cfg: ModelConfig) -> tuple[int, int]:
    return student_input_width(cfg.inputs), (5 if cfg.task == "classifier" else 1)


def pruned_student(cfg: ModelConfig, seed: int = 1):
    """A student with random biases and the smallest 75% of each kernel set to zero."""
    from fpgakd.learn.students import build_student

    n_in, n_out = _widths(cfg)
    model = build_student(cfg, n_in, n_out)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if hasattr(layer, "kernel") and layer.trainable:   # as pruning: a fixed mask selector is kept
            w = layer.kernel.numpy()
            w[np.abs(w) < np.quantile(np.abs(w), SPARSITY)] = 0
            layer.kernel.assign(w)
            if layer.bias is not None:   # a Deep Sets per-particle layer has none
                layer.bias.assign(rng.uniform(-0.5, 0.5, layer.bias.shape).astype(np.float32))
    return model


#: the family whose firmware tests keep its real layer sizes (the main job's student); the
#: others are checked on hidden layers narrowed to this width: the bit-exactness of a family
#: lies in its inputs, quantizers and depth, and a 35,000-LUT design costs a minute to compile
FULL_SIZE_FAMILY = "constituent_mlp"
NARROW_WIDTH = 16
#: a particle-set family's per-particle layers, narrower still: they are copied once per particle
NARROW_PARTICLE_WIDTH = 8


#: a linear student (no hidden layer) of the QKeras kind, beside the files' students in the
#: per-family firmware tests (the HGQ one has its own file, hlf_hgq_linear)
LINEAR_QKERAS = "hlf_mlp linear"


def named_student_config(name: str) -> ModelConfig:
    """The student of ``models/<name>.yaml``, or for ``"<name> linear"`` that student without hidden layers."""
    from fpgakd.config import load_model_config

    base, _, variant = name.partition(" ")
    cfg = load_model_config(base)
    return dataclasses.replace(cfg, hidden=()) if variant == "linear" else cfg


def firmware_test_config(cfg: ModelConfig) -> ModelConfig:
    """``cfg`` as the per-family firmware tests build it: real sizes for
    :data:`FULL_SIZE_FAMILY`, hidden widths capped at :data:`NARROW_WIDTH` otherwise (the
    per-particle ones and an interaction's at :data:`NARROW_PARTICLE_WIDTH`)."""
    if cfg.name == FULL_SIZE_FAMILY:
        return cfg
    def narrow(widths: tuple[int, ...], width: int) -> tuple[int, ...]:
        return tuple(min(w, width) for w in widths)
    return dataclasses.replace(cfg, hidden=narrow(cfg.hidden, NARROW_WIDTH),
                               particle_hidden=narrow(cfg.particle_hidden, NARROW_PARTICLE_WIDTH),
                               interaction=min(cfg.interaction, NARROW_PARTICLE_WIDTH))


#: held while one test process starts the RTL tools for the first time (see have_rtl_tools);
#: one per Python environment, because numba's cache of da4ml lives in that environment
_FIRST_START_LOCK = Path(tempfile.gettempdir()) / (
    "fpgakd-rtl-first-start-" + hashlib.sha256(sys.prefix.encode()).hexdigest()[:12] + ".lock")


def start_rtl_tools_once() -> None:
    """The RTL tools' first start (:func:`fpgakd.firmware.rtl.jit_warmup.warm_jit_cache`), in
    a process of its own before any test process starts, so that no test compiles them beside
    another one; nothing is said if they are not installed (their tests skip)."""
    with _FIRST_START_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run([sys.executable, "-m", "fpgakd.firmware.rtl.jit_warmup"], capture_output=True, check=False)


@functools.cache
def have_rtl_tools() -> bool:
    """Whether da4ml, Yosys and Verilator all run; asked once per process.

    In a fresh environment the first start is the costly part (yowasp compiles Yosys to machine
    code, 49 s of CPU; numba compiles da4ml's solver, 62 s at -O1), and both land in caches.
    ``pytest --runslow`` does it before its test processes start (:func:`start_rtl_tools_once`);
    otherwise the first test process to ask does it while holding a lock, so another waits for
    the caches instead of compiling the same code beside it.
    """
    from fpgakd.firmware.rtl.jit_warmup import warm_jit_cache
    from fpgakd.firmware.rtl.tools import check_rtl_tools

    with _FIRST_START_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            check_rtl_tools()
        except ToolError:
            return False
        warm_jit_cache()
    return True
