"""An honest resource and latency estimate for when no HLS tool (vitis_hls / vivado_hls) exists.

This is **not synthesis**. It counts what hls4ml's ``io_parallel`` / ``Latency`` strategy with
reuse factor 1 builds from a (Q)Keras MLP and prices each piece with a handful of
constants, three of them fitted to one published synthesis result and one to three others. The report it returns has
``source: "estimate"`` and a note saying so; read the error table below before trusting it.
``fpgakd synth`` replaces its LUT with the calibrated da4ml cost model
(:mod:`fpgakd.firmware.cost_model`: median error 6% against Yosys on 32 students, where this
model is 4-9x low) wherever
da4ml traces the student, and keeps this module's LUT in ``estimate_details``.

How the estimate is made
------------------------
For every Dense layer the weights are taken as the firmware sees them: quantized with the
layer's QKeras quantizer (or, for a plain Keras layer, to the ``precisions`` given, default
hls4ml's ``ap_fixed<16,6>``) and written as integers ``m = w * 2**frac``.

1. **Zero weights cost nothing**: with the weights compiled in as constants, HLS removes
   the multiplication and its adder input.
2. **Each non-zero weight is one constant multiplier** (reuse factor 1: nothing is shared).
   Trailing zero bits of ``m`` are wiring, so the multiplier only sees the odd part ``m'``
   with ``e`` significant bits. ``|m'| = 1`` (the weight is +-2**k) is a shift: no logic.
3. **DSP or LUTs**: HLS puts narrow multiplications in fabric and wide ones in DSP48
   slices. Rule used here: a DSP when ``e * b_in > DSP_PRODUCT_BITS`` (= 80, a product
   wider than about 9 x 9 bits),
   ``b_in`` the layer's input width; ``ceil(e/18) * ceil(b_in/27)`` DSPs per multiplier
   (the DSP48E2 multiplies 27 x 18 bits). An 8-bit QKeras student (``e <= 7``,
   ``b_in = 8``) therefore maps every multiplier to LUTs.
4. **LUT multipliers** are shift-and-add: ``nnz(m') - 1`` adders of ``b_in + e`` bits, where
   ``nnz`` counts the non-zero digits of ``m'`` in canonical signed-digit (NAF) form.
5. **Adder tree** per output neuron: ``k + [bias != 0] - 1`` adders for ``k`` non-zero
   inputs, each as wide as the bit-exact accumulator ``b_in + b_w + ceil(log2 k)``.
6. **Activation** (``quantized_relu``: clip, round, saturate): ``b_out`` LUT-bits per neuron.
7. The bit counts of 4-6 summed are "LUT-bits"; ``LUT = LUT_PER_LUT_BIT * LUT-bits``.
8. **Registers**: the input vector, then each layer's outputs once per pipeline stage of
   that layer; ``FF = FF_PER_REGISTER_BIT * register bits``.
9. **Latency**: a layer's combinational path is ``ceil(log2 max nnz)`` shift-add levels +
   ``ceil(log2 max terms)`` adder-tree levels + 1 activation level, ``LEVEL_DELAY_NS`` each;
   the layer takes ``ceil(path / usable period)`` cycles (at least 1), the usable period
   being the clock period less the config's clock uncertainty; +``DSP_EXTRA_CYCLES`` in a
   layer with DSP multipliers (HLS registers the DSP). ``IO_REGISTER_CYCLES`` are added
   for the whole design. ``II = 1``. At 240 MHz (3.65 ns usable) this gives about two
   cycles per Dense layer. BRAM and URAM are 0: at reuse factor 1 the weights are logic.

BatchNormalization is taken as folded into the Dense layer before it (hls4ml does this);
a softmax is not modelled (fpgakd students end on a linear layer); the sigmoid table of
``output: sigmoid`` counts as block RAM (``BRAM_18K_BITS``), its lookup as free.

Calibration points
------------------
``ESTIMATE_CALIBRATION`` holds each published synthesis result used, with its source:

* **QDistillNet** -- Bal et al. 2024, Table 3 (as quoted in fpgakd's firmware spec):
  16-64-32-1 MLP, QKeras 8-bit, 75% sparse, hls4ml io_parallel, xcvu13p at 240 MHz:
  latency 25 ns, II 1, LUT 2,379, FF 441, DSP 6, BRAM 1. **Used to fit** ``LUT_PER_LUT_BIT``
  and ``FF_PER_REGISTER_BIT`` (one point, two constants: in-sample by construction).
* **Fahim et al. 2021** (hls4ml codesign paper, arXiv:2103.05579, Table 1): the
  16-64-32-32-5 jet tagger, unpruned, Xilinx VU9P at 200 MHz, hls4ml 0.5.0 with Vivado
  HLS 2019.2: ``ap_fixed<16,6>`` (PTQ) latency 50 ns, DSP 1,852, LUT 89,209, FF 11,266;
  ``ap_fixed<14,6>`` (PTQ) 50 ns, DSP 1,132, LUT 90,019, FF 9,262; 6-bit QKeras (QAT)
  45 ns, DSP 38, LUT 63,251, FF 4,394. Out-of-sample checks (these models also end in a
  softmax, which the estimate does not model).

The real weights of those models are not published, so each point is evaluated on
synthetic weights of the same shape (Lecun-uniform, the per-layer smallest fraction set
to zero for the sparsity, small non-zero biases, fixed seed) -- the same recipe
``tests/test_estimate.py`` uses with :func:`fpgakd.learn.students.build_student`.

Constants and where they come from: ``LUT_PER_LUT_BIT`` and ``FF_PER_REGISTER_BIT`` are
fitted to QDistillNet's LUT and FF (:func:`fit_constants` re-derives them);
``LEVEL_DELAY_NS`` = 0.75 ns is a plausible UltraScale+ -2 logic-level delay (0.6-0.9 ns)
picked so that QDistillNet's 6 cycles are reproduced; ``DSP_PRODUCT_BITS`` = 80 (a product
wider than about 9 x 9 bits) is the threshold, among 64-100, that best matches the three
Fahim DSP counts. So QDistillNet's LUT, FF and latency, and the Fahim DSP counts, are not
independent checks.

Error against every cited synthesis result (estimate vs published, and
``estimate / published - 1``; regenerate with :func:`format_calibration_table`)::

    point              latency ns     LUT                    FF                    DSP
    QDistillNet (fit)  25 vs 25 +0%   2379 vs 2379 +0%       441 vs 441 +0%        0 vs 6 (-6)
    Fahim 16-bit PTQ   60 vs 50 +20%  13035 vs 89209 -85%    1802 vs 11266 -84%    3034 vs 1852 +64%
    Fahim 14-bit PTQ   60 vs 50 +20%  14176 vs 90019 -84%    1579 vs 9262 -83%     1289 vs 1132 +14%
    Fahim 6-bit QAT    40 vs 45 -11%  7405 vs 63251 -88%     508 vs 4394 -88%      0 vs 38 (-38)

(QDistillNet BRAM_18K: 0 vs 1.) Latency is counted in whole cycles and a layer whose path
sits near a cycle boundary flips by one (e.g. 5 levels x 0.75 ns = 3.75 ns against 3.65 ns
usable at 240 MHz): read it as +-1 cycle per layer.

An actual QDistillNet-like student (:func:`fpgakd.learn.students.build_student`, untrained,
zero biases, 75% of each layer's weights set to zero) lands within ``DOCUMENTED_ERROR``
of QDistillNet's figures; the tests check this.

What the errors say: fitted on QDistillNet, the estimate reproduces that design's LUT and
FF counts and its 25 ns latency (3 layers x 2 cycles at 240 MHz) by construction, and misses its 6 DSPs (the rule puts every 8-bit product in
LUTs; QDistillNet's DSPs and BRAM likely come from its batch norm / sigmoid, which the
estimate does not model). Against the 2021 Vivado HLS 2019.2 figures for 16- and 14-bit
designs it is low by a factor 5-8 in LUT and FF: those designs have 16-bit inputs and
were reported by an older tool (Vivado HLS 2019.2, hls4ml 0.5.0), about 15-20 LUTs per
weight, far from the per-weight cost QDistillNet implies (about 3 LUTs per non-zero 8-bit
weight). No single set of constants fits both sources. Treat the estimate as meaningful
only for 8-bit-class QKeras students on this flow, with the in-sample error above as a
floor, not a bound; run the HLS tool for numbers to quote.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fpgakd.config import FirmwareConfig
from fpgakd.errors import ConfigError

__all__ = [
    "DSP_PRODUCT_BITS", "LUT_PER_LUT_BIT", "FF_PER_REGISTER_BIT", "LEVEL_DELAY_NS",
    "DSP_EXTRA_CYCLES", "IO_REGISTER_CYCLES", "HLS4ML_DEFAULT_PRECISION", "DOCUMENTED_ERROR",
    "ESTIMATE_CALIBRATION", "DenseSpec", "estimate_resources", "estimate_from_layers",
    "synthetic_mlp", "fit_constants", "calibration_errors", "format_calibration_table",
]

log = logging.getLogger(__name__)

#: A constant multiplication goes to a DSP48 when (significant weight bits) x (input bits)
#: exceeds this, i.e. beyond a ~10 x 10-bit product; narrower ones are LUT shift-and-add.
DSP_PRODUCT_BITS = 80
#: DSP48E2 multiplier port widths (27 x 18 bits): wider products take several DSPs.
_DSP_PORT_A, _DSP_PORT_B = 27, 18
#: LUTs per "LUT-bit" (one bit of a shift-add adder, adder-tree adder or activation):
#: fitted to QDistillNet, see fit_constants(). Well below 1 because Vivado packs
#: ternary adders, shares constant partial products and trims unused high bits.
LUT_PER_LUT_BIT = 0.06744
#: Flip-flops per pipeline-register bit counted in step 8: fitted to QDistillNet.
FF_PER_REGISTER_BIT = 0.2591
#: Delay of one logic level (LUT + carry chain + routing) on an UltraScale+ -2 part, in ns.
LEVEL_DELAY_NS = 0.75
#: Extra cycles in a layer whose multipliers sit in DSPs (HLS registers the DSP output).
DSP_EXTRA_CYCLES = 1
#: Whole-design I/O register stages: 0 fits QDistillNet (6 cycles = 3 layers x 2), as
#: the io_parallel top function registers its ports inside the first and last stage.
IO_REGISTER_CYCLES = 0
#: hls4ml's default precision for anything without a QKeras quantizer: ap_fixed<16,6>,
#: written here in QKeras's convention (integer bits exclude the sign).
HLS4ML_DEFAULT_PRECISION = {"bits": 16, "integer": 5}
#: In-sample error of the estimate on an 8-bit QDistillNet-like student (lecun-uniform
#: weights pruned to 75%): what tests allow between estimate and QDistillNet's figures.
#: bits of one UltraScale+ RAMB18 (18 Kbit with parity; UG573): a sigmoid table of 1,024
#: 18-bit entries fills one, the 1 BRAM of the published QDistillNet (Bal et al. 2024, Table 3)
BRAM_18K_BITS = 18 * 1024

#: Relative for latency/LUT/FF, absolute for DSP and BRAM_18K.
DOCUMENTED_ERROR = {"latency_ns": 0.10, "LUT": 0.25, "FF": 0.25, "DSP": 6, "BRAM_18K": 1}

_PRECISION_KEYS = ("input_bits", "input_integer", "weight_bits", "weight_integer", "activation_bits")

_VU9P = "xcvu9p-flga2104-2L-e"
_VU9P_RESOURCES = {"LUT": 1182240, "FF": 2364480, "DSP": 6840, "BRAM_18K": 4320, "URAM": 960}
_VU13P = "xcvu13p-flga2577-2-e"
_VU13P_RESOURCES = {"LUT": 1728000, "FF": 3456000, "DSP": 12288, "BRAM_18K": 5376, "URAM": 1280}

#: What the three designs of Fahim et al. 2021 share: the hls4ml jet tagger on a VU9P.
_FAHIM_2021: dict[str, Any] = {
    "source": "Fahim et al. 2021, arXiv:2103.05579, Table 1 (hls4ml 0.5.0, Vivado HLS 2019.2)",
    "layers": (16, 64, 32, 32, 5), "sparsity": 0.0,
    "part": _VU9P, "part_resources": _VU9P_RESOURCES, "clock_mhz": 200.0,
    "used_for_fit": False,
}

#: Published synthesis results the estimate is calibrated on / checked against.
ESTIMATE_CALIBRATION: tuple[dict[str, Any], ...] = (
    {
        "name": "QDistillNet 8-bit 75% (fit)",
        "source": "Bal et al. 2024, QDistillNet, Table 3",
        "layers": (16, 64, 32, 1), "sparsity": 0.75,
        "precisions": {"input_bits": 8, "input_integer": 3, "weight_bits": 8, "weight_integer": 0,
                       "activation_bits": 8},
        "part": _VU13P, "part_resources": _VU13P_RESOURCES, "clock_mhz": 240.0,
        "published": {"latency_ns": 25.0, "ii": 1, "LUT": 2379, "FF": 441, "DSP": 6, "BRAM_18K": 1},
        "used_for_fit": True,
        "differences": "has batch norm and a sigmoid output, not modelled",
    },
    {
        "name": "Fahim 16-bit PTQ",
        **_FAHIM_2021,
        "precisions": {"input_bits": 16, "input_integer": 5, "weight_bits": 16, "weight_integer": 5,
                       "activation_bits": 16},
        "published": {"latency_ns": 50.0, "LUT": 89209, "FF": 11266, "DSP": 1852},
        "differences": "ap_fixed<16,6> throughout; ends in a softmax, not modelled",
    },
    {
        "name": "Fahim 14-bit PTQ",
        **_FAHIM_2021,
        "precisions": {"input_bits": 14, "input_integer": 5, "weight_bits": 14, "weight_integer": 5,
                       "activation_bits": 14},
        "published": {"latency_ns": 50.0, "LUT": 90019, "FF": 9262, "DSP": 1132},
        "differences": "ap_fixed<14,6> throughout; ends in a softmax, not modelled",
    },
    {
        "name": "Fahim 6-bit QAT",
        **_FAHIM_2021,
        "precisions": {"input_bits": 16, "input_integer": 5, "weight_bits": 6, "weight_integer": 0,
                       "activation_bits": 6},
        "published": {"latency_ns": 45.0, "LUT": 63251, "FF": 4394, "DSP": 38},
        "differences": "6-bit QKeras weights/activations, 16-bit input assumed; ends in a softmax",
    },
)


# ----------------------------------------------------------------- layer description
@dataclass(frozen=True)
class DenseSpec:
    """One Dense layer as the firmware sees it: integer weight mantissas and bit widths.

    ``weights`` is (n_in, n_out) of integers ``w * 2**weight_frac``; ``bias`` (n_out,) likewise.
    ``out_bits`` is the width of the layer's output register (activation bits, or the
    accumulator for a linear layer); ``activation`` says whether a quantized ReLU follows.
    """

    name: str
    weights: np.ndarray
    bias: np.ndarray
    input_bits: int
    weight_bits: int
    out_bits: int
    activation: bool


def _naf_digits(values: np.ndarray) -> np.ndarray:
    """Number of non-zero digits of each non-negative integer in non-adjacent (CSD) form."""
    x = values.astype(np.int64).copy()
    count = np.zeros_like(x)
    while np.any(x):
        odd = (x & 1) == 1
        # a digit of +-1: choose -1 when x = 3 (mod 4) so the next digit becomes 0
        digit = np.where(odd, 2 - (x & 3), 0)
        count += odd
        x = (x - digit) >> 1
    return count


def _odd_part(values: np.ndarray) -> np.ndarray:
    x = np.abs(values.astype(np.int64))
    x = x.copy()
    nz = x > 0
    while True:
        even = nz & ((x & 1) == 0)
        if not np.any(even):
            return x
        x[even] >>= 1


def _bit_length(values: np.ndarray) -> np.ndarray:
    out = np.zeros(values.shape, dtype=np.int64)
    nz = values > 0
    out[nz] = np.floor(np.log2(values[nz])).astype(np.int64) + 1
    return out


def _layer_cost(spec: DenseSpec, usable_period_ns: float) -> dict[str, Any]:
    m = np.asarray(spec.weights, dtype=np.int64)
    nonzero = m != 0
    odd = _odd_part(m[nonzero])
    eff_bits = _bit_length(odd)
    naf = _naf_digits(odd)
    shifts = odd == 1
    b_in = spec.input_bits
    dsp_mask = (~shifts) & (eff_bits * b_in > DSP_PRODUCT_BITS)
    dsp_each = np.ceil(eff_bits / _DSP_PORT_B) * math.ceil(b_in / _DSP_PORT_A)
    lut_mask = (~shifts) & (~dsp_mask)
    mult_lut_bits = float(np.sum((naf[lut_mask] - 1) * (b_in + eff_bits[lut_mask])))

    k = nonzero.sum(axis=0)
    terms = k + (np.asarray(spec.bias) != 0)
    acc_bits = b_in + spec.weight_bits + np.ceil(np.log2(np.maximum(k, 1)))
    tree_lut_bits = float(np.sum(np.maximum(terms - 1, 0) * acc_bits))
    act_lut_bits = float(m.shape[1] * spec.out_bits) if spec.activation else 0.0

    mult_levels = int(math.ceil(math.log2(int(naf[lut_mask].max())))) if np.any(lut_mask) else 0
    tree_levels = int(math.ceil(math.log2(int(terms.max())))) if terms.max() > 1 else 0
    levels = mult_levels + tree_levels + (1 if spec.activation else 0)
    cycles = max(1, math.ceil(levels * LEVEL_DELAY_NS / usable_period_ns))
    if np.any(dsp_mask):
        cycles += DSP_EXTRA_CYCLES
    return {
        "layer": spec.name,
        "inputs": int(m.shape[0]), "outputs": int(m.shape[1]),
        "input_bits": b_in, "weight_bits": spec.weight_bits, "out_bits": spec.out_bits,
        "nonzero_weights": int(nonzero.sum()), "shift_weights": int(shifts.sum()),
        "lut_multipliers": int(lut_mask.sum()), "dsp_multipliers": int(dsp_mask.sum()),
        "DSP": int(np.sum(dsp_each[dsp_mask])),
        "lut_bits": mult_lut_bits + tree_lut_bits + act_lut_bits,
        "register_bits": float(cycles * m.shape[1] * spec.out_bits),
        "logic_levels": levels, "cycles": int(cycles),
    }


def _check_flow(firmware: FirmwareConfig) -> None:
    if firmware.io_type != "io_parallel" or firmware.strategy != "Latency" or firmware.reuse_factor != 1:
        raise ConfigError(
            f"firmware config '{firmware.name}': the estimate models io_type io_parallel, strategy "
            f"Latency, reuse_factor 1 only; got io_type {firmware.io_type}, strategy "
            f"{firmware.strategy}, reuse_factor {firmware.reuse_factor}")


def estimate_from_layers(layers: list[DenseSpec], firmware: FirmwareConfig, *,
                         input_bits: int | None = None) -> dict[str, Any]:
    """The normalised report (``source: "estimate"``) for a chain of Dense layers.

    ``input_bits`` is the width of the input register (default: the first layer's).

    >>> from fpgakd.config import FirmwareConfig
    >>> estimate_from_layers(synthetic_mlp((16, 64, 32, 1), 0.75, {}),
    ...                      FirmwareConfig(name="x"))["source"]
    'estimate'
    """
    from fpgakd.firmware.report_schema import new_report

    if not layers:
        raise ValueError("estimate_from_layers needs at least one Dense layer")
    _check_flow(firmware)
    usable = firmware.clock_period_ns * (1.0 - firmware.clock_uncertainty_pct / 100.0)
    costs = [_layer_cost(spec, usable) for spec in layers]
    in_bits = layers[0].input_bits if input_bits is None else input_bits
    register_bits = layers[0].weights.shape[0] * in_bits + sum(c["register_bits"] for c in costs)
    lut_bits = sum(c["lut_bits"] for c in costs)
    cycles = IO_REGISTER_CYCLES + sum(c["cycles"] for c in costs)
    resources = {
        "LUT": int(round(LUT_PER_LUT_BIT * lut_bits)),
        "FF": int(round(FF_PER_REGISTER_BIT * register_bits)),
        "DSP": int(sum(c["DSP"] for c in costs)),
        "BRAM_18K": 0, "URAM": 0,
    }
    report = new_report(source="estimate", part=firmware.part, clock_ns=round(firmware.clock_period_ns, 4),
                        latency_cycles=(cycles, cycles), ii=(firmware.reuse_factor, firmware.reuse_factor),
                        resources=resources, available=firmware.resources_of(firmware.part))
    report["notes"] = [
        "estimate, not synthesis: counted from the quantized weights by fpgakd.firmware.estimate "
        "(io_parallel, Latency, reuse factor 1); see its docstring for the method and its error "
        "against published synthesis results",
    ]
    report["estimate_details"] = {"lut_bits": lut_bits, "register_bits": float(register_bits),
                                  "layers": costs}
    return report


# ----------------------------------------------------------------- from a Keras model
def _frac_bits(bits: int, integer: int, signed: bool = True) -> int:
    return bits - integer - (1 if signed else 0)


def _to_mantissa(values: np.ndarray, bits: int, integer: int) -> np.ndarray:
    frac = _frac_bits(bits, integer)
    hi = 2 ** (bits - 1) - 1
    return np.clip(np.round(np.asarray(values, dtype=np.float64) * 2.0 ** frac), -hi - 1, hi).astype(np.int64)


def _check_precisions(precisions: dict | None) -> dict[str, int]:
    precisions = dict(precisions or {})
    unknown = sorted(set(precisions) - set(_PRECISION_KEYS))
    if unknown:
        raise ConfigError(f"precisions: unknown key '{unknown[0]}'; allowed: {', '.join(_PRECISION_KEYS)}")
    for key, value in precisions.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 64:
            raise ConfigError(f"precisions: key '{key}': got {value!r}, expected an integer from 0 to 64")
    return precisions


def _quantizer_bits(quantizer: Any) -> tuple[int, int] | None:
    bits = getattr(quantizer, "bits", None)
    if bits is None:
        return None
    return int(bits), int(getattr(quantizer, "integer", 0))


def _accumulator_bits(weights: np.ndarray, input_bits: int, weight_bits: int) -> int:
    """Width of the bit-exact accumulator of a Dense layer: the widest neuron's sum."""
    k_max = max(int((weights != 0).sum(axis=0).max()), 1)
    return input_bits + weight_bits + math.ceil(math.log2(k_max))


@dataclass
class _DenseChain:
    """The Dense layers read so far while walking a model's layers, in firmware bit widths."""

    prec: dict[str, int]
    current_bits: int | None                # width of the signal entering the next layer
    input_bits: int | None                  # width of the input register
    specs: list[DenseSpec] = field(default_factory=list)
    pending: dict[str, Any] | None = None   # a Dense layer waiting to see if an activation follows

    def close(self, activation_bits: int | None) -> None:
        """Finish the pending Dense layer: its output is as wide as the activation, or
        (without one) as its accumulator."""
        pending = self.pending
        assert pending is not None
        out_bits = activation_bits if activation_bits is not None else pending["acc_bits"]
        self.specs.append(DenseSpec(pending["name"], pending["weights"], pending["bias"], pending["input_bits"],
                                    pending["weight_bits"], out_bits, activation_bits is not None))
        self.current_bits = out_bits
        self.pending = None


def _dense_mantissas(inner: Any, kernel: Any, prec: dict[str, int]) -> tuple[np.ndarray, np.ndarray, int]:
    """A Dense layer's weight and bias mantissas as the firmware stores them, and the weight width."""
    default_bits, default_int = HLS4ML_DEFAULT_PRECISION["bits"], HLS4ML_DEFAULT_PRECISION["integer"]
    quant = getattr(inner, "kernel_quantizer_internal", None)
    wq = _quantizer_bits(quant) if quant is not None else None
    w_bits = prec.get("weight_bits", wq[0] if wq else default_bits)
    w_int = prec.get("weight_integer", wq[1] if wq else default_int)
    w = kernel.numpy()
    if quant is not None and "weight_bits" not in prec:
        w = np.asarray(quant(w))
    bias_var = getattr(inner, "bias", None)
    b = np.zeros(w.shape[1]) if bias_var is None else bias_var.numpy()
    bquant = getattr(inner, "bias_quantizer_internal", None)
    if bquant is not None and "weight_bits" not in prec:
        b = np.asarray(bquant(b))
    return _to_mantissa(w, w_bits, w_int), _to_mantissa(b, w_bits, w_int), w_bits


def _read_dense(chain: _DenseChain, model_name: str, layer: Any, inner: Any, kernel: Any, kind: str) -> None:
    if len(kernel.shape) != 2:
        raise ConfigError(f"model '{model_name}': layer '{layer.name}' ({kind}) is not a Dense "
                          "layer; the estimate covers MLPs only")
    if chain.pending is not None:
        chain.close(None)
    if chain.current_bits is None:
        chain.current_bits = HLS4ML_DEFAULT_PRECISION["bits"]
        chain.input_bits = chain.input_bits or chain.current_bits
    weights, bias, w_bits = _dense_mantissas(inner, kernel, chain.prec)
    chain.pending = {"name": layer.name, "weights": weights, "bias": bias,
                     "input_bits": chain.current_bits, "weight_bits": w_bits,
                     "acc_bits": _accumulator_bits(weights, chain.current_bits, w_bits)}


def _read_quantized_activation(chain: _DenseChain, quantizer: Any) -> None:
    qb = _quantizer_bits(quantizer)
    bits = qb[0] if qb else HLS4ML_DEFAULT_PRECISION["bits"]
    if chain.pending is None:  # the input quantizer
        chain.current_bits = chain.prec.get("input_bits", bits)
        chain.input_bits = chain.current_bits
    else:
        chain.close(chain.prec.get("activation_bits", bits))


def _read_activation(chain: _DenseChain, model_name: str, layer: Any, inner: Any, kind: str) -> None:
    """A Keras ReLU closes the pending Dense layer, a linear activation changes nothing."""
    name = getattr(getattr(inner, "activation", None), "__name__", "relu")
    if kind == "ReLU" or name == "relu":
        chain.close(chain.prec.get("activation_bits", HLS4ML_DEFAULT_PRECISION["bits"]))
    elif name != "linear":
        raise ConfigError(f"model '{model_name}': activation '{name}' of layer '{layer.name}' is "
                          "not modelled by the estimate (ReLU and linear only)")


def _read_layer(chain: _DenseChain, model_name: str, layer: Any) -> None:
    """Add one layer of the model to the chain, or refuse a layer the estimate does not model."""
    inner = getattr(layer, "layer", layer)  # tfmot PruneLowMagnitude wraps the real layer
    kernel = getattr(inner, "kernel", None)
    kind = type(inner).__name__
    if kind == "InputLayer":
        return
    if kernel is not None:
        _read_dense(chain, model_name, layer, inner, kernel, kind)
    elif kind == "QActivation" and getattr(inner, "quantizer", None) is not None:
        _read_quantized_activation(chain, inner.quantizer)
    elif kind in ("Activation", "ReLU") and chain.pending is not None:
        _read_activation(chain, model_name, layer, inner, kind)
    elif kind in ("BatchNormalization", "Dropout", "Flatten"):
        log.debug("estimate: layer '%s' (%s) taken as free (folded or removed by hls4ml)", layer.name, kind)
    else:
        raise ConfigError(f"model '{model_name}': layer '{layer.name}' ({kind}) is not modelled by the "
                          "estimate (Dense, QDense, QActivation, ReLU, BatchNormalization only)")


def _read_dense_chain(model: Any, prec: dict[str, int]) -> tuple[list[DenseSpec], int | None]:
    """The model's Dense layers in firmware bit widths, and the width of its input register."""
    chain = _DenseChain(prec, current_bits=prec.get("input_bits"), input_bits=prec.get("input_bits"))
    for layer in model.layers:
        _read_layer(chain, model.name, layer)
    if chain.pending is not None:
        chain.close(None)
    if not chain.specs:
        raise ConfigError(f"model '{model.name}': no Dense layers to estimate")
    return chain.specs, chain.input_bits


def estimate_resources(model: "tf.keras.Model", firmware: FirmwareConfig, *,  # noqa: F821
                       precisions: dict | None = None, output: str = "linear") -> dict[str, Any]:
    """Estimate latency and resources of ``model`` converted by hls4ml for ``firmware``.

    Bit widths come from the model's QKeras quantizers; ``precisions`` (keys
    ``input_bits``, ``input_integer``, ``weight_bits``, ``weight_integer``,
    ``activation_bits``; QKeras convention, integer bits exclude the sign) override them,
    and hls4ml's default ``ap_fixed<16,6>`` fills in what neither gives. ``output="sigmoid"``
    adds hls4ml's sigmoid table after the logit: block RAM for its bits (one BRAM_18K for
    the default 1,024 entries, as in the published QDistillNet), no latency.

    >>> from fpgakd.config import load_firmware_config, load_model_config
    >>> from fpgakd.learn.students import build_student
    >>> model = build_student(load_model_config("hlf_top_regressor"), 16, 1)  # doctest: +SKIP
    >>> estimate_resources(model, load_firmware_config())["latency_ns"]    # doctest: +SKIP
    {'min': 25.002, 'max': 25.002}
    """
    specs, input_bits = _read_dense_chain(model, _check_precisions(precisions))
    report = estimate_from_layers(specs, firmware, input_bits=input_bits)
    if output == "sigmoid":
        _add_sigmoid_table(report, firmware)
    return report


def _add_sigmoid_table(report: dict[str, Any], firmware: FirmwareConfig) -> None:
    from fpgakd.firmware.report_schema import utilization
    from fpgakd.firmware.sigmoid import TABLE_BITS

    bram = math.ceil(firmware.sigmoid_table_size * TABLE_BITS / BRAM_18K_BITS)
    report["resources"]["BRAM_18K"] += bram
    report["utilization_pct"] = utilization(report["resources"], firmware.resources_of(report["part"]))
    report["notes"].append(f"sigmoid table: {firmware.sigmoid_table_size} x {TABLE_BITS} bits = {bram} "
                           "BRAM_18K (Bal et al. 2024 Table 3: 1 BRAM for QDistillNet's 1,024-entry table)")


# ----------------------------------------------------------------- calibration
def synthetic_mlp(layers: tuple[int, ...], sparsity: float, precisions: dict[str, int], *,
                  seed: int = 0) -> list[DenseSpec]:
    """Dense layers with Lecun-uniform weights, each layer's smallest ``sparsity`` set to zero.

    Stands in for the unpublished weights of a calibration point; small non-zero biases.

    >>> [s.weights.shape for s in synthetic_mlp((16, 64, 1), 0.75, {})]
    [(16, 64), (64, 1)]
    """
    prec = _check_precisions(precisions)
    default_bits, default_int = HLS4ML_DEFAULT_PRECISION["bits"], HLS4ML_DEFAULT_PRECISION["integer"]
    rng = np.random.default_rng(seed)
    w_bits, w_int = prec.get("weight_bits", default_bits), prec.get("weight_integer", default_int)
    bits = prec.get("input_bits", default_bits)
    specs = []
    for i, (n_in, n_out) in enumerate(zip(layers[:-1], layers[1:])):
        limit = math.sqrt(3.0 / n_in)
        w = rng.uniform(-limit, limit, size=(n_in, n_out))
        if sparsity > 0:
            cut = np.quantile(np.abs(w), sparsity)
            w[np.abs(w) <= cut] = 0.0
        b = rng.uniform(-0.1, 0.1, size=n_out)
        weights = _to_mantissa(w, w_bits, w_int)
        last = i == len(layers) - 2
        out_bits = _accumulator_bits(weights, bits, w_bits) if last else prec.get("activation_bits", default_bits)
        specs.append(DenseSpec(f"fc{i + 1}" if not last else "output", weights, _to_mantissa(b, w_bits, w_int),
                               bits, w_bits, out_bits, not last))
        bits = out_bits
    return specs


def _calibration_firmware(point: dict[str, Any]) -> FirmwareConfig:
    return FirmwareConfig(name=point["name"].split()[0].lower(), part=point["part"],
                          clock_mhz=point["clock_mhz"], part_resources={point["part"]: point["part_resources"]})


def fit_constants() -> dict[str, float]:
    """Re-derive ``LUT_PER_LUT_BIT`` and ``FF_PER_REGISTER_BIT`` from the fitted calibration point.

    >>> abs(fit_constants()["LUT_PER_LUT_BIT"] - LUT_PER_LUT_BIT) < 1e-3
    True
    """
    point = next(p for p in ESTIMATE_CALIBRATION if p["used_for_fit"])
    report = estimate_from_layers(synthetic_mlp(point["layers"], point["sparsity"], point["precisions"]),
                                  _calibration_firmware(point))
    details = report["estimate_details"]
    return {"LUT_PER_LUT_BIT": point["published"]["LUT"] / details["lut_bits"],
            "FF_PER_REGISTER_BIT": point["published"]["FF"] / details["register_bits"]}


def calibration_errors() -> list[dict[str, Any]]:
    """The estimate against every published result in ``ESTIMATE_CALIBRATION``.

    One row per point and metric: estimate, published, ``relative`` (estimate/published - 1,
    None for a published 0) and ``absolute`` (estimate - published).

    >>> rows = calibration_errors()
    >>> next(r for r in rows if r["metric"] == "latency_ns")["published"]
    25.0
    """
    rows = []
    for point in ESTIMATE_CALIBRATION:
        report = estimate_from_layers(synthetic_mlp(point["layers"], point["sparsity"], point["precisions"]),
                                      _calibration_firmware(point))
        values = {"latency_ns": report["latency_ns"]["max"], "ii": report["ii"]["max"],
                  **{k: report["resources"][k] for k in ("LUT", "FF", "DSP", "BRAM_18K")}}
        for metric, published in point["published"].items():
            estimate = values[metric]
            rows.append({
                "point": point["name"], "metric": metric, "estimate": estimate, "published": published,
                "absolute": round(estimate - published, 3),
                "relative": None if not published else round(estimate / published - 1.0, 4),
                "used_for_fit": point["used_for_fit"], "source": point["source"],
            })
    return rows


def format_calibration_table() -> str:
    """The error table of :func:`calibration_errors` as text (for the README and docstring).

    >>> print(format_calibration_table())                       # doctest: +SKIP
    """
    rows = calibration_errors()
    metrics = ("latency_ns", "LUT", "FF", "DSP", "BRAM_18K")
    points = list(dict.fromkeys(r["point"] for r in rows))
    header = f"{'point':30s}" + "".join(f"{m:>24s}" for m in metrics)
    lines = [header, "-" * len(header)]
    for point in points:
        cells = []
        for metric in metrics:
            row = next((r for r in rows if r["point"] == point and r["metric"] == metric), None)
            if row is None:
                cells.append(f"{'-':>24s}")
                continue
            err = f"{row['relative']:+.0%}" if row["relative"] is not None else f"{row['absolute']:+g}"
            text = f"{row['estimate']:g} vs {row['published']:g} ({err})"
            cells.append(f"{text:>24s}")
        lines.append(f"{point:30s}" + "".join(cells))
    return "\n".join(lines)
