"""A QKeras student as integers: weights and quantizers read exactly, the input quantizer
applied, and an int64 numpy replica of Keras's forward pass (the specification the RTL meets).

A Deep Sets student (:mod:`fpgakd.learn.deepsets_students`) is the same chain with its first
layers applied to each particle of the reshaped input (the same integer kernel for every
particle), then the pooling: a mean over N = 2^k particles is their integer sum read with k
more fractional bits (no rounding), a max is the integer maximum. An interaction student
(:mod:`fpgakd.learn.interaction_students`) is read as that Deep Sets chain plus its update
step between the pooling and the head (:mod:`fpgakd.firmware.rtl.update`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fpgakd.errors import ConfigError, DataError
from fpgakd.firmware.rtl.codes import (DenseSpec, KernelChain, RtlUnsupported, _bits_kif, _check_relu_settings,
                                       _qname, _round_half_even_int, _to_codes, read_qdense_codes, shift_right)
from fpgakd.firmware.rtl.update import read_update, update_forward


# --------------------------------------------------------------------------------------
# Reading the student: integers only
# --------------------------------------------------------------------------------------

@dataclass
class StudentSpec(KernelChain):
    """Integer description of a QKeras student (what the RTL implements)."""

    name: str
    input_layer: str
    input_kif: tuple[int, int, int]       # keep_negative, integer bits, fractional bits
    layers: list[DenseSpec] = field(default_factory=list)
    #: Deep Sets: particles per jet (the input is reshaped to (n_particles, features)); 0 for an MLP
    n_particles: int = 0
    #: Deep Sets: how many of ``layers`` are applied to each particle before the pooling
    n_particle_layers: int = 0
    #: Deep Sets: "mean" or "max" over the particles; None for an MLP
    pooling: str | None = None
    #: interaction student: the update step between the pooling and the head
    #: (:class:`fpgakd.firmware.rtl.update.UpdateSpec`); None otherwise
    update: Any = None
    #: Deep Sets with the high-level features: the input columns after the particles, joined
    #: to the pooled particles before the head; 0 otherwise
    n_hlf: int = 0

    @property
    def n_in(self) -> int:
        return int(self.layers[0].kernel.shape[0]) * max(1, self.n_particles) + self.n_hlf

    @property
    def pool_shift(self) -> int:
        """Fractional bits the pooling adds: log2(N) for a mean over N particles."""
        return int(math.log2(self.n_particles)) if self.pooling == "mean" else 0

    @property
    def out_f(self) -> int:
        return self.layers[-1].acc_f

    def nonzero_weights(self) -> int:
        extra = self.update.nonzero_weights() if self.update is not None else 0
        return super().nonzero_weights() + extra


_IGNORED_LAYERS = {"InputLayer"}


def _check_quantized_single_io(model: Any, layers: list[Any]) -> None:
    """RtlUnsupported for a model without QKeras layers, ConfigError unless one input and one output."""
    types = {type(layer).__name__ for layer in layers}
    if not any(t.startswith("Q") for t in types):
        raise RtlUnsupported(f"model '{model.name}' has no QKeras layers ({', '.join(sorted(types))}): "
                             "RTL skipped, there are no exact integer weights to implement")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ConfigError(f"model '{model.name}': RTL needs one input and one output")


def _read_quantized_activation(model: Any, layer: Any, idx: int, where: str,
                               spec: StudentSpec | None) -> StudentSpec:
    """The first layer's quantized_bits starts the spec; a quantized_relu after a QDense
    becomes that layer's relu. Returns the spec."""
    q = layer.quantizer
    qn = _qname(q)
    if idx == 0 and qn == "quantized_bits":
        return StudentSpec(model.name, layer.name, _bits_kif(q, where))
    if qn == "quantized_relu" and spec is not None and spec.layers and spec.layers[-1].relu is None:
        _check_relu_settings(q, where)
        bits, integer = int(q.bits), int(q.integer)
        spec.layers[-1].relu = (bits, bits - integer)
        spec.layers[-1].relu_name = layer.name
        return spec
    raise ConfigError(f"{where}: activation quantizer {qn} at this position is not supported by "
                      "the RTL flow (supported: input quantized_bits first, quantized_relu after QDense)")


def _read_qdense(layer: Any, where: str, spec: StudentSpec | None) -> None:
    """Append a linear QDense, in integer codes, to the spec."""
    if spec is None:
        raise ConfigError(f"{where}: the RTL flow needs an input QActivation(quantized_bits) "
                          "before the first QDense (the RTL input is that quantizer's integer code)")
    if spec.layers and spec.layers[-1].relu is None:
        raise ConfigError(f"{where}: two QDense layers without a quantized_relu between them "
                          "are not supported by the RTL flow")
    # the layer's input: the relu before it (pooled: a mean adds fractional bits; joined with the
    # features: the finer of the two grids), or the input quantizer for the first QDense
    in_f = spec.layers[-1].relu[1] if spec.layers else spec.input_kif[2]
    if spec.pooling is not None and len(spec.layers) == spec.n_particle_layers:
        in_f += spec.pool_shift
        if spec.n_hlf:
            in_f = max(in_f, spec.input_kif[2])
    spec.layers.append(read_qdense_codes(layer, where, in_f))


def _read_particles(layer: Any, where: str, spec: StudentSpec | None) -> None:
    """A Reshape of the quantized input to (particles, features): a Deep Sets student. (The
    flat input seen as one column, before a student with the features crops it, is a view.)"""
    from fpgakd.learn.deepsets_students import COLUMNS_LAYER

    target = tuple(layer.target_shape)
    if layer.name == COLUMNS_LAYER and spec is not None and not spec.layers and target[1:] == (1,):
        return
    if spec is None or spec.layers or spec.n_particles or len(target) != 2:
        raise ConfigError(f"{where}: the RTL flow takes a Reshape only to (particles, features), "
                          "right after the input quantizer")
    spec.n_particles = int(target[0])


def _read_pooling(kind: str, where: str, spec: StudentSpec | None) -> None:
    """The pooling over the particles that ends the per-particle layers."""
    if spec is None or not spec.n_particles or not spec.layers or spec.pooling is not None \
            or spec.layers[-1].relu is None:
        raise ConfigError(f"{where}: the RTL flow pools once, after the per-particle QDense -> "
                          "quantized_relu layers of a reshaped input")
    pooling = "mean" if kind == "GlobalAveragePooling1D" else "max"
    n = spec.n_particles
    if pooling == "mean" and n & (n - 1):
        raise ConfigError(f"{where}: a mean over {n} particles is not a shift; the RTL flow needs a power of two")
    spec.pooling = pooling
    spec.n_particle_layers = len(spec.layers)


def _read_hlf_branch(layer: Any, kind: str, where: str, spec: StudentSpec | None) -> None:
    """The crops of a Deep Sets student with the high-level features, their Flatten and their
    join with the pooled particles (:mod:`fpgakd.learn.deepsets_students`)."""
    from fpgakd.learn.deepsets_students import HLF_CROP_LAYER, HLF_LAYER, JOIN_LAYER, PARTICLES_CROP_LAYER

    expected = {"Cropping1D": (PARTICLES_CROP_LAYER, HLF_CROP_LAYER), "Flatten": (HLF_LAYER,),
                "Concatenate": (JOIN_LAYER,)}[kind]
    if spec is None or layer.name not in expected:
        raise ConfigError(f"{where}: the RTL flow takes a {kind} only as a Deep Sets student's "
                          f"'{' or '.join(expected)}' (inputs.hlf)")
    if layer.name in (PARTICLES_CROP_LAYER, HLF_CROP_LAYER):
        left, right = (int(c) for c in layer.cropping)
        if (left, right)[layer.name == HLF_CROP_LAYER]:
            raise ConfigError(f"{where}: the particles must be the first input columns and the "
                              "features the last (croppings (0, n) and (n, 0))")
        if layer.name == HLF_CROP_LAYER:
            spec.n_hlf = int(layer.output_shape[1])
    elif layer.name == JOIN_LAYER and (spec.pooling is None or not spec.n_hlf
                                       or len(spec.layers) != spec.n_particle_layers):
        raise ConfigError(f"{where}: the RTL flow joins the features right after the pooling")


def _refuse_layer(layer: Any, kind: str, where: str) -> None:
    """ConfigError for a layer the RTL flow does not implement, saying what to do instead."""
    if kind in ("Dense", "BatchNormalization", "Activation", "Softmax", "Dropout", "QBatchNormalization"):
        extra = ""
        if kind == "Activation":
            extra = f" with activation '{getattr(layer.activation, '__name__', layer.activation)}'"
        raise ConfigError(f"{where}{extra} is not supported by the RTL flow: students must be "
                          "QActivation(quantized_bits) -> [QDense -> QActivation(quantized_relu)]* -> QDense")
    if kind == "PruneLowMagnitude":
        raise ConfigError(f"{where}: strip the pruning wrappers (tfmot strip_pruning) before writing RTL")
    raise ConfigError(f"{where} is not supported by the RTL flow")


def _check_chain(model: Any, spec: StudentSpec | None) -> StudentSpec:
    """The spec, once it has QDense layers, ends on a linear one and its shapes chain."""
    if spec is None or not spec.layers:
        raise ConfigError(f"model '{model.name}': no QDense layers found")
    if spec.n_particles and spec.pooling is None:
        raise ConfigError(f"model '{model.name}': particles are never pooled; the RTL flow needs a "
                          "GlobalAveragePooling1D or GlobalMaxPooling1D")
    if spec.layers[-1].relu is not None:
        raise ConfigError(f"model '{model.name}': the last layer '{spec.layers[-1].relu_name}' is a relu; "
                          "the RTL flow expects a linear QDense output (logits)")
    for n, (prev, nxt) in enumerate(zip(spec.layers, spec.layers[1:]), start=1):
        if spec.update is not None and n == spec.n_particle_layers:
            continue   # the update step sits between them (its shapes: read_update)
        joined = spec.n_hlf if n == spec.n_particle_layers else 0
        if prev.kernel.shape[1] + joined != nxt.kernel.shape[0]:
            raise ConfigError(f"layers '{prev.name}' -> '{nxt.name}': shapes do not chain")
    return spec


def extract_student(model: Any) -> StudentSpec:
    """Read a QKeras student into integers, refusing anything the RTL cannot reproduce exactly.

    Raises :class:`RtlUnsupported` for a float model (Dense without quantizers) and
    :class:`ConfigError` naming the layer for any other unsupported layer or setting.

    >>> from fpgakd.config import load_model_config
    >>> from fpgakd.learn.students import build_student
    >>> spec = extract_student(build_student(load_model_config("hlf_mlp"), 16, 5))
    >>> spec.input_kif, [l.name for l in spec.layers]
    ((1, 3, 4), ['fc1', 'fc2', 'fc3', 'output'])
    """
    from fpgakd.learn.interaction_students import update_layer_names

    update_layers = update_layer_names(model)
    # an interaction student's chain without its update step is a Deep Sets student's
    layers = [layer for layer in model.layers
              if type(layer).__name__ not in _IGNORED_LAYERS and layer.name not in update_layers]
    _check_quantized_single_io(model, layers)
    spec: StudentSpec | None = None
    for idx, layer in enumerate(layers):
        kind = type(layer).__name__
        where = f"layer '{layer.name}' ({kind})"
        if kind == "QActivation":
            spec = _read_quantized_activation(model, layer, idx, where, spec)
        elif kind == "QDense":
            _read_qdense(layer, where, spec)
        elif kind == "Reshape":
            _read_particles(layer, where, spec)
        elif kind in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
            _read_pooling(kind, where, spec)
        elif kind in ("Cropping1D", "Flatten", "Concatenate"):
            _read_hlf_branch(layer, kind, where, spec)
        else:
            _refuse_layer(layer, kind, where)
    if update_layers and spec is not None and spec.pooling is not None:
        spec.update = read_update(model, spec)
    return _check_chain(model, spec)


def quantize_inputs(model: Any, spec: StudentSpec, inputs: np.ndarray) -> np.ndarray:
    """Integer codes of the float inputs, produced by the model's own input quantizer layer.

    Running Keras' own layer (not a re-implementation) makes the RTL input exactly what
    ``model.predict`` feeds its first QDense, ties and saturation included.
    """
    import tensorflow as tf

    x = np.asarray(inputs, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != spec.n_in:
        raise DataError(f"inputs have shape {x.shape}; the model needs (n, {spec.n_in})")
    if not np.all(np.isfinite(x)):
        raise DataError("inputs contain NaN or infinite values")
    q = np.asarray(model.get_layer(spec.input_layer)(tf.constant(x)), dtype=np.float64)
    k, i, f = spec.input_kif
    codes = _to_codes(q, f, f"input quantizer '{spec.input_layer}'")
    lo, hi = -(2 ** (i + f)) * k, 2 ** (i + f) - 1
    if codes.min(initial=0) < lo or codes.max(initial=0) > hi:
        raise ConfigError(f"input quantizer '{spec.input_layer}' produced codes outside [{lo}, {hi}]")
    return codes


def _join_hlf_codes(spec: StudentSpec, pooled: np.ndarray, hlf: np.ndarray, in_f: int) -> np.ndarray:
    """The pooled particles and the features side by side, both on the head's 2^-in_f grid."""
    pooled_f = spec.layers[spec.n_particle_layers - 1].relu[1] + spec.pool_shift
    return np.concatenate([pooled << (in_f - pooled_f), hlf << (in_f - spec.input_kif[2])], axis=1)


def reference_forward(spec: StudentSpec, codes: np.ndarray, *, return_ties: bool = False):
    """Exact integer replica of the Keras forward pass; returns logit codes at scale 2^-spec.out_f.

    With ``return_ties`` also returns, per relu layer, how many pre-activations were exact
    ties (half a step) with a positive result, split by even/odd kept LSB: proof that a
    test set exercised the half-to-even rule.

    >>> logits = reference_forward(spec, quantize_inputs(model, spec, x)) * 2.0 ** -spec.out_f  # doctest: +SKIP
    """
    codes = np.asarray(codes, dtype=np.int64)
    h = codes
    if spec.n_particles:
        h = h[:, :h.shape[1] - spec.n_hlf].reshape(len(h), spec.n_particles, -1)
    ties: dict[str, dict[str, int]] = {}
    for n, layer in enumerate(spec.layers):
        if spec.update is not None and n == spec.n_particle_layers:
            h = update_forward(spec, h, codes.reshape(h.shape[0], spec.n_particles, -1))
        elif spec.pooling is not None and n == spec.n_particle_layers:
            # a mean's sum is read with pool_shift more fractional bits (layer.in_f has them)
            h = h.sum(axis=1) if spec.pooling == "mean" else h.max(axis=1)
            if spec.n_hlf:
                h = _join_hlf_codes(spec, h, codes[:, codes.shape[1] - spec.n_hlf:], layer.in_f)
        acc = shift_right(h @ layer.kernel, layer.acc_f - layer.in_f - layer.kernel_f) \
            + shift_right(layer.bias, layer.acc_f - layer.bias_f)
        if layer.relu is None:
            h = acc
            continue
        bits, f = layer.relu
        s = layer.acc_f - f
        if return_ties and s > 0:
            rem = acc & ((1 << s) - 1)
            tie = (rem == (1 << (s - 1))) & (acc > 0) & ((acc >> s) < 2 ** bits - 1)
            odd = ((acc >> s) & 1) == 1
            ties[layer.relu_name or layer.name] = {"even": int(np.sum(tie & ~odd)), "odd": int(np.sum(tie & odd))}
        h = np.clip(_round_half_even_int(acc, s), 0, 2 ** bits - 1)
    return (h, ties) if return_ties else h


