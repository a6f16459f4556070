"""Student networks built with QKeras from a :class:`~fpgakd.config.ModelConfig`.

Every student is an MLP: the input is quantized by a ``QActivation(quantized_bits)``,
each hidden layer is a ``QDense`` with ``quantized_bits(bits, integer, alpha=1)`` weights
and biases followed by ``quantized_relu``, and the last ``QDense`` outputs logits (one per
class, or one for a regressor, whose sigmoid is applied in the loss). Ending on a linear
layer keeps the firmware output bit-exact: hls4ml's softmax/sigmoid are table lookups.
A float student (``quantization.enabled: false``, e.g. DistillNet) has the same layers in
plain Keras, optionally with a batch normalization before the output. A student with
``quantization.kind: hgq`` is built by :mod:`fpgakd.learn.hgq_students` (trained bit
widths per weight and activation instead of uniform QKeras quantizers).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fpgakd.config import PARTICLE_SET_INPUT, ModelConfig
from fpgakd.errors import DataError
from fpgakd.learn.runtime import configure_tensorflow

__all__ = ["build_student", "student_custom_objects", "load_student", "save_student",
           "weight_sparsity", "count_parameters", "student_summary", "OUTPUT_LAYER", "BATCH_NORM_LAYER"]

#: Name of the final (logit) layer of every student.
OUTPUT_LAYER = "output"
#: the QKeras student's input quantizer (its first layer)
INPUT_QUANT_LAYER = "input_quant"
#: Name of the batch normalization before it (``batch_norm: true``, float students)
BATCH_NORM_LAYER = "batch_norm"


def _quantizers(cfg: ModelConfig) -> dict[str, Any]:
    from qkeras import quantized_bits, quantized_relu

    q = cfg.quantization
    return {
        "input": quantized_bits(q.input_bits, q.input_integer, alpha=1),
        "weight": quantized_bits(q.weight_bits, q.weight_integer, alpha=1),
        "relu": quantized_relu(q.activation_bits, q.activation_integer),
    }


def _layer_makers(cfg: ModelConfig) -> tuple[Any, Any, Any]:
    """(input layer or None, dense(width, name, use_bias), relu(name)): QKeras, or float Keras when
    ``quantization.enabled`` is false."""
    import tensorflow as tf

    if not cfg.quantization.enabled:
        def dense(width: int, name: str, use_bias: bool = True) -> Any:
            return tf.keras.layers.Dense(width, kernel_initializer="lecun_uniform", use_bias=use_bias, name=name)

        def relu(name: str) -> Any:
            return tf.keras.layers.Activation("relu", name=name)
        return None, dense, relu

    from qkeras import QActivation, QDense

    quant = _quantizers(cfg)

    def qdense(width: int, name: str, use_bias: bool = True) -> Any:
        return QDense(width, kernel_quantizer=quant["weight"], bias_quantizer=quant["weight"],
                      kernel_initializer="lecun_uniform", use_bias=use_bias, name=name)

    def qrelu(name: str) -> Any:
        return QActivation(quant["relu"], name=name)
    return QActivation(quant["input"], name=INPUT_QUANT_LAYER), qdense, qrelu


def build_student(cfg: ModelConfig, n_inputs: int, n_outputs: int) -> "tf.keras.Model":  # noqa: F821
    """Build the (unpruned, untrained) student for ``cfg``: QKeras, or float Keras when
    ``quantization.enabled`` is false; with ``batch_norm``, a BatchNormalization before the
    ``output`` layer (DistillNet); a Deep Sets student for ``inputs.type: particle_set``
    (:mod:`fpgakd.learn.deepsets_students`), with ``interaction`` an interaction student
    (:mod:`fpgakd.learn.interaction_students`). The last layer is always a linear ``output`` logit.

    >>> from fpgakd.config import load_model_config
    >>> build_student(load_model_config("hlf_mlp"), 16, 5).output_shape
    (None, 5)
    """
    configure_tensorflow()
    import tensorflow as tf

    if n_inputs < 1 or n_outputs < 1:
        raise ValueError(f"n_inputs and n_outputs must be >= 1, got {n_inputs} and {n_outputs}")
    tf.keras.utils.set_random_seed(cfg.training.seed)
    if cfg.quantization.enabled and cfg.quantization.kind == "hgq" and cfg.inputs.type == PARTICLE_SET_INPUT:
        from fpgakd.learn.hgq_deepsets_students import build_hgq_deepsets_student

        return build_hgq_deepsets_student(cfg, n_inputs, n_outputs)
    if cfg.quantization.enabled and cfg.quantization.kind == "hgq":
        from fpgakd.learn.hgq_students import build_hgq_student

        return build_hgq_student(cfg, n_inputs, n_outputs)
    if cfg.inputs.type == PARTICLE_SET_INPUT and cfg.interaction:
        from fpgakd.learn.interaction_students import build_interaction_student

        return build_interaction_student(cfg, n_inputs, n_outputs, _layer_makers(cfg))
    if cfg.inputs.type == PARTICLE_SET_INPUT:
        from fpgakd.learn.deepsets_students import build_deepsets_student

        return build_deepsets_student(cfg, n_inputs, n_outputs, _layer_makers(cfg))
    input_layer, dense, relu = _layer_makers(cfg)
    x_in = tf.keras.Input(shape=(n_inputs,), name="inputs")
    h = x_in if input_layer is None else input_layer(x_in)
    for i, width in enumerate(cfg.hidden, start=1):
        h = dense(width, f"fc{i}")(h)
        h = relu(f"relu{i}")(h)
    if cfg.batch_norm:
        h = tf.keras.layers.BatchNormalization(name=BATCH_NORM_LAYER)(h)
    out = dense(n_outputs, OUTPUT_LAYER)(h)
    return tf.keras.Model(x_in, out, name=cfg.name)


def student_custom_objects() -> dict[str, Any]:
    """Custom objects needed to load a student file (QKeras layers, quantizers, pruning; HGQ
    layers and proxy quantizers where HGQ is installed).

    >>> "QDense" in student_custom_objects()
    True
    """
    from qkeras.utils import _add_supported_quantized_objects
    from tensorflow_model_optimization.python.core.sparsity.keras import pruning_wrapper

    from fpgakd.learn.hgq_students import hgq_custom_objects

    objects: dict[str, Any] = {"PruneLowMagnitude": pruning_wrapper.PruneLowMagnitude}
    _add_supported_quantized_objects(objects)
    objects.update(hgq_custom_objects())
    return objects


def load_student(path: str | os.PathLike) -> "tf.keras.Model":  # noqa: F821
    """Load a student saved by :func:`save_student` (HDF5 ``.h5``), QKeras objects included.

    >>> model = load_student("runs/hlf_mlp/student_kd.h5")     # doctest: +SKIP
    """
    configure_tensorflow()   # before TensorFlow's first import: its custom layers may set it up too
    import tensorflow as tf

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: model file not found")
    try:
        return tf.keras.models.load_model(path, custom_objects=student_custom_objects(), compile=False)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise DataError(f"{path}: not a loadable Keras/QKeras model ({err})") from None


def save_student(model: "tf.keras.Model", path: str | os.PathLike) -> Path:  # noqa: F821
    """Save ``model`` as HDF5 atomically (the format hls4ml and QKeras reload reliably)."""
    from fpgakd.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        h5 = tmp.with_suffix(".h5")
        model.save(h5, include_optimizer=False, save_format="h5")
        os.replace(h5, tmp)
    return path


def _quantized(layer: Any, var: Any, qname: str) -> Any:
    """A kernel or bias as the firmware sees it: through the QKeras quantizer, or HGQ's
    deployed (``fused_q*``) value, or as stored (float and proxy layers)."""
    import numpy as np

    hgq_value = {"kernel_quantizer_internal": "fused_qkernel",
                 "bias_quantizer_internal": "fused_qbias"}[qname]
    if type(layer).__module__.startswith("HGQ.layers") and hasattr(layer, hgq_value):
        return np.asarray(getattr(layer, hgq_value))
    w = var.numpy()
    quantizer = getattr(layer, qname, None)
    return np.asarray(quantizer(w)) if quantizer is not None else w


def weight_sparsity(model: "tf.keras.Model") -> dict[str, float]:  # noqa: F821
    """Fraction of zero kernel weights per Dense-like layer, measured on the quantized weights.

    A weight counts as zero if its *quantized* value is zero: that is what the firmware
    sees and what saves multipliers.

    >>> weight_sparsity(model)["fc1"]                              # doctest: +SKIP
    0.75
    """
    import numpy as np

    result = {}
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        w = _quantized(layer, kernel, "kernel_quantizer_internal")
        result[layer.name] = float(np.mean(w == 0))
    return result


def count_parameters(model: "tf.keras.Model") -> dict[str, int]:  # noqa: F821
    """Total weights+biases of Dense-like layers and how many are non-zero after quantization."""
    import numpy as np

    total = nonzero = 0
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        for var, qname in ((kernel, "kernel_quantizer_internal"), (layer.bias, "bias_quantizer_internal")):
            if var is None:
                continue
            w = _quantized(layer, var, qname)
            total += w.size
            nonzero += int(np.count_nonzero(w))
    return {"parameters": int(total), "nonzero": int(nonzero)}


def student_summary(model: Any, cfg: ModelConfig) -> dict[str, Any]:
    """Sparsity per layer, bit widths (None for a float student) and parameter counts.

    >>> student_summary(model, cfg)["bits"]["weight"]                # doctest: +SKIP
    8
    """
    q = cfg.quantization
    if q.enabled and q.kind == "hgq":
        from fpgakd.config import config_to_dict
        from fpgakd.learn.hgq_students import hgq_summary

        return {"sparsity": weight_sparsity(model), "quantizer": "hgq",
                "bits": {**config_to_dict(q), "trained": hgq_summary(model)}, **count_parameters(model)}
    bits = {"weight": q.weight_bits, "weight_integer": q.weight_integer,
            "input": q.input_bits, "input_integer": q.input_integer,
            "activation": q.activation_bits, "activation_integer": q.activation_integer}
    return {"sparsity": weight_sparsity(model), "quantizer": "qkeras" if q.enabled else "float",
            "bits": bits if q.enabled else None, **count_parameters(model)}
