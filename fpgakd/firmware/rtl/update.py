"""The update step of an interaction student (:mod:`fpgakd.learn.interaction_students`) in
integers: read from the Keras layers exactly, and its int64 replica of Keras's forward pass.

With h_i the per-particle codes (at the phi relu's 2^-f_h) and a their pooling (a mean: the
sum read with log2(N) more fractional bits):

    acc_i = (W1 h_i) << s1 + (W2 a + b) << s2      aligned at the finer of the two scales
    u_i   = clip(round_half_even(acc_i), 0, 2^bits - 1) * m_i
    z     = sum_i u_i (mean) or max_i u_i

m_i is the particle's mask bit: its input code rounded half to even to an integer, clipped to
[0, 1] (``quantized_relu(1, 1)`` on the mask column, which the ``mask`` layer's fixed kernel
copies into every channel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fpgakd.errors import ConfigError
from fpgakd.firmware.rtl.codes import (DenseSpec, _check_relu_settings, _qname, _round_half_even_int,
                                       read_qdense_codes, shift_right)

__all__ = ["UpdateSpec", "read_update", "update_forward"]


@dataclass
class UpdateSpec:
    """The update step in integers: W1 on each particle, W2 and the bias on the aggregate, the
    relu of their sum, the mask bit's column, and the second pooling (the spec's own)."""

    particle: DenseSpec          # W1, no bias, input at the phi relu's scale
    aggregate: DenseSpec         # W2 and b, input at the pooled scale
    relu: tuple[int, int]        # (bits, f) of the update's quantized_relu
    relu_name: str
    mask_column: int             # the mask's column among a particle's inputs
    mask_in_f: int               # fractional bits of that input code

    @property
    def acc_f(self) -> int:
        """Fractional bits of the exact sum of both halves."""
        return max(self.particle.acc_f, self.aggregate.acc_f)

    def nonzero_weights(self) -> int:
        return int(np.count_nonzero(self.particle.kernel) + np.count_nonzero(self.aggregate.kernel))


def _relu_bits(layer: Any, where: str) -> tuple[int, int]:
    """(bits, f) of a QActivation(quantized_relu)."""
    q = getattr(layer, "quantizer", None)
    if _qname(q) != "quantized_relu":
        raise ConfigError(f"{where}: expected QActivation(quantized_relu), got {_qname(q)}")
    _check_relu_settings(q, where)
    return int(q.bits), int(q.bits) - int(q.integer)


def _mask_column(model: Any, n_columns: int) -> int:
    """The column the ``mask`` layer copies, refusing any other kernel and any mask quantizer
    but the 0/1 bit."""
    from fpgakd.learn.interaction_students import MASK_BIT, MASK_LAYER

    layer = model.get_layer(MASK_LAYER)
    where = f"layer '{MASK_LAYER}' ({type(layer).__name__})"
    kernel = read_qdense_codes(layer, where, 0).kernel
    ones = [c for c in range(kernel.shape[0]) if np.all(kernel[c] == 1)]
    if kernel.shape[0] != n_columns or len(ones) != 1 or np.count_nonzero(kernel) != kernel.shape[1]:
        raise ConfigError(f"{where}: the RTL flow needs the fixed mask selector (1 on one input column, "
                          "0 elsewhere); was it trained or pruned?")
    if _relu_bits(model.get_layer(MASK_BIT), f"layer '{MASK_BIT}'") != (1, 0):
        raise ConfigError(f"layer '{MASK_BIT}': the RTL flow needs quantized_relu(1, 1), a 0/1 bit")
    return ones[0]


def read_update(model: Any, spec: Any) -> UpdateSpec:
    """The update step of interaction ``model``, whose Deep Sets chain ``spec`` (a
    :class:`~fpgakd.firmware.rtl.student.StudentSpec`) holds; the head's first layer then
    reads the update's relu, pooled.

    >>> spec = extract_student(build_student(load_model_config("jedi_linear_16"), 64, 5))  # doctest: +SKIP
    >>> spec.update.relu, spec.update.mask_column                                            # doctest: +SKIP
    ((8, 5), 3)
    """
    from fpgakd.learn.interaction_students import UPDATE_AGGREGATE, UPDATE_PARTICLE, UPDATE_POOL, UPDATE_RELU

    h_f = spec.layers[spec.n_particle_layers - 1].relu[1]
    particle = read_qdense_codes(model.get_layer(UPDATE_PARTICLE), f"layer '{UPDATE_PARTICLE}'", h_f)
    aggregate = read_qdense_codes(model.get_layer(UPDATE_AGGREGATE), f"layer '{UPDATE_AGGREGATE}'",
                                  h_f + spec.pool_shift)
    if np.any(particle.bias != 0):
        raise ConfigError(f"layer '{UPDATE_PARTICLE}': the per-particle half of the update has no bias")
    width_in = spec.layers[spec.n_particle_layers - 1].kernel.shape[1]
    if particle.kernel.shape != aggregate.kernel.shape or particle.kernel.shape[0] != width_in:
        raise ConfigError(f"layers '{UPDATE_PARTICLE}', '{UPDATE_AGGREGATE}': shapes "
                          f"{particle.kernel.shape}, {aggregate.kernel.shape} do not follow {width_in} features")
    pool = type(model.get_layer(UPDATE_POOL)).__name__
    if ("mean" if pool == "GlobalAveragePooling1D" else "max") != spec.pooling:
        raise ConfigError(f"layer '{UPDATE_POOL}' ({pool}): the RTL flow pools both times alike ({spec.pooling})")
    relu = _relu_bits(model.get_layer(UPDATE_RELU), f"layer '{UPDATE_RELU}'")
    n_columns = spec.n_in // spec.n_particles
    update = UpdateSpec(particle, aggregate, relu, UPDATE_RELU, _mask_column(model, n_columns), spec.input_kif[2])
    head = spec.layers[spec.n_particle_layers]
    if head.kernel.shape[0] != particle.kernel.shape[1]:
        raise ConfigError(f"layer '{head.name}': {head.kernel.shape[0]} inputs after an update of "
                          f"{particle.kernel.shape[1]}")
    head.in_f = relu[1] + spec.pool_shift
    return update


def _pool(h: np.ndarray, pooling: str) -> np.ndarray:
    return h.sum(axis=1) if pooling == "mean" else h.max(axis=1)


def update_forward(spec: Any, h: np.ndarray, particles: np.ndarray) -> np.ndarray:
    """The pooled, masked update of per-particle codes ``h`` (jets, N, H), given the input
    codes ``particles`` (jets, N, F + 1): the head's input codes (jets, P).

    >>> z = update_forward(spec, h, codes.reshape(len(codes), spec.n_particles, -1))  # doctest: +SKIP
    """
    up = spec.update
    p, a = up.particle, up.aggregate
    pooled = _pool(h, spec.pooling)
    per_particle = shift_right(h @ p.kernel, up.acc_f - p.in_f - p.kernel_f)
    aggregate = shift_right(pooled @ a.kernel, up.acc_f - a.in_f - a.kernel_f) + shift_right(a.bias, up.acc_f - a.bias_f)
    acc = per_particle + aggregate[:, None, :]
    bits, f = up.relu
    u = np.clip(_round_half_even_int(acc, up.acc_f - f), 0, 2 ** bits - 1)
    mask = np.clip(_round_half_even_int(particles[..., up.mask_column], up.mask_in_f), 0, 1)
    return _pool(u * mask[..., None], spec.pooling)
