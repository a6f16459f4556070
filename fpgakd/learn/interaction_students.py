"""Interaction students (JEDI-linear shape, ``interaction: P``): a Deep Sets student whose
particles are updated once with an aggregate of all particles, so the cost stays linear in N.

    h_i = phi(x_i)                      per-particle network, no bias (padding stays 0)
    a   = pool_j h_j                    the ``pool`` layer (mean or max, as Deep Sets)
    u_i = relu(W1 h_i + W2 a + b)       ``update_particle`` + ``update_aggregate``
    u_i = u_i * m_i                     m_i: the particle's 0/1 mask, so padding is 0 again
    z   = pool_i u_i                    ``pool_update`` (the same pooling)
    out = head(z)                       ``fc1``/``relu1``..., the linear ``output`` logit

``psi1(h_i) + psi2(a)`` rather than ``psi([h_i, a])``: the same function (a Dense on a
concatenation is the sum of two Dense on its parts), but W2 a is computed once, not per
particle, in firmware.

The mask after the update: ``u_i`` of a padded particle is relu(W2 a + b), not 0. The mask
column is read out of the particles by ``mask``, a bias-free QDense whose fixed, non-trained
kernel (``quantized_bits(2, 1)``: exactly 1 on the mask row, 0 elsewhere) copies it into
every update channel, then ``mask_bit`` (``quantized_relu(1, 1)``) rounds it to a 0/1 bit,
so that ``update_masked`` (a Multiply) is exact whatever the input (and one AND gate per
channel in RTL). Training leaves ``mask`` alone (not trainable, not pruned).

What hls4ml 1.3 converts (io_parallel, checked bit for bit by the C-simulation tests):
the broadcast of ``W2 a + b`` back to every particle is ``Reshape((1, P))`` then
``Concatenate(axis=-2)`` layers (two inputs each: the row doubled 1, 2, 4... times, one per
set bit of N; axis -2, not 1, because hls4ml's bit-exact pass indexes shapes without the batch
dimension), then an ``Add`` of two (N, P) tensors (hls4ml's ``Merge``, typed wide enough to be
exact); the 3-D QDense layers become pointwise ``Conv1D`` as in Deep Sets; the mask product is
a ``Multiply`` of two (N, P) tensors. ``fpgakd synth`` types the mask bit
``ufixed<1,1,RND_CONV,SAT>``: hls4ml 1.3 makes a quantized_relu without fractional bits a
plain integer, which truncates where QKeras rounds. Not converted bit-exactly by hls4ml 1.3:
``RepeatVector`` (no Keras 2 handler); ``UpSampling1D`` (it converts, to ``Resize``, but the
bit-exact precision pass has no rule for it and refuses the model); an ``Add`` or
``Multiply`` relying on Keras's broadcasting of (1, P) or (N, 1) against (N, P) (hls4ml's
merge loops over one shape, no broadcast); ``Lambda`` slicing of the mask column.
"""

from __future__ import annotations

from typing import Any

from fpgakd.config import ModelConfig
from fpgakd.learn.deepsets_students import POOL_LAYER, build_head, build_particle_network, pooling_layer

__all__ = ["build_interaction_student", "is_interaction_model", "UPDATE_LAYERS", "UPDATE_PARTICLE",
           "UPDATE_AGGREGATE", "UPDATE_RELU", "MASK_LAYER", "MASK_BIT", "UPDATE_POOL", "BROADCAST_PREFIX", "update_layer_names"]

#: the per-particle half of the update (no bias)
UPDATE_PARTICLE = "update_particle"
#: the aggregate half of the update (with the update's bias), computed once
UPDATE_AGGREGATE = "update_aggregate"
#: the quantized relu of their sum
UPDATE_RELU = "update_relu"
#: the fixed QDense that copies each particle's mask column into every update channel
MASK_LAYER = "mask"
#: the 0/1 bit of the mask (quantized_relu(1, 1))
MASK_BIT = "mask_bit"
#: the pooling of the masked updates, before the head
UPDATE_POOL = "pool_update"
#: the Concatenates that repeat the aggregate's row for every particle start with this
BROADCAST_PREFIX = "aggregate_x"
#: the layers of the update step, between ``pool`` and the head (and the broadcast's Concatenates)
UPDATE_LAYERS = (UPDATE_PARTICLE, UPDATE_AGGREGATE, "aggregate_row", "update_sum",
                 UPDATE_RELU, MASK_LAYER, MASK_BIT, "update_masked", UPDATE_POOL)


def build_interaction_student(cfg: ModelConfig, n_inputs: int, n_outputs: int,
                              makers: tuple[Any, Any, Any]) -> "tf.keras.Model":  # noqa: F821
    """The interaction student for ``cfg`` (``interaction`` > 0); ``makers`` as for Deep Sets.

    >>> from fpgakd.config import load_model_config
    >>> from fpgakd.learn.students import build_student
    >>> build_student(load_model_config("jedi_linear_16"), 64, 5).get_layer("update_masked").output_shape
    (None, 16, 16)
    """
    import tensorflow as tf

    _, dense, relu = makers
    x_in, particles, h, _ = build_particle_network(cfg, n_inputs, makers)
    n, width = cfg.inputs.n_constituents, cfg.interaction
    pooled = pooling_layer(cfg.pooling, POOL_LAYER)(h)
    per_particle = dense(width, UPDATE_PARTICLE, use_bias=False)(h)
    aggregate = dense(width, UPDATE_AGGREGATE)(pooled)
    aggregate = tf.keras.layers.Reshape((1, width), name="aggregate_row")(aggregate)
    u = tf.keras.layers.Add(name="update_sum")([per_particle, _repeat_rows(aggregate, n)])
    u = relu(UPDATE_RELU)(u)
    u = tf.keras.layers.Multiply(name="update_masked")([u, _mask_bits(particles, width)])
    z = pooling_layer(cfg.pooling, UPDATE_POOL)(u)
    return tf.keras.Model(x_in, build_head(cfg, z, n_outputs, makers), name=cfg.name)


def _repeat_rows(row: Any, n: int) -> Any:
    """(n, P) copies of a (1, P) row: Concatenates (two inputs each, as hls4ml takes them) of
    the row doubled 1, 2, 4... times, one per set bit of n."""
    import tensorflow as tf

    def concat(a: Any, b: Any, name: str) -> Any:
        # axis -2 (not 1): hls4ml's bit-exact pass reads the axis without the batch dimension
        return tf.keras.layers.Concatenate(axis=-2, name=name)([a, b])

    doubled, out, size = row, None, 1
    while True:
        if n & size:
            out = doubled if out is None else concat(out, doubled, f"{BROADCAST_PREFIX}{size}_{n}")
        if 2 * size > n:
            return out
        doubled = concat(doubled, doubled, f"{BROADCAST_PREFIX}{2 * size}")
        size *= 2


def _mask_bits(particles: Any, width: int) -> Any:
    """(N, width) copies of each particle's 0/1 mask (its last column), as exact bits."""
    import numpy as np
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    n_columns = int(particles.shape[-1])
    selector = np.zeros((n_columns, width), dtype=np.float32)
    selector[-1] = 1.0
    layer = QDense(width, use_bias=False, kernel_quantizer=quantized_bits(2, 1, alpha=1), trainable=False,
                   kernel_initializer="zeros", name=MASK_LAYER)
    copies = layer(particles)
    # set once built (a constant initializer holding the array does not survive a save/load)
    layer.kernel.assign(selector)
    return QActivation(quantized_relu(1, 1), name=MASK_BIT)(copies)


def update_layer_names(model: Any) -> set[str]:
    """Names of ``model``'s update-step layers (empty for any other student).

    >>> sorted(update_layer_names(model))[:2]                          # doctest: +SKIP
    ['aggregate_row', 'aggregate_x16']
    """
    if not is_interaction_model(model):
        return set()
    return {layer.name for layer in model.layers
            if layer.name in UPDATE_LAYERS or layer.name.startswith(BROADCAST_PREFIX)}


def is_interaction_model(model: Any) -> bool:
    """True if ``model`` is an interaction student (it has the ``update_sum`` layer).

    >>> is_interaction_model(build_student(load_model_config("jedi_linear_16"), 64, 5))   # doctest: +SKIP
    True
    """
    return any(layer.name == "update_sum" for layer in model.layers)
