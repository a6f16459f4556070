"""Integer codes of a QKeras layer: quantizers read exactly (``quantized_bits`` with alpha 1,
``quantized_relu``), a QDense's kernel and bias as integers at their scales, and the
round-half-to-even of tf.round on int64, shared by the RTL flow's student and update readers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fpgakd.errors import ConfigError, FpgakdError

__all__ = ["RtlUnsupported", "DenseSpec", "KernelChain", "read_qdense_codes", "shift_right"]


class RtlUnsupported(FpgakdError):
    """The model has no exact integer weights (a float Keras model): RTL is skipped.

    Distinct from :class:`ConfigError` so a caller can report "skipped" instead of "failed".
    """


@dataclass
class DenseSpec:
    """One dense layer in integers: ``acc = x_code @ kernel + bias << shift`` at scale 2^-acc_f.

    ``relu`` is None for the linear output layer, else (bits, f) of ``quantized_relu``:
    output code = clip(round_half_even(acc * 2^(f - acc_f)), 0, 2^bits - 1), value = code*2^-f.
    """

    name: str
    kernel: np.ndarray          # int64 (n_in, n_out), weight codes at scale 2^-kernel_f
    bias: np.ndarray            # int64 (n_out,), codes at scale 2^-bias_f
    kernel_f: int
    bias_f: int
    in_f: int                   # fractional bits of this layer's input codes
    relu: tuple[int, int] | None = None   # (bits, f)
    relu_name: str | None = None

    @property
    def acc_f(self) -> int:
        """Fractional bits of the exact accumulator (products and bias aligned)."""
        return max(self.in_f + self.kernel_f, self.bias_f)


class KernelChain:
    """What any traced student's chain of weight layers (``self.layers``, each with a
    ``kernel`` of shape (n_in, n_out)) says about it; a QKeras spec and an HGQ proxy alike."""

    @property
    def n_out(self) -> int:
        return int(self.layers[-1].kernel.shape[1])

    def nonzero_weights(self) -> int:
        return int(sum(np.count_nonzero(layer.kernel) for layer in self.layers))


def _qname(q: Any) -> str:
    return type(q).__name__ if q is not None else "None"


def _alpha_is_one(q: Any) -> bool:
    alpha = getattr(q, "alpha", 1)
    if alpha is None:
        return True
    if isinstance(alpha, str):
        return False          # "auto", "auto_po2": per-channel scales, not a fixed grid
    try:
        return bool(np.all(np.asarray(alpha, dtype=float) == 1.0))
    except (TypeError, ValueError):
        return False


def _bits_kif(q: Any, what: str) -> tuple[int, int, int]:
    """(keep_negative, integer, fractional) of a ``quantized_bits`` quantizer."""
    if _qname(q) != "quantized_bits":
        raise ConfigError(f"{what}: quantizer {_qname(q)} is not supported by the RTL flow "
                          "(expected quantized_bits)")
    if not _alpha_is_one(q):
        raise ConfigError(f"{what}: quantized_bits with alpha={q.alpha!r} scales weights by a "
                          "non-power-of-two; the RTL flow needs alpha=1")
    k = int(bool(getattr(q, "keep_negative", True)))
    bits, integer = int(q.bits), int(q.integer)
    return k, integer, bits - integer - k


def _to_codes(values: np.ndarray, f: int, what: str) -> np.ndarray:
    """Exact integer codes of values on a 2^-f grid; ConfigError if they are not on it."""
    scaled = np.asarray(values, dtype=np.float64) * 2.0 ** f
    codes = np.round(scaled)
    if not np.array_equal(codes, scaled):
        bad = float(np.asarray(values).ravel()[np.argmax((codes != scaled).ravel())])
        raise ConfigError(f"{what}: value {bad!r} is not on the 2^-{f} grid of its quantizer")
    return codes.astype(np.int64)


def _check_relu_settings(q: Any, where: str) -> None:
    """ConfigError for a quantized_relu setting the RTL does not implement."""
    checks = {
        "negative_slope": (getattr(q, "negative_slope", 0.0), 0.0),
        "use_sigmoid": (getattr(q, "use_sigmoid", 0), 0),
        "use_stochastic_rounding": (bool(getattr(q, "use_stochastic_rounding", False)), False),
        "relu_upper_bound": (getattr(q, "relu_upper_bound", None), None),
        "qnoise_factor": (float(getattr(q, "qnoise_factor", 1.0)), 1.0),
    }
    for attr, (val, want) in checks.items():
        if val != want:
            raise ConfigError(f"{where}: quantized_relu({attr}={val!r}) is not supported "
                              f"by the RTL flow (needs {want!r})")


def _quantized_bias(layer: Any, where: str, n_out: int) -> tuple[int, np.ndarray]:
    """Fractional bits and integer codes of a QDense's bias (zeros without a bias)."""
    if not (getattr(layer, "use_bias", True) and layer.bias is not None):
        return 0, np.zeros(n_out, dtype=np.int64)
    bq = getattr(layer, "bias_quantizer_internal", None)
    if bq is None:
        raise RtlUnsupported(f"{where} has no bias quantizer: RTL skipped, there are no exact "
                             "integer weights to implement")
    _, _, bf = _bits_kif(bq, f"{where} bias")
    return bf, _to_codes(np.asarray(bq(layer.bias)), bf, f"{where} bias")


def read_qdense_codes(layer: Any, where: str, in_f: int) -> DenseSpec:
    """A linear QDense in integer codes, its input at 2^-``in_f``.

    >>> read_qdense_codes(model.get_layer("fc1"), "layer 'fc1'", 4).kernel_f   # doctest: +SKIP
    7
    """
    act = getattr(layer, "activation", None)
    act_name = getattr(act, "__name__", type(act).__name__)
    if act_name != "linear":
        raise ConfigError(f"{where}: activation '{act_name}' inside the QDense is not supported "
                          "(use a linear QDense followed by QActivation(quantized_relu))")
    kq = getattr(layer, "kernel_quantizer_internal", None)
    if kq is None:
        raise RtlUnsupported(f"{where} has no kernel quantizer: RTL skipped, there are no exact "
                             "integer weights to implement")
    _, _, kf = _bits_kif(kq, f"{where} kernel")
    w = np.asarray(kq(layer.kernel))
    kernel = _to_codes(w, kf, f"{where} kernel")
    bf, bias = _quantized_bias(layer, where, kernel.shape[1])
    return DenseSpec(layer.name, kernel, bias, kf, bf, in_f)


def shift_right(a: np.ndarray, s: int) -> np.ndarray:
    return a << s if s >= 0 else a >> (-s)


def _round_half_even_int(acc: np.ndarray, s: int) -> np.ndarray:
    """round_half_even(acc / 2^s) on int64 (tf.round semantics), exact."""
    if s <= 0:
        return acc << (-s)
    q = acc >> s                     # floor
    rem = acc - (q << s)
    half = np.int64(1) << (s - 1)
    return q + ((rem > half) | ((rem == half) & ((q & 1) == 1))).astype(np.int64)
