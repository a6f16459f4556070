"""HGQ Deep Sets students: the Deep Sets student of :mod:`fpgakd.learn.deepsets_students`
(``inputs.type: particle_set``) with ``quantization: {kind: hgq}``, every weight and
activation training its own bit width under the EBOPs penalty
(:mod:`fpgakd.learn.hgq_students`).

The network is the QKeras one, in HGQ's layers: the flat input reshaped to (N, F + 1)
particles (``particles``), an ``HQuantize`` (``input_quant``), bias-free ``HDense`` + relu
layers shared by every particle (``phi1``...), a max or mean over the N slots (``pool``, then
``pooled``), with ``inputs.hlf`` the 16 high-level features joined (``join``) after their own
``HQuantize`` (``hlf_quant``), the ``HDense`` head (``fc1``...) and the linear ``output``.

One width per feature and channel, the same in every particle slot: the input and
per-particle activation quantizers share their widths over the particles (HGQ's
``skip_dims`` over batch and particle axes), and a kernel is one kernel for all particles. So
the student is invariant to the order of its particles, in Keras and in firmware, as the QKeras
one is, and a padded particle (all zeros: no bias, a zero is a zero on any grid) adds nothing.
The EBOPs count the per-particle layers once per particle, as the unrolled firmware builds them.

Where the QKeras student quantizes the flat input first, this one quantizes after the
reshape and the crops: a quantizer on the flat input would give each particle slot its own
widths. hls4ml's bit-exact pass then types the input from the quantizers behind the crops
(:mod:`fpgakd.firmware.hls` teaches it that a crop passes values through).
"""

from __future__ import annotations

from typing import Any

from fpgakd.config import ModelConfig
from fpgakd.learn.deepsets_students import (COLUMNS_LAYER, HLF_CROP_LAYER, HLF_LAYER, JOIN_LAYER,
                                            PARTICLES_CROP_LAYER, PARTICLES_LAYER, POOL_LAYER, particle_layout)
from fpgakd.learn.hgq_students import (beta_for_epoch, hidden_quantizer_config, import_hgq,
                                       input_quantizer_config, quantizer_configs)

__all__ = ["build_hgq_deepsets_student", "INPUT_QUANT_LAYER", "HLF_QUANT_LAYER", "POOLED_LAYER"]

#: the quantizer of the (N, F + 1) particles: the first quantizer, as an MLP's ``input_quant``
INPUT_QUANT_LAYER = "input_quant"
#: the quantizer of the high-level features (``inputs.hlf``)
HLF_QUANT_LAYER = "hlf_quant"
#: the pooled particles, flattened from (1, C) to (C,)
POOLED_LAYER = "pooled"
#: HGQ's ``skip_dims`` for a per-particle activation: one width per channel for every particle
_SHARED_OVER_PARTICLES = (0, 1)


def build_hgq_deepsets_student(cfg: ModelConfig, n_inputs: int, n_outputs: int) -> Any:
    """The (untrained) HGQ Deep Sets student of ``cfg``, ``n_inputs`` wide (particles, masks,
    and with ``inputs.hlf`` the features after them).

    >>> from fpgakd.config import load_model_config
    >>> cfg = load_model_config("deepsets_hgq_16")
    >>> build_hgq_deepsets_student(cfg, 16 * 8 + 16, 5).get_layer("pooled").output_shape  # doctest: +SKIP
    (None, 32)
    """
    import tensorflow as tf

    from fpgakd.learn.hgq_layers import PAveragePooling1D, PCropping1D, PMaxPooling1D

    hgq = import_hgq()
    n_particles, per_particle, n_hlf = particle_layout(cfg, n_inputs)
    kq, paq = quantizer_configs(cfg.quantization)
    inputs, hidden = input_quantizer_config(cfg.quantization), hidden_quantizer_config(cfg.quantization)
    shared = dict(hidden, skip_dims=_SHARED_OVER_PARTICLES)
    beta = beta_for_epoch(cfg.quantization, 0)

    def dense(width: int, name: str, act: dict, relu: bool = True, use_bias: bool = True) -> Any:
        return hgq.HDense(width, activation="relu" if relu else None, use_bias=use_bias,
                          kernel_initializer="lecun_uniform", kq_conf=dict(kq), paq_conf=dict(act), beta=beta,
                          name=name)

    x_in = tf.keras.Input(shape=(n_inputs,), name="inputs")
    particles, hlf = x_in, None
    if n_hlf:
        columns = hgq.layers.PReshape((n_inputs, 1), name=COLUMNS_LAYER)(x_in)
        particles = PCropping1D((0, n_hlf), name=PARTICLES_CROP_LAYER)(columns)
        hlf = PCropping1D((n_inputs - n_hlf, 0), name=HLF_CROP_LAYER)(columns)
        hlf = hgq.layers.PFlatten(name=HLF_LAYER)(hlf)
        hlf = hgq.HQuantize(paq_conf=dict(inputs), name=HLF_QUANT_LAYER)(hlf)
    h = hgq.layers.PReshape((n_particles, per_particle), name=PARTICLES_LAYER)(particles)
    h = hgq.HQuantize(paq_conf=dict(inputs, skip_dims=_SHARED_OVER_PARTICLES), name=INPUT_QUANT_LAYER)(h)
    for i, width in enumerate(cfg.particle_hidden, start=1):
        # no bias: a padded (all-zero) particle must stay exactly zero
        h = dense(width, f"phi{i}", shared, use_bias=False)(h)
    pool = {"max": PMaxPooling1D, "mean": PAveragePooling1D}[cfg.pooling]
    h = pool(pool_size=n_particles, name=POOL_LAYER)(h)
    h = hgq.layers.PFlatten(name=POOLED_LAYER)(h)
    if hlf is not None:
        h = hgq.layers.PConcatenate(name=JOIN_LAYER)([h, hlf])
    for i, width in enumerate(cfg.hidden, start=1):
        h = dense(width, f"fc{i}", hidden)(h)
    out = dense(n_outputs, "output", paq, relu=False)(h)
    return tf.keras.Model(x_in, out, name=cfg.name)
