"""An HGQ proxy model (:mod:`fpgakd.learn.hgq_students`) for the RTL flow: its layers read as
a chain of fixed-point steps, traced with da4ml, and an exact float64 replica of it.

A proxy is ``FixedPointQuantizer`` (the input) -> [``Dense`` -> ``FixedPointQuantizer`` ->
``ReLU`` -> ``FixedPointQuantizer``]* -> ``Dense`` -> ``FixedPointQuantizer``. Every
quantizer carries a format per element (keep_negative, bits, integer bits incl. sign), a
rounding (``TRN`` floor, ``RND`` floor(x + 1/2)) and an overflow (``WRAP``, ``SAT``):
exactly da4ml's ``quantize`` modes, so the traced logic needs no rounding of its own
(unlike QKeras's half-to-even, :mod:`fpgakd.firmware.rtl.trace`). A weight whose trained
width is zero is a zero in the Dense kernel and costs no adder. The RTL input is the input
quantizer's output, as integers at its largest fractional width.

Keras evaluates the proxy in float32; :func:`proxy_reference` evaluates the same steps in
float64 (exact for these widths), the specification the RTL meets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fpgakd.errors import ConfigError, DataError
from fpgakd.firmware.rtl.codes import KernelChain

__all__ = ["ProxyQuantizer", "ProxyDense", "ProxySpec", "extract_proxy", "trace_proxy", "proxy_input_codes",
           "proxy_reference"]

_ROUNDING = ("TRN", "RND")
_OVERFLOW = ("WRAP", "SAT")


@dataclass
class ProxyQuantizer:
    """One FixedPointQuantizer, its formats broadcast to the layer's width."""

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
    """The proxy as steps: ("quantize", ProxyQuantizer), ("dense", ProxyDense), ("relu", None)."""

    name: str
    input_quantizer: ProxyQuantizer
    steps: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def layers(self) -> list[ProxyDense]:
        return [obj for kind, obj in self.steps if kind == "dense"]

    @property
    def n_in(self) -> int:
        return int(self.layers[0].kernel.shape[0])

    @property
    def input_kif(self) -> tuple[int, int, int]:
        k, i, f = self.input_quantizer.kif
        return int(k.max()), int(i.max()), int(f.max())

    @property
    def out_f(self) -> int:
        last = [obj for kind, obj in self.steps if kind == "quantize"][-1]
        return int(last.kif[2].max())


def _read_quantizer(layer: Any, width: int) -> ProxyQuantizer:
    where = f"layer '{layer.name}' (FixedPointQuantizer)"
    if layer.RND not in _ROUNDING or layer.SAT not in _OVERFLOW:
        raise ConfigError(f"{where}: rounding {layer.RND} / overflow {layer.SAT} is not supported by the RTL "
                          f"flow (supported: {', '.join(_ROUNDING)} / {', '.join(_OVERFLOW)})")

    def flat(var: Any) -> np.ndarray:
        a = np.asarray(var.numpy(), dtype=np.int64)
        try:
            return np.broadcast_to(a.reshape(1, -1) if a.size > 1 else a.reshape(1, 1), (1, width)).ravel().copy()
        except ValueError:
            raise ConfigError(f"{where}: formats of shape {a.shape} do not fit {width} values") from None

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


def extract_proxy(model: Any) -> ProxySpec:
    """Read an HGQ proxy model into steps, refusing layers the RTL flow does not trace.

    >>> [kind for kind, _ in extract_proxy(proxy).steps][:4]          # doctest: +SKIP
    ['dense', 'quantize', 'relu', 'quantize']
    """
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if not layers or type(layers[0]).__name__ != "FixedPointQuantizer":
        raise ConfigError(f"model '{model.name}': an HGQ proxy starts with its input FixedPointQuantizer")
    width = int(model.input_shape[-1])
    spec = ProxySpec(model.name, _read_quantizer(layers[0], width))
    if not spec.input_quantizer.bits.any():
        raise ConfigError(f"model '{model.name}': every input of the HGQ student trained to zero bits, so "
                          "its output is a constant and there is no circuit to build; train it with a "
                          "smaller quantization.beta")
    for layer in layers[1:]:
        kind = type(layer).__name__
        if kind == "Dense":
            dense = _read_dense(layer)
            width = dense.kernel.shape[1]
            spec.steps.append(("dense", dense))
        elif kind == "FixedPointQuantizer":
            spec.steps.append(("quantize", _read_quantizer(layer, width)))
        elif kind == "ReLU":
            spec.steps.append(("relu", None))
        else:
            raise ConfigError(f"layer '{layer.name}' ({kind}) of an HGQ proxy is not supported by the RTL flow "
                              "(supported: Dense, ReLU, FixedPointQuantizer)")
    _mark_relus(spec)
    if not spec.layers or spec.steps[-1][0] != "quantize":
        raise ConfigError(f"model '{model.name}': an HGQ proxy ends with a Dense and its FixedPointQuantizer")
    return spec


def _mark_relus(spec: ProxySpec) -> None:
    """Record on each hidden Dense the format of the relu quantizer after it (report only)."""
    dense = None
    for n, (kind, obj) in enumerate(spec.steps):
        if kind == "dense":
            dense = obj
        elif kind == "relu" and dense is not None and n + 1 < len(spec.steps) and spec.steps[n + 1][0] == "quantize":
            q = spec.steps[n + 1][1]
            dense.relu = (int(q.bits.max()), int(q.kif[2].max()))


def _quantize_traced(h: Any, q: ProxyQuantizer) -> Any:
    k, i, f = q.kif
    shape = h.shape
    return h.quantize(k.reshape(shape), i.reshape(shape), f.reshape(shape), overflow_mode=q.overflow,
                      round_mode=q.rounding)


def trace_proxy(spec: ProxySpec, hard_dc: int = 2) -> tuple[Any, Any]:
    """(da4ml input array, traced output array) of the proxy's arithmetic.

    >>> inp, out = trace_proxy(extract_proxy(proxy))                  # doctest: +SKIP
    """
    from da4ml.trace import FixedVariableArray

    k, i, f = spec.input_quantizer.kif
    inp = FixedVariableArray.from_kif(k, i, f, solver_options={"hard_dc": hard_dc})
    h = inp
    for kind, obj in spec.steps:
        if kind == "dense":
            h = h @ obj.kernel
            if np.any(obj.bias != 0):
                h = h + obj.bias
        elif kind == "relu":
            h = h.relu()
        else:
            h = _quantize_traced(h, obj)
    return inp, h


def _quantize_exact(x: np.ndarray, q: ProxyQuantizer) -> np.ndarray:
    """HGQ's gfixed_quantizer in float64 (exact: values here have far fewer than 53 bits)."""
    k, bits, f = q.k.astype(np.float64), q.bits.astype(np.float64), (q.bits - q.integers).astype(np.float64)
    scaled = x * 2.0 ** f
    r = np.floor(scaled + 0.5) if q.rounding == "RND" else np.floor(scaled)
    high = 2.0 ** (bits - k) - 1
    low = -(high + 1) * k
    r = np.clip(r, low, high) if q.overflow == "SAT" else np.mod(r - low, high - low + 1) + low
    return np.where(bits != 0, r / 2.0 ** f, 0.0)


def proxy_input_codes(model: Any, spec: ProxySpec, inputs: np.ndarray) -> np.ndarray:
    """Integer codes (at the input quantizer's largest fractional width) of the float inputs,
    produced by the proxy's own input quantizer layer.

    >>> codes = proxy_input_codes(proxy, spec, x)                     # doctest: +SKIP
    """
    import tensorflow as tf

    x = np.asarray(inputs, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != spec.n_in:
        raise DataError(f"inputs have shape {x.shape}; the model needs (n, {spec.n_in})")
    if not np.all(np.isfinite(x)):
        raise DataError("inputs contain NaN or infinite values")
    q = np.asarray(model.get_layer(spec.input_quantizer.name)(tf.constant(x)), dtype=np.float64)
    scaled = q * 2.0 ** spec.input_kif[2]
    codes = np.round(scaled)
    if not np.array_equal(codes, scaled):
        raise ConfigError(f"input quantizer '{spec.input_quantizer.name}' produced values off its grid")
    return codes.astype(np.int64)


def proxy_reference(spec: ProxySpec, codes: np.ndarray) -> np.ndarray:
    """The proxy's outputs on input ``codes``, computed exactly in float64.

    >>> ref = proxy_reference(spec, proxy_input_codes(proxy, spec, x))   # doctest: +SKIP
    """
    h = np.asarray(codes, dtype=np.float64) * 2.0 ** -spec.input_kif[2]
    for kind, obj in spec.steps:
        if kind == "dense":
            h = h @ obj.kernel + obj.bias
        elif kind == "relu":
            h = np.maximum(h, 0.0)
        else:
            h = _quantize_exact(h, obj)
    return h
