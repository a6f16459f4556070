"""hls4ml's sigmoid lookup table, emulated bit for bit in numpy, and put after a student's logit.

A student ends on a linear logit (``fpgakd.learn.students``); with ``output: sigmoid`` the
firmware appends hls4ml's ``sigmoid`` (``nnet_activation.h``, io_parallel), which is a table
lookup, not a sigmoid:

* the table: ``table_size`` entries; entry ``ii`` holds ``1 / (1 + expf(-x))`` at
  ``x = 16 * (ii - table_size / 2) / table_size`` (the range [-8, 8) is hard-coded),
  computed in C ``float`` and converted to ``table_t`` (``ap_fixed<18,8>``: truncation to
  10 fractional bits);
* the index: ``(int)(logit * table_size / 16) + table_size / 2`` clipped to
  ``[0, table_size - 1]``; the C ``int`` conversion truncates toward zero, so a negative
  logit rounds up and a positive one down;
* the result: ``res_T(table[index])``; fpgakd makes ``res_T`` the exact type of the table
  values, so the output is the table entry itself.

:func:`emulate_sigmoid` reproduces all three; the C-simulation and the RTL are checked
against it bit for bit (``tests/test_sigmoid_firmware.py`` checks it against hls4ml's
compiled bridge on every index boundary).

hls4ml's ``bit_exact=True`` flow would size the table at one entry per logit value
(``16 * 2**f`` entries: 65,536 for a 12-fractional-bit logit, 64 BRAM_18K) and give the
output 127 bits; fpgakd sets the firmware config's ``sigmoid_table_size`` (1,024 by
default, hls4ml's own default and one BRAM_18K) after conversion instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["SIGMOID_LAYER", "SIGMOID_DECISION", "TABLE_BITS", "TABLE_INTEGER", "sigmoid_table", "sigmoid_table_index",
           "emulate_sigmoid", "sigmoid_result_bits", "append_sigmoid", "set_sigmoid_table",
           "sigmoid_table_error"]

#: the one-output decision on a sigmoid output (the logit's 0): table(0) is 0.5, so a logit
#: in [0, 1/64) is "not signal", as its table output says
SIGMOID_DECISION = 0.5
#: name of the sigmoid layer fpgakd appends after the student's ``output`` layer
SIGMOID_LAYER = "output_sigmoid"
#: the table's input range, [-8, 8): hard-coded in hls4ml 1.3.0's init_sigmoid_table and
#: sigmoid() (nnet_activation.h: "2 * 8.0 * (ii - N/2) / N", "data * table_size / 16")
TABLE_RANGE = 16
#: hls4ml's default table_t for activation tables, ap_fixed<18,8> (backends/fpga/fpga_backend.py,
#: ``TypeAttribute('table', default=FixedPrecisionType(18, 8))``); TRN/WRAP like every ap_fixed default
TABLE_BITS = 18
TABLE_INTEGER = 8


@lru_cache(maxsize=1)
def _libm_expf() -> Any:
    # the table is filled in C float with std::exp(float), i.e. libm's expf: call the same function
    path = ctypes.util.find_library("m")
    if path is None:
        return None
    expf = ctypes.CDLL(path).expf
    expf.argtypes, expf.restype = [ctypes.c_float], ctypes.c_float
    return expf


def _float_sigmoid(x: np.ndarray) -> np.ndarray:
    """``sigmoid_fcn_float``: ``1.0 / (1 + std::exp(-input))`` in C float/double arithmetic."""
    x = np.asarray(x, dtype=np.float32)
    expf = _libm_expf()
    if expf is not None:
        e = np.array([expf(float(-v)) for v in x], dtype=np.float32)
    else:   # no libm to call (not Linux/macOS): numpy's float32 exp, within one ulp of it
        e = np.exp(-x)
    denom = (np.float32(1) + e).astype(np.float32)         # int + float is float
    return (1.0 / denom.astype(np.float64)).astype(np.float32)   # 1.0 / float is double, returned as float


def _check_table_size(table_size: int) -> int:
    table_size = int(table_size)
    if table_size < TABLE_RANGE or table_size & (table_size - 1):
        # a power of two >= 16 keeps data * table_size / 16 exact in ap_fixed arithmetic
        raise ValueError(f"sigmoid table size must be a power of two >= {TABLE_RANGE}, got {table_size}")
    return table_size


@lru_cache(maxsize=8)
def _table(table_size: int) -> np.ndarray:
    ii = np.arange(table_size, dtype=np.float64)
    x = TABLE_RANGE * (ii - table_size / 2.0) / table_size
    f = TABLE_BITS - TABLE_INTEGER
    values = np.floor(_float_sigmoid(x).astype(np.float64) * 2.0 ** f) * 2.0 ** -f
    values.flags.writeable = False
    return values


def sigmoid_table(table_size: int = 1024) -> np.ndarray:
    """hls4ml's sigmoid table as exact float64 values (entry ii at x = 16 (ii - N/2) / N).

    >>> t = sigmoid_table(1024)
    >>> float(t[512]), float(t[0]), float(t[-1])
    (0.5, 0.0, 0.9990234375)
    """
    return _table(_check_table_size(table_size))


def sigmoid_table_index(logits: np.ndarray, table_size: int = 1024) -> np.ndarray:
    """The table index hls4ml's ``sigmoid`` reads for each logit (int64, same shape).

    >>> sigmoid_table_index(np.array([0.0, 1 / 128, -1 / 128, -1 / 64, 100.0]), 1024).tolist()
    [512, 512, 512, 511, 1023]
    """
    n = _check_table_size(table_size)
    scaled = np.asarray(logits, dtype=np.float64) * (n // TABLE_RANGE)   # exact: a power-of-two scale
    index = np.trunc(scaled).astype(np.int64) + n // 2                  # C int conversion: toward zero
    return np.clip(index, 0, n - 1)


def emulate_sigmoid(logits: np.ndarray, table_size: int = 1024) -> np.ndarray:
    """hls4ml's sigmoid table output for the firmware's logits, bit for bit (float64).

    >>> emulate_sigmoid(np.array([[0.0], [2.0], [-9.0]])).ravel().tolist()
    [0.5, 0.8798828125, 0.0]
    """
    return sigmoid_table(table_size)[sigmoid_table_index(logits, table_size)]


def sigmoid_result_bits(table_size: int = 1024) -> tuple[int, int]:
    """(width, integer bits) of the unsigned type that holds every table value exactly.

    >>> sigmoid_result_bits(1024)
    (10, 0)
    """
    table = sigmoid_table(table_size)
    integer = max(0, math.floor(math.log2(float(table.max()))) + 1) if table.max() > 0 else 0
    return integer + TABLE_BITS - TABLE_INTEGER, integer


def sigmoid_table_error(logits: np.ndarray, table_size: int = 1024) -> float:
    """Largest |table output - float sigmoid| over ``logits``: the table's own error.

    >>> round(sigmoid_table_error(np.linspace(-10, 10, 2001)), 4)
    0.0047
    """
    logits = np.asarray(logits, dtype=np.float64)
    exact = 1.0 / (1.0 + np.exp(-logits))
    return float(np.max(np.abs(emulate_sigmoid(logits, table_size) - exact), initial=0.0))


def append_sigmoid(model: Any) -> Any:
    """The firmware's Keras model: the student with a sigmoid after its logit.

    >>> append_sigmoid(student).layers[-1].name                     # doctest: +SKIP
    'output_sigmoid'
    """
    import tensorflow as tf

    out = tf.keras.layers.Activation("sigmoid", name=SIGMOID_LAYER)(model.output)
    return tf.keras.Model(model.inputs, out, name=model.name)


def set_sigmoid_table(hls_model: Any, table_size: int = 1024) -> None:
    """Give the converted sigmoid layer its table size, hls4ml's table type and an exact result type.

    Runs after ``convert_from_keras_model``: its ``bit_exact`` pass sizes the table from the
    logit's precision and would overwrite a size given in the hls4ml config.

    >>> set_sigmoid_table(hls_model, 1024)                            # doctest: +SKIP
    """
    from hls4ml.backends.fpga.fpga_types import APTypeConverter
    from hls4ml.model.types import FixedPrecisionType

    # the layer's types are already the backend's ap_ types: change their precision in place
    to_ap = APTypeConverter().convert
    layer = hls_model.graph[SIGMOID_LAYER]
    layer.set_attr("table_size", _check_table_size(table_size))
    layer.get_attr("table_t").precision = to_ap(FixedPrecisionType(TABLE_BITS, TABLE_INTEGER, signed=True))
    width, integer = sigmoid_result_bits(table_size)
    layer.get_output_variable().type.precision = to_ap(FixedPrecisionType(width, integer, signed=False))
    # the layer's C++ config was rendered during conversion: render it again with the new size
    hls_model.apply_flow(f"{hls_model.config.backend.name.lower()}:apply_templates", reapply="single")
