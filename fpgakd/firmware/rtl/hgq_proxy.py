"""An HGQ proxy model (:mod:`fpgakd.learn.hgq_students`) for the RTL flow: its layers read as
a chain of fixed-point steps, traced with da4ml, and an exact float64 replica of it.

An MLP's proxy is ``FixedPointQuantizer`` (the input) -> [``Dense`` -> ``FixedPointQuantizer``
-> ``ReLU`` -> ``FixedPointQuantizer``]* -> ``Dense`` -> ``FixedPointQuantizer``. Every
quantizer carries a format per element (keep_negative, bits, integer bits incl. sign), a
rounding (``TRN`` floor, ``RND`` floor(x + 1/2)) and an overflow (``WRAP``, ``SAT``):
exactly da4ml's ``quantize`` modes, so the traced logic needs no rounding of its own
(unlike QKeras's half-to-even, :mod:`fpgakd.firmware.rtl.trace`). A weight whose trained
width is zero is a zero in the Dense kernel and costs no adder. The RTL input is the input
quantizer's output, as integers at its largest fractional width.

A Deep Sets proxy (:mod:`fpgakd.learn.hgq_deepsets_students`) reshapes (and with the
features, crops) its input before quantizing it: the RTL input is then the particles'
quantizer output, slot after slot, followed by the features' quantizer output, in the flat
order of the input itself. Its steps up to the pooling run on each particle (the same kernel
for every one), the pooling is a max or a mean over the slots, the features join after it,
and the head's steps follow as an MLP's do.

Keras evaluates the proxy in float32; :func:`proxy_reference` evaluates the same steps in
float64 (exact for these widths), the specification the RTL meets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fpgakd.errors import ConfigError, DataError
from fpgakd.firmware.rtl.codes import KernelChain
from fpgakd.firmware.rtl.traced_ops import columns, concatenate, pool_particles

__all__ = ["ProxyQuantizer", "ProxyDense", "ProxySpec", "extract_proxy", "trace_proxy", "proxy_input_codes",
           "proxy_reference"]

_ROUNDING = ("TRN", "RND")
_OVERFLOW = ("WRAP", "SAT")
#: proxy layers that only move values (a Deep Sets' reshapes; the pooled (1, C) flattened)
_WIRING = ("Reshape", "Flatten")
#: proxy pooling layers over the particles, and what they compute
_POOLING = {"MaxPooling1D": "max", "AveragePooling1D": "mean"}


@dataclass
class ProxyQuantizer:
    """One FixedPointQuantizer, its formats broadcast to one per value of its output, flat."""

    name: str
    k: np.ndarray            # keep_negative, 0 or 1
    bits: np.ndarray         # total bits (sign included); 0: the value is 0
    integers: np.ndarray     # integer bits, sign included
    rounding: str
    overflow: str

    @property
    def kif(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """da4ml's (keep_negative, integer bits without sign, fractional bits)."""
        return self.k, self.integers - self.k, self.bits - self.integers


@dataclass
class ProxyDense:
    """One Dense layer of the proxy (weights on their trained grids); ``relu`` marks a hidden
    layer as (largest bits, largest fractional bits) of its relu quantizer, None for the logits."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray
    relu: tuple[int, int] | None = None


@dataclass
class ProxySpec(KernelChain):
    """The proxy as steps: ("quantize", ProxyQuantizer), ("dense", ProxyDense), ("relu", None).

    ``input_quantizer`` holds the formats of the whole RTL input. An MLP's steps are all in
    ``steps``; a Deep Sets proxy's per-particle steps are in ``particle_steps`` (formats per
    slot and channel), pooled (``pooling`` over ``n_particles``), joined with ``n_hlf``
    features, then ``steps`` (the head)."""

    name: str
    input_quantizer: ProxyQuantizer
    steps: list[tuple[str, Any]] = field(default_factory=list)
    #: the quantizer layers whose outputs, flattened and side by side, are the RTL input
    input_layers: tuple[str, ...] = ()
    n_particles: int = 0
    particle_steps: list[tuple[str, Any]] = field(default_factory=list)
    pooling: str | None = None
    n_hlf: int = 0

    @property
    def layers(self) -> list[ProxyDense]:
        return [obj for kind, obj in self.particle_steps + self.steps if kind == "dense"]

    @property
    def n_in(self) -> int:
        return int(self.input_quantizer.bits.size)

    @property
    def pool_shift(self) -> int:
        """Fractional bits a mean over the particles adds (log2 of their number)."""
        return int(np.log2(self.n_particles)) if self.pooling == "mean" else 0

    @property
    def input_kif(self) -> tuple[int, int, int]:
        k, i, f = self.input_quantizer.kif
        return int(k.max()), int(i.max()), int(f.max())

    @property
    def out_f(self) -> int:
        last = [obj for kind, obj in self.steps if kind == "quantize"][-1]
        return int(last.kif[2].max())


def _read_quantizer(layer: Any) -> ProxyQuantizer:
    """One FixedPointQuantizer, its formats broadcast to one per value of its output (flat)."""
    where = f"layer '{layer.name}' (FixedPointQuantizer)"
    if layer.RND not in _ROUNDING or layer.SAT not in _OVERFLOW:
        raise ConfigError(f"{where}: rounding {layer.RND} / overflow {layer.SAT} is not supported by the RTL "
                          f"flow (supported: {', '.join(_ROUNDING)} / {', '.join(_OVERFLOW)})")
    shape = tuple(int(d) for d in layer.output_shape[1:])

    def flat(var: Any) -> np.ndarray:
        a = np.asarray(var.numpy(), dtype=np.int64)
        if a.ndim == len(shape) + 1:
            a = a[0]                      # the batch axis HGQ keeps
        try:
            return np.broadcast_to(a, shape).ravel().copy()
        except ValueError:
            raise ConfigError(f"{where}: formats of shape {a.shape} do not fit its output {shape}") from None

    return ProxyQuantizer(layer.name, flat(layer.keep_negative), flat(layer.bits), flat(layer.integers),
                          layer.RND, layer.SAT)


def _read_dense(layer: Any) -> ProxyDense:
    act = getattr(layer.activation, "__name__", str(layer.activation))
    if act != "linear":
        raise ConfigError(f"layer '{layer.name}' (Dense): activation '{act}' inside the Dense of a proxy "
                          "is not supported by the RTL flow")
    kernel = np.asarray(layer.kernel.numpy(), dtype=np.float64)
    bias = np.asarray(layer.bias.numpy(), dtype=np.float64) if layer.use_bias else np.zeros(kernel.shape[1])
    return ProxyDense(layer.name, kernel, bias)


def _inbound_names(entry: dict[str, Any]) -> list[str]:
    """The names of the layers a layer's config entry reads, in order (its first call)."""
    return [inbound[0] for node in entry["inbound_nodes"][:1] for inbound in node]


def _consumers(model: Any) -> dict[str, list[str]]:
    """Layer name -> the names of the layers that read its output (from the model's config)."""
    out: dict[str, list[str]] = {}
    for entry in model.get_config()["layers"]:
        for name in _inbound_names(entry):
            out.setdefault(name, []).append(entry["name"])
    return out


def _read_step(layer: Any, steps: list[tuple[str, Any]]) -> bool:
    """Append a Dense, FixedPointQuantizer or ReLU to ``steps``; False for any other layer."""
    kind = type(layer).__name__
    if kind == "Dense":
        steps.append(("dense", _read_dense(layer)))
    elif kind == "FixedPointQuantizer":
        steps.append(("quantize", _read_quantizer(layer)))
    elif kind == "ReLU":
        steps.append(("relu", None))
    else:
        return False
    return True


def _read_chain(model: Any, spec: ProxySpec, start: str) -> None:
    """Walk the proxy from the layer after ``start`` to its output, filling ``spec``'s steps
    (per particle until the pooling, then the head's)."""
    consumers = _consumers(model)
    steps = spec.particle_steps if spec.n_particles else spec.steps
    name = start
    while consumers.get(name):
        if len(consumers[name]) != 1:
            raise ConfigError(f"layer '{name}' of an HGQ proxy feeds {len(consumers[name])} layers; the RTL "
                              "flow traces one chain (with a Deep Sets' features joined after the pooling)")
        layer = model.get_layer(consumers[name][0])
        kind, previous, name = type(layer).__name__, name, layer.name
        if _read_step(layer, steps) or kind in _WIRING:
            continue
        if kind in _POOLING and spec.n_particles and spec.pooling is None:
            spec.pooling, steps = _POOLING[kind], spec.steps
        elif kind == "Concatenate" and spec.pooling is not None and spec.n_hlf and not spec.steps:
            _check_join(model, name, previous)
        else:
            raise ConfigError(f"layer '{name}' ({kind}) of an HGQ proxy is not supported by the RTL flow "
                              "(supported: Dense, ReLU, FixedPointQuantizer, and a Deep Sets' reshapes, "
                              "pooling and join)")


def _check_join(model: Any, name: str, pooled: str) -> None:
    """The RTL joins the pooled particles first and the features' quantizer outputs after them."""
    from fpgakd.learn.hgq_deepsets_students import HLF_QUANT_LAYER

    inputs = _inbound_names(next(e for e in model.get_config()["layers"] if e["name"] == name))
    if inputs != [pooled, HLF_QUANT_LAYER]:
        raise ConfigError(f"layer '{name}' (Concatenate) of an HGQ proxy joins {inputs}; the RTL flow joins the "
                          f"pooled particles ('{pooled}') and then the features' quantizer ('{HLF_QUANT_LAYER}')")


def _input_quantizers(model: Any) -> list[Any]:
    """The proxy's input quantizers: the first layer, or a Deep Sets' particles' and features'."""
    from fpgakd.learn.deepsets_students import is_deepsets_model
    from fpgakd.learn.hgq_deepsets_students import HLF_QUANT_LAYER, INPUT_QUANT_LAYER

    if is_deepsets_model(model):
        names = [INPUT_QUANT_LAYER] + [HLF_QUANT_LAYER] * any(layer.name == HLF_QUANT_LAYER for layer in model.layers)
        return [model.get_layer(name) for name in names]
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if not layers or type(layers[0]).__name__ != "FixedPointQuantizer":
        raise ConfigError(f"model '{model.name}': an HGQ proxy starts with its input FixedPointQuantizer")
    return layers[:1]


def _side_by_side(quantizers: list[ProxyQuantizer]) -> ProxyQuantizer:
    """The formats of the input quantizers side by side (rounding: the first's; the RTL
    takes their outputs, so it never rounds with them)."""
    first = quantizers[0]
    k, bits, integers = (np.concatenate([getattr(q, a) for q in quantizers]) for a in ("k", "bits", "integers"))
    return ProxyQuantizer("+".join(q.name for q in quantizers), k, bits, integers, first.rounding, first.overflow)


def extract_proxy(model: Any) -> ProxySpec:
    """Read an HGQ proxy model into steps, refusing layers the RTL flow does not trace.

    >>> [kind for kind, _ in extract_proxy(proxy).steps][:4]          # doctest: +SKIP
    ['dense', 'quantize', 'relu', 'quantize']
    """
    layers = _input_quantizers(model)
    quantizers = [_read_quantizer(layer) for layer in layers]
    spec = ProxySpec(model.name, _side_by_side(quantizers), input_layers=tuple(layer.name for layer in layers))
    if len(layers[0].output_shape) == 3:
        spec.n_particles = int(layers[0].output_shape[1])
        spec.n_hlf = int(quantizers[1].bits.size) if len(quantizers) > 1 else 0
    if not spec.input_quantizer.bits.any():
        raise ConfigError(f"model '{model.name}': every input of the HGQ student trained to zero bits, so "
                          "its output is a constant and there is no circuit to build; train it with a "
                          "smaller quantization.beta")
    _read_chain(model, spec, layers[0].name)
    _mark_relus(spec.particle_steps)
    _mark_relus(spec.steps)
    if spec.n_particles and spec.pooling is None:
        raise ConfigError(f"model '{model.name}': its particles are never pooled (a MaxPooling1D or "
                          "AveragePooling1D over the slots)")
    if not spec.layers or not spec.steps or spec.steps[-1][0] != "quantize":
        raise ConfigError(f"model '{model.name}': an HGQ proxy ends with a Dense and its FixedPointQuantizer")
    return spec


def _mark_relus(steps: list[tuple[str, Any]]) -> None:
    """Record on each hidden Dense the format of the relu quantizer after it (report only)."""
    dense = None
    for n, (kind, obj) in enumerate(steps):
        if kind == "dense":
            dense = obj
        elif kind == "relu" and dense is not None and n + 1 < len(steps) and steps[n + 1][0] == "quantize":
            q = steps[n + 1][1]
            dense.relu = (int(q.bits.max()), int(q.kif[2].max()))


def _quantize_traced(h: Any, q: ProxyQuantizer) -> Any:
    k, i, f = q.kif
    shape = h.shape
    return h.quantize(k.reshape(shape), i.reshape(shape), f.reshape(shape), overflow_mode=q.overflow,
                      round_mode=q.rounding)


def _trace_steps(h: Any, steps: list[tuple[str, Any]]) -> Any:
    for kind, obj in steps:
        if kind == "dense":
            h = h @ obj.kernel
            if np.any(obj.bias != 0):
                h = h + obj.bias
        elif kind == "relu":
            h = h.relu()
        else:
            h = _quantize_traced(h, obj)
    return h


def trace_proxy(spec: ProxySpec, hard_dc: int = 2) -> tuple[Any, Any]:
    """(da4ml input array, traced output array) of the proxy's arithmetic.

    >>> inp, out = trace_proxy(extract_proxy(proxy))                  # doctest: +SKIP
    """
    from da4ml.trace import FixedVariableArray

    k, i, f = spec.input_quantizer.kif
    inp = FixedVariableArray.from_kif(k, i, f, solver_options={"hard_dc": hard_dc})
    h = inp
    if spec.n_particles:
        n_particle_columns = spec.n_in - spec.n_hlf
        h = _trace_steps(columns(inp, 0, n_particle_columns).reshape(spec.n_particles, -1), spec.particle_steps)
        h = pool_particles(h, spec.pooling, spec.pool_shift)
        if spec.n_hlf:   # the features join the pooled particles as they are (wiring)
            h = concatenate(h, columns(inp, n_particle_columns, spec.n_in))
    return inp, _trace_steps(h, spec.steps)


def _quantize_exact(x: np.ndarray, q: ProxyQuantizer) -> np.ndarray:
    """HGQ's gfixed_quantizer in float64 (exact: values here have far fewer than 53 bits)."""
    shape = x.shape[1:]
    k, bits = q.k.reshape(shape).astype(np.float64), q.bits.reshape(shape).astype(np.float64)
    f = (q.bits - q.integers).reshape(shape).astype(np.float64)
    scaled = x * 2.0 ** f
    r = np.floor(scaled + 0.5) if q.rounding == "RND" else np.floor(scaled)
    high = 2.0 ** (bits - k) - 1
    low = -(high + 1) * k
    r = np.clip(r, low, high) if q.overflow == "SAT" else np.mod(r - low, high - low + 1) + low
    return np.where(bits != 0, r / 2.0 ** f, 0.0)


def proxy_input_codes(model: Any, spec: ProxySpec, inputs: np.ndarray) -> np.ndarray:
    """Integer codes (at the input quantizers' largest fractional width) of the float inputs,
    produced by the proxy's own input quantizer layers.

    >>> codes = proxy_input_codes(proxy, spec, x)                     # doctest: +SKIP
    """
    import tensorflow as tf

    x = np.asarray(inputs, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != spec.n_in:
        raise DataError(f"inputs have shape {x.shape}; the model needs (n, {spec.n_in})")
    if not np.all(np.isfinite(x)):
        raise DataError("inputs contain NaN or infinite values")
    quantizers = tf.keras.Model(model.inputs, [model.get_layer(name).output for name in spec.input_layers])
    outputs = quantizers(tf.constant(x), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    q = np.concatenate([np.asarray(o, dtype=np.float64).reshape(len(x), -1) for o in outputs], axis=1)
    scaled = q * 2.0 ** spec.input_kif[2]
    codes = np.round(scaled)
    if not np.array_equal(codes, scaled):
        raise ConfigError(f"input quantizer '{spec.input_quantizer.name}' produced values off its grid")
    return codes.astype(np.int64)


def _reference_steps(h: np.ndarray, steps: list[tuple[str, Any]]) -> np.ndarray:
    for kind, obj in steps:
        if kind == "dense":
            h = h @ obj.kernel + obj.bias
        elif kind == "relu":
            h = np.maximum(h, 0.0)
        else:
            h = _quantize_exact(h, obj)
    return h


def proxy_reference(spec: ProxySpec, codes: np.ndarray) -> np.ndarray:
    """The proxy's outputs on input ``codes``, computed exactly in float64.

    >>> ref = proxy_reference(spec, proxy_input_codes(proxy, spec, x))   # doctest: +SKIP
    """
    h = np.asarray(codes, dtype=np.float64) * 2.0 ** -spec.input_kif[2]
    if spec.n_particles:
        n_particle_columns = spec.n_in - spec.n_hlf
        particles = _reference_steps(h[:, :n_particle_columns].reshape(len(h), spec.n_particles, -1),
                                     spec.particle_steps)
        pooled = particles.mean(axis=1) if spec.pooling == "mean" else particles.max(axis=1)
        h = np.concatenate([pooled, h[:, n_particle_columns:]], axis=1)
    return _reference_steps(h, spec.steps)
