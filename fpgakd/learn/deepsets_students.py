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

With ``inputs.hlf: true`` the 16 high-level features follow the particles in the flat input and
join the pooled particles before the head (the Deep Sets + HLF teacher's shape, shrunk). hls4ml
1.3 has no slicing layer, but it converts ``Cropping1D``: the quantized input is reshaped to one
column (a no-op), cropped into the particles and the features, and the features flattened; the
join is a ``Concatenate`` whose type holds both exactly (:mod:`fpgakd.firmware.hls` sets it).
"""

from __future__ import annotations

import math
from typing import Any

from fpgakd.config import ModelConfig
from fpgakd.jets.jetfile import HLF_NAMES

__all__ = ["build_deepsets_student", "build_particle_network", "pooling_layer", "build_head", "is_deepsets_model",
           "POOL_LAYER", "PARTICLES_LAYER", "COLUMNS_LAYER", "PARTICLES_CROP_LAYER", "HLF_CROP_LAYER", "HLF_LAYER",
           "JOIN_LAYER", "pooling_precisions", "particle_layout"]

#: Name of the layer that reshapes the flat input into (N, F + 1) particles
PARTICLES_LAYER = "particles"
#: Name of the pooling layer over the particles
POOL_LAYER = "pool"
#: With ``inputs.hlf``: the flat input seen as one column (a no-op Reshape), the crops that
#: take the particles and the features out of it, and the join of the pooled particles and the
#: features before the head
COLUMNS_LAYER, PARTICLES_CROP_LAYER, HLF_CROP_LAYER, HLF_LAYER = "columns", "crop_particles", "crop_hlf", "hlf"
JOIN_LAYER = "join"


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

    x_in, _, h, hlf = build_particle_network(cfg, n_inputs, makers)
    h = pooling_layer(cfg.pooling, POOL_LAYER)(h)
    if hlf is not None:
        h = tf.keras.layers.Concatenate(name=JOIN_LAYER)([h, hlf])
    out = build_head(cfg, h, n_outputs, makers)
    return tf.keras.Model(x_in, out, name=cfg.name)


def build_particle_network(cfg: ModelConfig, n_inputs: int, makers: tuple[Any, Any, Any]) -> tuple[Any, Any, Any, Any]:
    """(flat input, its (N, F + 1) particles, the per-particle network's output, the high-level
    features or None) of a ``particle_set`` student: ``inputs``, ``input_quant``,
    ``particles``, ``phi1``/``phi_relu1``...; with ``inputs.hlf`` the quantized input is cropped
    into the particles (``crop_particles``) and the 16 features after them (``crop_hlf``, ``hlf``).

    >>> x_in, particles, h, hlf = build_particle_network(cfg, 64, _layer_makers(cfg))  # doctest: +SKIP
    >>> tuple(particles.shape), tuple(h.shape)                                         # doctest: +SKIP
    ((None, 16, 4), (None, 16, 32))
    """
    import tensorflow as tf

    n_particles, per_particle, n_hlf = particle_layout(cfg, n_inputs)
    input_layer, dense, relu = makers
    x_in = tf.keras.Input(shape=(n_inputs,), name="inputs")
    h = x_in if input_layer is None else input_layer(x_in)
    hlf = None
    if n_hlf:
        # hls4ml 1.3 converts a Cropping1D (no slicing layer): the flat input as one column
        columns = tf.keras.layers.Reshape((n_inputs, 1), name=COLUMNS_LAYER)(h)
        h = tf.keras.layers.Cropping1D((0, n_hlf), name=PARTICLES_CROP_LAYER)(columns)
        hlf = tf.keras.layers.Cropping1D((n_inputs - n_hlf, 0), name=HLF_CROP_LAYER)(columns)
        hlf = tf.keras.layers.Flatten(name=HLF_LAYER)(hlf)
    particles = h = tf.keras.layers.Reshape((n_particles, per_particle), name=PARTICLES_LAYER)(h)
    for i, width in enumerate(cfg.particle_hidden, start=1):
        # no bias: a padded (all-zero) particle must stay exactly zero
        h = dense(width, f"phi{i}", use_bias=False)(h)
        h = relu(f"phi_relu{i}")(h)
    return x_in, particles, h, hlf


def particle_layout(cfg: ModelConfig, n_inputs: int) -> tuple[int, int, int]:
    """(particles, columns per particle, high-level features) of a ``particle_set`` student's
    flat input of ``n_inputs``, or a ValueError if the width does not fit ``cfg``.

    >>> from fpgakd.config import load_model_config
    >>> particle_layout(load_model_config("deepsets_hlf_16"), 16 * 4 + 16)
    (16, 4, 16)
    """
    n_particles = cfg.inputs.n_constituents
    n_hlf = len(HLF_NAMES) if cfg.inputs.hlf else 0
    per_particle, rest = divmod(n_inputs - n_hlf, n_particles)
    if rest or per_particle != len(cfg.inputs.constituent_features) + 1:
        raise ValueError(f"{cfg.name}: {n_inputs} inputs are not {n_particles} particles of "
                         f"{len(cfg.inputs.constituent_features)} features and a mask"
                         + (f", then {n_hlf} high-level features" if n_hlf else ""))
    return n_particles, per_particle, n_hlf


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
