"""fpgakd.firmware.cost_model: da4ml's LUT cost on a hand-derived tiny student, its calibration,
and the estimate report that labels where its LUT comes from."""

from __future__ import annotations

import numpy as np
import pytest

from fpgakd.config import FirmwareConfig, ModelConfig
from fpgakd.firmware import cost_model
from fpgakd.firmware.cost_model import CALIBRATION, calibrated_lut, cost_model_label, da4ml_lut_cost
from fpgakd.firmware.report_table import format_report_table

pytest.importorskip("da4ml")

VU13P = FirmwareConfig(name="vu13p")


def two_neuron_student(output_weights: tuple[float, float]):
    """2 inputs -> relu(0.5 x0), relu(0.5 x1) -> w0 h0 + w1 h1 (8-bit QKeras, zero biases)."""
    from fpgakd.learn.students import build_student

    model = build_student(ModelConfig(name="tiny", hidden=(2,)), 2, 1)
    model.get_layer("fc1").set_weights([np.eye(2) * 0.5, np.zeros(2)])
    model.get_layer("output").set_weights([np.array(output_weights, float).reshape(2, 1), np.zeros(1)])
    return model


# slow: on an environment's first run numba compiles da4ml's solver (142 s of a fresh clone's first default
# run here); --runslow compiles it once per session before the tests (conftest)
@pytest.mark.slow
def test_da4ml_cost_of_a_tiny_student_is_hand_derived():
    """The input is quantized_bits(8, 3): signed, on a 1/16 grid in [-8, 8).

    0.5 x is a shift (free) onto a 1/32 grid in [-4, 4): inside quantized_relu(8, 3)'s range
    and grid, so the relu needs no rounding or saturation: 7 unsigned bits, which da4ml
    prices at half a LUT per bit (3.5). The output 0.5 h0 + 0.5 h1 is one adder; da4ml
    factors the common 0.5 out (wiring) and adds two unsigned 7-bit values on the same grid:
    7 bits, priced at one LUT per bit. So one neuron costs 3.5, two and their adder 14.
    """
    assert da4ml_lut_cost(two_neuron_student((0.0, 0.0)), VU13P) == 0.0      # constant output: no logic
    assert da4ml_lut_cost(two_neuron_student((0.5, 0.0)), VU13P) == 3.5
    assert da4ml_lut_cost(two_neuron_student((0.5, 0.5)), VU13P) == 3.5 + 3.5 + 7


def test_calibrated_lut_is_the_fitted_line(monkeypatch):
    monkeypatch.setattr(cost_model, "LUT_SCALE", 0.9)
    monkeypatch.setattr(cost_model, "LUT_OFFSET", 12.0)
    assert calibrated_lut(14.0) == round(0.9 * 14 + 12)      # 24.6 -> 25
    assert calibrated_lut(0.0) == 12
    monkeypatch.setattr(cost_model, "LUT_OFFSET", -30.0)
    assert calibrated_lut(10.0) == 0                          # never negative


def test_calibration_is_within_the_target():
    """The constants come from a real fit: enough students, median error <= 15%, worst <= 35%."""
    assert CALIBRATION["students"] >= 30
    assert 0 < CALIBRATION["median_error"] <= 0.15 and CALIBRATION["worst_error"] <= 0.35
    assert f"calibrated on {CALIBRATION['students']} students" in cost_model_label()


# slow: da4ml's solver, which numba compiles in each test process (seconds)
@pytest.mark.slow
def test_estimate_report_takes_its_lut_from_the_cost_model_and_says_so():
    from fpgakd.firmware.synth import _estimate

    model = two_neuron_student((0.5, 0.5))
    report = _estimate(model, VU13P, VU13P.part, "linear")
    assert report["source"] == "estimate"
    assert report["resources"]["LUT"] == calibrated_lut(14.0)
    assert report["lut_source"] == cost_model_label()
    details = report["estimate_details"]
    assert details["da4ml_lut_cost"] == 14.0 and details["hls_estimate_LUT"] is not None
    assert any(str(details["hls_estimate_LUT"]) in note for note in report["notes"])
    table = format_report_table([{**report, "name": "tiny"}])
    assert "LUT from" in table and "da4ml cost model, calibrated on" in table


def test_float_model_keeps_the_hls_estimate_with_a_note():
    from fpgakd.firmware.synth import _estimate
    from fpgakd.learn.students import build_student
    from fpgakd.config import QuantizationConfig

    model = build_student(ModelConfig(name="float", hidden=(4,), quantization=QuantizationConfig(enabled=False)),
                          3, 1)
    report = _estimate(model, VU13P, VU13P.part, "linear")
    assert "lut_source" not in report
    assert any("no da4ml cost" in note for note in report["notes"])
