"""Deep Sets students: one small QKeras network shared by every particle, a pooling over the
particles, and a QKeras head (``inputs.type: particle_set``, ``particle_hidden``, ``pooling``).

The student reads one flat array, as every fpgakd student does: per particle its
``constituent_features`` then a 0/1 mask (:func:`fpgakd.jets.preprocessing.student_inputs`),
so the run directory, the standardization and the firmware checks keep their one input.
Inside the model the quantized flat input is reshaped to (N, F + 1) particles.

Masking without a multiply: a padded particle reads exactly zero (its features are padded
with 0, the standardization only scales particle columns, and the input quantizer maps 0 to
0), and the per-particle Dense layers have no bias, so every per-particle output of a padded
particle is exactly zero; a real particle's mask column gives its first layer the bias the
padding must not get. The pooling then sees zeros for padding: a sum over real particles
divided by N (``mean``), or their maximum with zero (``max``, after a ReLU both are >= 0).

How hls4ml 1.3 converts it (io_parallel): the Reshape is a no-op; each per-particle QDense
on the 3-D tensor becomes a pointwise ``Conv1D`` (``ReplaceMultidimensionalDenseWithConv``,
then the Vivado/Vitis pointwise implementation), the same kernel for every particle;
``GlobalAveragePooling1D`` / ``GlobalMaxPooling1D`` become ``GlobalPooling1D`` (Average: a sum
then a division by N, exact when its accumulator has log2(N) more fractional and integer
bits, which :func:`pooling_precisions` sets, since hls4ml 1.3 does not infer it for global
pooling); the head is the MLP's QDense chain.
"""

from __future__ import annotations

import math
from typing import Any

from fpgakd.config import ModelConfig

__all__ = ["build_deepsets_student", "build_particle_network", "pooling_layer", "build_head", "is_deepsets_model",
           "POOL_LAYER", "PARTICLES_LAYER", "pooling_precisions"]

#: Name of the layer that reshapes the flat input into (N, F + 1) particles
PARTICLES_LAYER = "particles"
#: Name of the pooling layer over the particles
POOL_LAYER = "pool"


def build_deepsets_student(cfg: ModelConfig, n_inputs: int, n_outputs: int,
                           makers: tuple[Any, Any, Any]) -> "tf.keras.Model":  # noqa: F821
    """The Deep Sets student for ``cfg``; ``makers`` are (input quantizer, dense(width, name,
    use_bias), relu(name)) as for the MLPs. Layers: ``input_quant``, ``particles``,
    ``phi1``/``phi_relu1``..., ``pool``, ``fc1``/``relu1``..., ``output``.

    >>> from fpgakd.config import load_model_config
    >>> from fpgakd.learn.students import build_student
    >>> build_student(load_model_config("deepsets_16"), 64, 5).get_layer("pool").output_shape
    (None, 32)
    """
    import tensorflow as tf

    x_in, _, h = build_particle_network(cfg, n_inputs, makers)
    h = pooling_layer(cfg.pooling, POOL_LAYER)(h)
    out = build_head(cfg, h, n_outputs, makers)
    return tf.keras.Model(x_in, out, name=cfg.name)


def build_particle_network(cfg: ModelConfig, n_inputs: int, makers: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
    """(flat input, its (N, F + 1) particles, the per-particle network's output) of a
    ``particle_set`` student: ``inputs``, ``input_quant``, ``particles``, ``phi1``/``phi_relu1``...

    >>> x_in, particles, h = build_particle_network(cfg, 64, _layer_makers(cfg))  # doctest: +SKIP
    >>> tuple(particles.shape), tuple(h.shape)                                     # doctest: +SKIP
    ((None, 16, 4), (None, 16, 32))
    """
    import tensorflow as tf

    n_particles = cfg.inputs.n_constituents
    per_particle, rest = divmod(n_inputs, n_particles)
    if rest or per_particle != len(cfg.inputs.constituent_features) + 1:
        raise ValueError(f"{cfg.name}: {n_inputs} inputs are not {n_particles} particles of "
                         f"{len(cfg.inputs.constituent_features)} features and a mask")
    input_layer, dense, relu = makers
    x_in = tf.keras.Input(shape=(n_inputs,), name="inputs")
    h = x_in if input_layer is None else input_layer(x_in)
    particles = h = tf.keras.layers.Reshape((n_particles, per_particle), name=PARTICLES_LAYER)(h)
    for i, width in enumerate(cfg.particle_hidden, start=1):
        # no bias: a padded (all-zero) particle must stay exactly zero
        h = dense(width, f"phi{i}", use_bias=False)(h)
        h = relu(f"phi_relu{i}")(h)
    return x_in, particles, h


def pooling_layer(pooling: str, name: str) -> Any:
    """The Keras layer pooling over the particles: ``mean`` or ``max``.

    >>> type(pooling_layer("max", "pool")).__name__                     # doctest: +SKIP
    'GlobalMaxPooling1D'
    """
    import tensorflow as tf

    return {"mean": tf.keras.layers.GlobalAveragePooling1D,
            "max": tf.keras.layers.GlobalMaxPooling1D}[pooling](name=name)


def build_head(cfg: ModelConfig, h: Any, n_outputs: int, makers: tuple[Any, Any, Any]) -> Any:
    """The ``hidden`` head (``fc1``/``relu1``...) and the linear ``output`` logit after a pooling.

    >>> out = build_head(cfg, pooled, 5, _layer_makers(cfg))            # doctest: +SKIP
    """
    _, dense, relu = makers
    for i, width in enumerate(cfg.hidden, start=1):
        h = dense(width, f"fc{i}")(h)
        h = relu(f"relu{i}")(h)
    return dense(n_outputs, "output")(h)


def is_deepsets_model(model: Any) -> bool:
    """True if ``model`` is a Deep Sets student (it has the ``particles`` reshape).

    >>> is_deepsets_model(build_student(load_model_config("hlf_mlp"), 16, 5))   # doctest: +SKIP
    False
    """
    return any(layer.name == PARTICLES_LAYER for layer in model.layers)


def pooling_precisions(layer: Any, activation_bits: int, activation_integer: int) -> dict[str, str]:
    """hls4ml precisions of the pooling ``layer`` (a Keras global pooling, or a model, whose
    ``pool`` layer is taken) that make it exact on unsigned
    ``quantized_relu(activation_bits, activation_integer)`` inputs: the sum of N of them needs
    log2(N) more integer bits, their mean log2(N) more fractional bits.

    >>> pooling_precisions(model, 8, 3)                                     # doctest: +SKIP
    {'accum': 'ufixed<16,7>', 'result': 'ufixed<12,3>'}
    """
    if hasattr(layer, "get_layer"):
        layer = layer.get_layer(POOL_LAYER)
    n = int(layer.input_shape[1])
    extra = int(math.ceil(math.log2(n))) if n > 1 else 0
    if type(layer).__name__ == "GlobalMaxPooling1D":
        same = f"ufixed<{activation_bits},{activation_integer}>"
        return {"accum": same, "result": same}
    return {"accum": f"ufixed<{activation_bits + 2 * extra},{activation_integer + extra}>",
            "result": f"ufixed<{activation_bits + extra},{activation_integer}>"}
