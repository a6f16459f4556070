"""Trace a student's arithmetic with da4ml, with QKeras's half-to-even rounding built from
truncations (an HGQ proxy's formats map onto da4ml's own modes), and pipeline it at a clock
target."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from fpgakd.errors import ConfigError
from fpgakd.firmware.rtl.student import StudentSpec, extract_student
from fpgakd.firmware.rtl.tools import da4ml_version
from fpgakd.firmware.rtl.traced_ops import columns, concatenate, pool_particles


#: Default pipelining: at most 5 adder levels per register stage (da4ml's CLI default).
DEFAULT_LATENCY_CUTOFF = 5.0

# --------------------------------------------------------------------------------------
# da4ml trace
# --------------------------------------------------------------------------------------

@dataclass
class RtlTrace:
    """A traced student: the da4ml combinational logic, its pipeline and bookkeeping."""

    spec: StudentSpec
    comb: Any                      # da4ml CombLogic
    pipeline: Any | None           # da4ml Pipeline, None for purely combinational logic
    clock_ns: float
    latency_cutoff: float | None
    rounding: str
    trace_s: float
    pipeline_s: float
    #: entries of hls4ml's sigmoid table after the logit, None for a linear output
    sigmoid_table_size: int | None = None

    @property
    def stages(self) -> int:
        return len(self.pipeline.solutions) if self.pipeline is not None else 0

    def delay_model(self) -> dict[str, Any]:
        """da4ml's own cost/delay model figures (a model, not a timing or synthesis result)."""
        comb_lat = self.comb.latency[1]
        out: dict[str, Any] = {
            "comb_delay_adder_levels": float(comb_lat),
            "estimated_lut_cost": float(self.comb.cost),
            "source": f"da4ml {da4ml_version()} delay/cost model (adder levels, LUT estimate); a model, "
                      "not a timing report",
        }
        if self.pipeline is not None:
            stage_lat = [float(st.latency[1]) for st in self.pipeline.solutions]
            out["stage_delay_adder_levels_max"] = max(
                b - a for a, b in zip([0.0] + stage_lat[:-1], stage_lat)) if stage_lat else 0.0
            out["reg_bits"] = int(self.pipeline.reg_bits)
        return out


def _trunc(v: Any, f: int) -> Any:
    """floor(v * 2^f) / 2^f on a da4ml FixedVariable (WRAP keeps v's own sign/integer bits)."""
    k, i, _ = v.kif
    return v.quantize(k=k, i=i, f=f, overflow_mode="WRAP", round_mode="TRN")


def _round_half_even(v: Any, f: int) -> Any:
    """Round an unsigned FixedVariable to f fractional bits, half to even (tf.round), exactly.

    da4ml rounds only TRN/RND on arithmetic signals, so this is built from truncations and
    adds. With x on a 2^-F grid (F > f), h = 2^-(f+1), base = trunc(x, f), b = bit f of x
    (the kept LSB) and low = x - base (the dropped bits):
        carry = trunc(low + h - 2^-F + b * 2^-F, f)      # 0 or 2^-f
        he(x) = base + carry
    carry is 1 exactly when low > h, or low == h (a tie) and b == 1 (odd -> up to even);
    low is on the 2^-F grid, so "low > h" means "low >= h + 2^-F". base, b and low are bit
    slices of x (da4ml 'wrap' ops, free wiring); the cost is one (F-f+1)-bit adder for the
    carry and one output-width incrementer, instead of two full-width adders.
    """
    if v.low == v.high:   # a constant (e.g. a neuron whose weights were all pruned): exact arithmetic
        q = float(v.low) * 2.0 ** f
        n = math.floor(q)
        r = q - n
        return (n + (1 if (r > 0.5 or (r == 0.5 and n % 2 == 1)) else 0)) * 2.0 ** -f
    k, _, F = v.kif
    if F <= f:
        return v
    if k:
        raise ValueError("_round_half_even expects an unsigned (relu'd) variable")
    base = _trunc(v, f)
    low = v.quantize(k=0, i=-f, f=F, overflow_mode="WRAP", round_mode="TRN")      # x mod 2^-f
    b = base.quantize(k=0, i=1 - f, f=f, overflow_mode="WRAP", round_mode="TRN")  # b * 2^-f
    t = low + b * 2.0 ** (f - F) + (2.0 ** -(f + 1) - 2.0 ** -F)
    carry = _trunc(t, f)
    return base + carry


def _traced_relu(h: Any, bits: int, f: int, rounding: str) -> Any:
    """quantized_relu(bits, integer=bits-f) on a FixedVariableArray, exactly as QKeras does it.

    relu first (no i=: da4ml's relu(i=) wraps instead of saturating), then round, then
    saturate with quantize(k=0, i, f, SAT) to [0, 2^i - 2^-f]. relu before rounding is
    equivalent: a negative x rounds to <= 0 and is clipped to 0 either way.
    """
    from da4ml.trace import FixedVariableArray

    integer = bits - f
    flat = h.relu()._vars.ravel()
    out = []
    for v in flat:
        if rounding == "half_even":
            r = _round_half_even(v, f)
        elif rounding == "rnd":         # da4ml's half-up: kept only to show it is *not* exact
            r = v.quantize(k=0, i=integer + 1, f=f, overflow_mode="WRAP", round_mode="RND") \
                if v.low != v.high else v
        elif rounding == "trn":
            r = _trunc(v, f) if v.low != v.high else v
        else:
            raise ValueError(f"rounding must be half_even, rnd or trn, got {rounding!r}")
        out.append(r)
    arr = FixedVariableArray(np.array(out, dtype=object).reshape(h.shape), h.solver_options)
    return arr.quantize(k=0, i=integer, f=f, overflow_mode="SAT")


def _traced_sigmoid(logit: Any, table_size: int) -> Any:
    """hls4ml's sigmoid of one traced logit: its table index in adders, then a da4ml lookup table.

    The index is ``trunc(logit * table_size / 16)`` toward zero (C's int conversion), clipped
    to [-table_size/2, table_size/2 - 1]; the table holds
    :func:`fpgakd.firmware.sigmoid.sigmoid_table` over the index range the logit can reach,
    so the output is the emulated firmware output bit for bit.
    """
    from fpgakd.firmware.sigmoid import TABLE_RANGE, sigmoid_table

    half = table_size // 2
    y = logit * float(table_size // TABLE_RANGE)          # a power of two: wiring only
    k, i, f = y.kif
    if f > 0:
        floor = _trunc(y, 0)
        # ceil(y) = floor(y + 1 - 2^-f) on the 2^-f grid; a negative y takes it (toward zero)
        y = y.msb_mux(_trunc(y + (1.0 - 2.0 ** -f), 0), floor) if k else floor
    index = y.quantize(k=1, i=int(math.log2(half)), f=0, overflow_mode="SAT")
    table = sigmoid_table(table_size)
    if index.low == index.high:
        return index.from_const(float(table[int(index.low) + half]), hwconf=index.hwconf)
    reachable = np.arange(int(index.low), int(index.high) + 1, int(index.step)) + half
    return index.lookup(np.asarray(table[reachable], dtype=np.float64))


def trace_student(model: Any, *, clock_ns: float = 4.167, latency_cutoff: float | None = DEFAULT_LATENCY_CUTOFF,
                  hard_dc: int = 2, rounding: str = "half_even",
                  sigmoid_table_size: int | None = None) -> RtlTrace:
    """Trace a QKeras student (or an HGQ proxy model, :mod:`fpgakd.firmware.rtl.hgq_proxy`)
    into da4ml combinational logic and (optionally) pipeline it.

    ``latency_cutoff`` is da4ml's pipelining knob: at most that many adder levels (its delay
    model) between registers; None writes purely combinational logic. ``clock_ns`` only goes
    into the timing constraints. ``hard_dc`` bounds each matrix-vector block's adder depth
    beyond the minimum (da4ml CLI default 2). ``rounding`` other than "half_even" exists only
    to demonstrate that da4ml's own RND/TRN modes are *not* bit-exact with QKeras.
    ``sigmoid_table_size`` appends hls4ml's sigmoid table of that size after the logit.

    Unsupported layers raise ConfigError naming the layer; a float model raises RtlUnsupported.

    >>> tr = trace_student(model, clock_ns=4.167, latency_cutoff=5)   # doctest: +SKIP
    >>> tr.stages                                                     # doctest: +SKIP
    8
    """
    from fpgakd.learn.hgq_students import is_hgq_proxy

    da4ml_version()
    from da4ml.trace import comb_trace, to_pipeline

    t0 = time.perf_counter()
    if is_hgq_proxy(model):
        from fpgakd.firmware.rtl.hgq_proxy import extract_proxy, trace_proxy

        spec: Any = extract_proxy(model)
        inp, h = trace_proxy(spec, hard_dc)
        rounding = "proxy"      # the proxy's own TRN/RND per quantizer
    else:
        spec = extract_student(model)
        inp, h = _trace_qkeras(spec, hard_dc, rounding)
    if sigmoid_table_size is not None:
        h = _append_traced_sigmoid(h, sigmoid_table_size)
    comb = comb_trace(inp, h)
    t1 = time.perf_counter()
    pipe = None
    if latency_cutoff is not None:
        if latency_cutoff <= 0:
            raise ConfigError(f"latency_cutoff must be > 0 or None, got {latency_cutoff}")
        pipe = to_pipeline(comb, latency_cutoff, verbose=False)
    t2 = time.perf_counter()
    return RtlTrace(spec, comb, pipe, float(clock_ns), latency_cutoff, rounding, t1 - t0, t2 - t1,
                    sigmoid_table_size)


def _traced_update(spec: StudentSpec, h: Any, particles: Any, rounding: str) -> Any:
    """An interaction student's update step (:mod:`fpgakd.firmware.rtl.update`), pooled: W2 a + b
    once, added to W1 h_i of every particle, the relu, the mask bit as a mux, the pooling."""
    from da4ml.trace import FixedVariableArray

    up = spec.update

    def weights(d: Any) -> tuple[np.ndarray, np.ndarray]:
        return d.kernel.astype(np.float64) * 2.0 ** -d.kernel_f, d.bias.astype(np.float64) * 2.0 ** -d.bias_f

    w1, _ = weights(up.particle)
    w2, b2 = weights(up.aggregate)
    aggregate = pool_particles(h, spec.pooling, spec.pool_shift) @ w2
    if np.any(b2 != 0):
        aggregate = aggregate + b2
    u = _traced_relu(h @ w1 + aggregate, up.relu[0], up.relu[1], rounding)
    mask = _traced_relu(particles[:, up.mask_column], 1, 0, rounding)
    gated = [[m.msb_mux(v, 0.0) for v in row] for m, row in zip(mask._vars, u._vars)]
    return pool_particles(FixedVariableArray(np.array(gated, dtype=object), u.solver_options), spec.pooling,
                          spec.pool_shift)


def _append_traced_sigmoid(h: Any, table_size: int) -> Any:
    """hls4ml's sigmoid table after every traced logit of ``h`` (QKeras or HGQ proxy alike)."""
    from da4ml.trace import FixedVariableArray

    flat = [_traced_sigmoid(v, table_size) for v in h._vars.ravel()]
    return FixedVariableArray(np.array(flat, dtype=object).reshape(h.shape), h.solver_options)


def _trace_qkeras(spec: StudentSpec, hard_dc: int, rounding: str) -> tuple[Any, Any]:
    """(da4ml input array, traced output array) of a QKeras student's integer spec."""
    from da4ml.trace import FixedVariableArray

    k, i, f = spec.input_kif
    n_in = spec.n_in
    inp = FixedVariableArray.from_kif(np.full(n_in, k), np.full(n_in, i), np.full(n_in, f),
                                      solver_options={"hard_dc": hard_dc})
    n_particle_columns = n_in - spec.n_hlf
    h = columns(inp, 0, n_particle_columns).reshape(spec.n_particles, -1) if spec.n_particles else inp
    for n, layer in enumerate(spec.layers):
        if spec.update is not None and n == spec.n_particle_layers:
            h = _traced_update(spec, h, inp.reshape(spec.n_particles, -1), rounding)
        elif spec.pooling is not None and n == spec.n_particle_layers:
            h = pool_particles(h, spec.pooling, spec.pool_shift)
            if spec.n_hlf:   # the features join the pooled particles as they are (wiring)
                h = concatenate(h, columns(inp, n_particle_columns, n_in))
        # float64 weight/bias values are exact (codes * 2^-f with small codes); da4ml solves
        # the constant matrix-vector product as shift-adds (no DSPs).
        w = layer.kernel.astype(np.float64) * 2.0 ** -layer.kernel_f
        b = layer.bias.astype(np.float64) * 2.0 ** -layer.bias_f
        h = h @ w
        if np.any(b != 0):
            h = h + b
        if layer.relu is not None:
            bits, rf = layer.relu
            h = _traced_relu(h, bits, rf, rounding)
    return inp, h


