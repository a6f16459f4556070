"""HGQ students: MLPs whose every weight and activation trains its own bit width.

A student with ``quantization: {kind: hgq, ...}`` is built with HGQ 0.2 (High Granularity
Quantization, Keras 2 API; ``pip install -e '.[hgq]'``): an ``HQuantize`` input layer, then
``HDense`` layers (relu fused in, as HGQ wants) and a linear ``HDense`` named ``output``
for the logits -- the same families (hlf, hybrid, constituents: they differ only in their
inputs) and the same KD loss as the QKeras students. Each weight (or each output channel,
or each layer: ``granularity``) and each activation has a trained number of fractional
bits, clipped to ``max_frac_bits``, starting from ``activation_init_bits`` for activations and,
for weights, from ``weight_init_bits`` significant bits of each weight (HGQ derives the
fractional bits from its magnitude; the smallest weight of a channel or layer sets the
shared width); integer bits follow from the weights and from the ranges the
activations take. The loss adds ``beta`` times the layer's BOPs (HGQ's differentiable
estimate of the effective bit operations of the multiplications, EBOPs); ``beta`` is
constant or ramps from ``beta_start`` over ``beta_ramp_epochs`` epochs, linearly or
exponentially (:func:`beta_for_epoch`). An exponential ramp over the whole training is HGQ's
own way to a frontier: one training passes through decades of beta, and every epoch on the
(accuracy, EBOPs) Pareto front is a design (``benchmarks/bench_hgq_sweep.py`` keeps them).

Pruning: a weight whose trained width reaches zero bits is zero, i.e. pruned, and costs
no logic; HGQ students therefore have no TFMOT pruning (a ``pruning`` block on an HGQ
student is refused when the config is loaded, and its resolved config has none; TFMOT
pruning stays for QKeras students only).

Firmware: after training, :func:`hgq_proxy` records the activation ranges on the training
inputs (``HGQ.trace_minmax``, which also returns the exact EBOPs) and builds HGQ's *proxy
model* (``HGQ.proxy.to_proxy_model``): plain Keras ``Dense``/``ReLU`` layers between
``FixedPointQuantizer`` layers that carry each value's fixed-point format. The proxy is
what hls4ml converts and what the RTL flow traces; its outputs are the firmware's, bit for
bit, so the run reports the proxy's accuracy and saves it as ``student_<mode>_proxy.h5``.
A Deep Sets student (``inputs.type: particle_set``) in HGQ is built by
:mod:`fpgakd.learn.hgq_deepsets_students`. A per-particle student (``task: particle_weight``,
``models/qdistillnet_hgq.yaml``) is built as an MLP, with one logit; with ``output: sigmoid``
the firmware puts hls4ml's sigmoid table after the proxy's logit, as it does after a QKeras
student's.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np

from fpgakd.config import ModelConfig, QuantizationConfig
from fpgakd.errors import ConfigError

__all__ = ["build_hgq_student", "quantizer_configs", "floored_activation_config", "input_quantizer_config",
           "hidden_quantizer_config", "beta_for_epoch", "hgq_callbacks", "hgq_proxy", "hgq_custom_objects",
           "is_hgq_model", "is_hgq_proxy", "hgq_summary", "import_hgq"]


#: HGQ's kernel-quantizer ``skip_dims`` for each weight granularity (kernel shape (n_in, n_out))
_SKIP_DIMS = {"per_weight": None, "per_channel": (0,), "per_layer": "all"}


def import_hgq() -> Any:
    """The HGQ package, or a :class:`ConfigError` naming the extra to install.

    >>> import_hgq().__name__                                        # doctest: +SKIP
    'HGQ'
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):   # HGQ prints while it registers plugins
            import HGQ
    except ImportError as err:
        raise ConfigError(f"quantization.kind: hgq needs the HGQ package ({err}); "
                          "install it with: pip install -e '.[hgq]'") from None
    return HGQ


def quantizer_configs(q: QuantizationConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """HGQ's kernel and pre-activation quantizer configs for ``q`` (the activations: one width
    per value of a sample, shared over the batch).

    >>> kernel, activation = quantizer_configs(QuantizationConfig(kind="hgq", beta=1e-5))
    >>> kernel["skip_dims"], activation["skip_dims"]
    (None, (0,))
    """
    clip = (-q.max_frac_bits, q.max_frac_bits)
    # no L1 on the widths: beta * EBOPs is the one resource penalty, so beta alone sets the trade
    common = dict(rnd_strategy="standard_round", exact_q_value=True, dtype=None, bw_clip=clip,
                  trainable=True, regularizer=None)
    kernel = dict(common, init_bw=q.weight_init_bits, skip_dims=_SKIP_DIMS[q.granularity])
    activation = dict(common, init_bw=q.activation_init_bits, skip_dims=(0,), minmax_record=True)
    return kernel, activation


def floored_activation_config(q: QuantizationConfig, floor: int | None) -> dict[str, Any]:
    """HGQ's config of an activation quantizer whose fractional widths stay at or above ``floor``
    (and start there, if that is higher); None: the plain activation config.

    >>> floored_activation_config(QuantizationConfig(kind="hgq"), 5)["bw_clip"]
    (5, 12)
    """
    _, activation = quantizer_configs(q)
    if floor is None:
        return activation
    return dict(activation, bw_clip=(floor, q.max_frac_bits), init_bw=max(floor, activation["init_bw"]))


def input_quantizer_config(q: QuantizationConfig) -> dict[str, Any]:
    """HGQ's config of the input quantizer, floored at ``input_min_frac_bits``.

    >>> input_quantizer_config(QuantizationConfig(kind="hgq", input_min_frac_bits=5))["bw_clip"]
    (5, 12)
    """
    return floored_activation_config(q, q.input_min_frac_bits)


def hidden_quantizer_config(q: QuantizationConfig) -> dict[str, Any]:
    """HGQ's config of a hidden layer's activation quantizer, floored at ``hidden_min_frac_bits``
    (the output layer's keeps the plain config).

    >>> hidden_quantizer_config(QuantizationConfig(kind="hgq", hidden_min_frac_bits=3))["bw_clip"]
    (3, 12)
    """
    return floored_activation_config(q, q.hidden_min_frac_bits)


def build_hgq_student(cfg: ModelConfig, n_inputs: int, n_outputs: int) -> Any:
    """The (untrained) HGQ student of ``cfg``: HQuantize, HDense+relu per hidden width, and a
    linear HDense ``output``.

    >>> from fpgakd.config import load_model_config
    >>> build_hgq_student(load_model_config("hlf_hgq"), 16, 5).output_shape    # doctest: +SKIP
    (None, 5)
    """
    import tensorflow as tf

    hgq = import_hgq()
    kq, paq = quantizer_configs(cfg.quantization)
    beta = beta_for_epoch(cfg.quantization, 0)
    x_in = tf.keras.Input(shape=(n_inputs,), name="inputs")
    h = hgq.HQuantize(paq_conf=input_quantizer_config(cfg.quantization), name="input_quant")(x_in)
    hidden = hidden_quantizer_config(cfg.quantization)
    for i, width in enumerate(cfg.hidden, start=1):
        h = hgq.HDense(width, activation="relu", kernel_initializer="lecun_uniform", kq_conf=dict(kq),
                       paq_conf=dict(hidden), beta=beta, name=f"fc{i}")(h)
    out = hgq.HDense(n_outputs, kernel_initializer="lecun_uniform", kq_conf=dict(kq), paq_conf=dict(paq),
                     beta=beta, name="output")(h)
    return tf.keras.Model(x_in, out, name=cfg.name)


def beta_for_epoch(q: QuantizationConfig, epoch: int) -> float:
    """The EBOPs penalty weight during ``epoch`` (0-based): constant, or a linear or exponential
    ramp from ``beta_start`` (epoch 0) to ``beta`` (epoch ``beta_ramp_epochs`` and after).

    >>> q = QuantizationConfig(kind="hgq", beta=1e-5, beta_schedule="linear", beta_ramp_epochs=4)
    >>> [round(beta_for_epoch(q, e) * 1e5, 2) for e in (0, 2, 4, 9)]
    [0.0, 0.5, 1.0, 1.0]
    >>> q = QuantizationConfig(kind="hgq", beta=1e-4, beta_start=1e-6, beta_schedule="exponential",
    ...                        beta_ramp_epochs=4)
    >>> [f"{beta_for_epoch(q, e):.0e}" for e in (0, 2, 4, 9)]
    ['1e-06', '1e-05', '1e-04', '1e-04']
    """
    if q.beta_schedule == "constant":
        return float(q.beta)
    t = min(1.0, max(0, epoch) / q.beta_ramp_epochs)
    if q.beta_schedule == "exponential":
        return float(q.beta_start * (q.beta / q.beta_start) ** t)
    return float(q.beta_start + (q.beta - q.beta_start) * t)


def _hgq_layers(model: Any) -> list[Any]:
    from HGQ.layers import HLayerBase

    return [layer for layer in model.layers if isinstance(layer, HLayerBase)]


def hgq_callbacks(cfg: ModelConfig) -> list[Any]:
    """Keras callbacks an HGQ student trains with: the beta schedule, HGQ's ``ResetMinMax``
    (activation ranges per epoch) and ``FreeBOPs`` (the epoch's BOPs in the logs as ``bops``;
    put these before a CSVLogger so the history has them).

    >>> [type(c).__name__ for c in hgq_callbacks(cfg)]               # doctest: +SKIP
    ['_BetaSchedule', 'ResetMinMax', 'FreeBOPs']
    """
    import tensorflow as tf

    hgq = import_hgq()
    q = cfg.quantization

    class _BetaSchedule(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            beta = beta_for_epoch(q, epoch)
            for layer in _hgq_layers(self.model):
                if not isinstance(layer, hgq.HQuantize):   # an input quantizer has no EBOPs
                    layer.beta.assign(beta)

    return [_BetaSchedule(), hgq.ResetMinMax(), hgq.FreeBOPs()]


def hgq_proxy(model: Any, x_calibration: np.ndarray) -> tuple[Any, float]:
    """(HGQ's proxy model of a trained student, its exact EBOPs), after recording the
    activation ranges on ``x_calibration`` (the training inputs).

    >>> proxy, ebops = hgq_proxy(model, x[train])                    # doctest: +SKIP
    """
    hgq = import_hgq()
    x = np.ascontiguousarray(np.asarray(x_calibration, dtype=np.float32))
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"x_calibration: expected a non-empty (n, n_inputs) array, got shape {x.shape}")
    with contextlib.redirect_stdout(io.StringIO()):
        ebops = float(hgq.trace_minmax(model, x, bsz=4096, verbose=False))
        proxy = hgq.to_proxy_model(model, aggressive=True)
    proxy._name = model.name     # reports name the student, not Keras's "model_<n>"
    return proxy, ebops


def hgq_custom_objects() -> dict[str, Any]:
    """HGQ's layers and the proxy's FixedPointQuantizer, for loading saved models ({} without HGQ).

    >>> "HDense" in hgq_custom_objects()                             # doctest: +SKIP
    True
    """
    try:
        hgq = import_hgq()
    except ConfigError:
        return {}
    from HGQ.proxy import FixedPointQuantizer

    from fpgakd.learn import hgq_layers

    passive = {name: getattr(hgq.layers, name) for name in ("PReshape", "PFlatten", "PConcatenate")}
    passive.update({name: getattr(hgq_layers, name) for name in hgq_layers.__all__})
    return {"HQuantize": hgq.HQuantize, "HDense": hgq.HDense, "HActivation": hgq.layers.HActivation,
            "FixedPointQuantizer": FixedPointQuantizer, **passive}


def is_hgq_model(model: Any) -> bool:
    """True for a (trainable) HGQ student, which the firmware stage takes only as its proxy.

    >>> is_hgq_model(build_hgq_student(load_model_config("hlf_hgq"), 16, 5))   # doctest: +SKIP
    True
    """
    return any(type(layer).__module__.startswith("HGQ.layers") for layer in model.layers)


def is_hgq_proxy(model: Any) -> bool:
    """True for an HGQ proxy model (FixedPointQuantizer layers carry its fixed-point formats).

    >>> is_hgq_proxy(proxy)                                          # doctest: +SKIP
    True
    """
    return any(type(layer).__name__ == "FixedPointQuantizer" for layer in model.layers)


def hgq_summary(model: Any) -> dict[str, Any]:
    """Per HDense layer: mean trained weight width (bits, sign excluded) and the fraction of
    weights at zero bits (pruned).

    >>> hgq_summary(model)["fc1"]["pruned"]                          # doctest: +SKIP
    0.41
    """
    out = {}
    for layer in _hgq_layers(model):
        if getattr(layer, "_has_kernel", False):
            bits = np.asarray(layer.kernel_bw_exact, dtype=np.float64)
            out[layer.name] = {"mean_weight_bits": float(bits.mean()), "pruned": float(np.mean(bits <= 0))}
    return out
