"""fpgakd.firmware.estimate on QDistillNet-like QKeras students built with fpgakd.learn.students."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from fpgakd.config import FirmwareConfig, ModelConfig, QuantizationConfig
from fpgakd.errors import ConfigError
from fpgakd.firmware.estimate import (DOCUMENTED_ERROR, ESTIMATE_CALIBRATION, FF_PER_REGISTER_BIT, LUT_PER_LUT_BIT,
                             calibration_errors, estimate_resources, fit_constants, format_calibration_table)

VU13P = FirmwareConfig(name="vu13p")  # the config's defaults: xcvu13p-flga2577-2-e at 240 MHz
QDISTILLNET = ESTIMATE_CALIBRATION[0]["published"]


def student(hidden: tuple[int, ...], n_outputs: int, sparsity: float, bits: int = 8):
    """An untrained QKeras student with the smallest ``sparsity`` of each layer's weights zeroed."""
    from fpgakd.learn.students import build_student

    quant = QuantizationConfig(weight_bits=bits, input_bits=bits, activation_bits=bits)
    model = build_student(ModelConfig(name="qdistillnet_like", hidden=hidden, quantization=quant), 16, n_outputs)
    return prune(model, sparsity)


def prune(model, sparsity: float):
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None or sparsity <= 0:
            continue
        w = kernel.numpy()
        w[np.abs(w) <= np.quantile(np.abs(w), sparsity)] = 0.0
        kernel.assign(w)
    return model


def nonzero(report: dict) -> int:
    return sum(layer["nonzero_weights"] for layer in report["estimate_details"]["layers"])


def test_monotone_in_nonzero_weights() -> None:
    model = student((64, 32), 1, 0.0)
    reports = [estimate_resources(prune(model, s), VU13P) for s in (0.0, 0.5, 0.75, 0.9)]
    counts = [nonzero(r) for r in reports]
    assert counts == sorted(counts, reverse=True) and len(set(counts)) == 4
    luts = [r["resources"]["LUT"] for r in reports]
    assert all(a > b for a, b in zip(luts, luts[1:])), luts
    for key in ("FF", "DSP"):
        values = [r["resources"][key] for r in reports]
        assert values == sorted(values, reverse=True), (key, values)
    cycles = [r["latency_cycles"]["max"] for r in reports]
    assert cycles == sorted(cycles, reverse=True)


def test_sparse_model_needs_fewer_luts_than_dense() -> None:
    dense = estimate_resources(student((64, 32), 1, 0.0), VU13P)
    sparse = estimate_resources(student((64, 32), 1, 0.75), VU13P)
    assert sparse["resources"]["LUT"] < 0.5 * dense["resources"]["LUT"]


def test_qdistillnet_like_within_documented_error() -> None:
    r = estimate_resources(student((64, 32), 1, 0.75), VU13P)
    assert r["source"] == "estimate" and any("not synthesis" in n for n in r["notes"])
    assert r["ii"] == {"min": 1, "max": 1}
    assert abs(r["latency_ns"]["max"] / QDISTILLNET["latency_ns"] - 1) <= DOCUMENTED_ERROR["latency_ns"]
    for key in ("LUT", "FF"):
        assert abs(r["resources"][key] / QDISTILLNET[key] - 1) <= DOCUMENTED_ERROR[key], key
    for key in ("DSP", "BRAM_18K"):
        assert abs(r["resources"][key] - QDISTILLNET[key]) <= DOCUMENTED_ERROR[key], key


def test_utilization_uses_the_vu13p_totals() -> None:
    r = estimate_resources(student((64, 32), 1, 0.75), VU13P)
    totals = VU13P.resources_of("xcvu13p-flga2577-2-e")
    assert r["part"] == "xcvu13p-flga2577-2-e" and r["available"] == totals
    for key in ("LUT", "FF", "DSP"):
        assert r["utilization_pct"][key] == pytest.approx(100 * r["resources"][key] / totals[key], abs=1e-4)
    assert r["clock_ns"] == pytest.approx(4.1667)
    assert r["latency_ns"]["max"] == pytest.approx(r["latency_cycles"]["max"] * r["clock_ns"], abs=1e-3)
    json.dumps(r)  # plain JSON


def test_jet_tagger_16_64_32_32_5_at_75_percent() -> None:
    r = estimate_resources(student((64, 32, 32), 5, 0.75), VU13P)
    layers = r["estimate_details"]["layers"]
    assert [(x["inputs"], x["outputs"]) for x in layers] == [(16, 64), (64, 32), (32, 32), (32, 5)]
    assert r["ii"]["max"] == 1 and r["resources"]["DSP"] == 0  # 8-bit products stay in LUTs
    qdn = estimate_resources(student((64, 32), 1, 0.75), VU13P)
    assert r["resources"]["LUT"] > qdn["resources"]["LUT"]
    assert r["latency_cycles"]["max"] > qdn["latency_cycles"]["max"]  # one more layer


def test_wide_precisions_use_dsps() -> None:
    model = student((64, 32), 1, 0.75)
    wide = estimate_resources(model, VU13P, precisions={"input_bits": 16, "weight_bits": 16,
                                                        "weight_integer": 5, "activation_bits": 16})
    assert wide["resources"]["DSP"] > 0
    with pytest.raises(ConfigError, match="weight_bitz"):
        estimate_resources(model, VU13P, precisions={"weight_bitz": 8})


def test_other_flows_are_refused() -> None:
    with pytest.raises(ConfigError, match="reuse_factor 2"):
        estimate_resources(student((8,), 1, 0.0), dataclasses.replace(VU13P, reuse_factor=2))


def test_calibration_is_reproducible_and_documented() -> None:
    fitted = fit_constants()
    assert fitted["LUT_PER_LUT_BIT"] == pytest.approx(LUT_PER_LUT_BIT, rel=1e-3)
    assert fitted["FF_PER_REGISTER_BIT"] == pytest.approx(FF_PER_REGISTER_BIT, rel=1e-3)
    rows = calibration_errors()
    assert {r["point"] for r in rows} == {p["name"] for p in ESTIMATE_CALIBRATION}
    fit = {r["metric"]: r for r in rows if r["used_for_fit"]}
    assert abs(fit["LUT"]["relative"]) < 0.01 and abs(fit["FF"]["relative"]) < 0.01
    assert fit["latency_ns"]["relative"] == pytest.approx(0, abs=0.01)
    table = format_calibration_table()
    for point in ESTIMATE_CALIBRATION:
        assert point["name"] in table
