"""A sigmoid output in firmware (``output: sigmoid``): hls4ml's sigmoid table after the
student's logit, emulated bit for bit in numpy, and the C-simulation and the RTL checked
against that emulation with real hls4ml, g++, da4ml, Verilator and Yosys."""

from __future__ import annotations

import re

import numpy as np
import pytest

from fpgakd.config import ModelConfig, load_firmware_config, load_model_config
from fpgakd.errors import ConfigError
from fpgakd.firmware.sigmoid import emulate_sigmoid, sigmoid_table, sigmoid_table_error, sigmoid_table_index
from helpers.firmware import have_rtl_tools, pruned_student

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

#: held-out rows of the C-simulation check, as many as `fpgakd synth` checks by default
N_SAMPLES = 10_000
#: the table's index step is 1/64 (1024 entries over [-8, 8)); this grid steps 2^-10, so it
#: lands on every index boundary, one LSB either side of it, and past both clip points
BOUNDARY_GRID = np.arange(-9 * 1024, 9 * 1024 + 1) / 1024.0


def _tiny_sigmoid_student():
    """A 16-16-1 8-bit student, 75% of its weights zero, scaled so its logits reach past +-8."""
    cfg = ModelConfig(name="tiny_sigmoid", task="regressor", hidden=(16,), output="sigmoid")
    model = pruned_student(cfg)
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            layer.kernel.assign(layer.kernel * 4)     # quantized_bits(8, 0) clips what leaves [-1, 1)
    x = 2 * np.random.default_rng(1).standard_normal((N_SAMPLES, 16)).astype(np.float32)
    return model, x


# ------------------------------------------------------------------ the emulation alone
def test_the_index_truncates_toward_zero_and_clips():
    step = 1 / 64
    logits = np.array([0, step / 2, -step / 2, -step, step, -step * 1.5, 7.99, 8, 100, -8, -8.001, -100])
    assert sigmoid_table_index(logits).tolist() == [512, 512, 512, 511, 513, 511, 1023, 1023, 1023, 0, 0, 0]


def test_the_table_is_hls4mls_float_sigmoid_truncated_to_10_bits():
    table = sigmoid_table(1024)
    x = (np.arange(1024) - 512) / 64
    exact = 1 / (1 + np.exp(-x))
    assert table.shape == (1024,) and np.all(np.diff(table) >= 0)
    assert np.all(table * 1024 == np.round(table * 1024))             # on the ap_fixed<18,8> grid
    assert np.all((exact - table >= -1e-7) & (exact - table < 2 ** -10 + 1e-7))   # truncated, not rounded
    assert 0.004 < sigmoid_table_error(BOUNDARY_GRID) < 0.005                       # index step 1/64 x slope 1/4


def test_sigmoid_table_size_is_validated_on_load(tmp_path):
    from fpgakd.config import load_firmware_config as load

    path = tmp_path / "fw.yaml"
    path.write_text("name: odd\nsigmoid_table_size: 1000\n")
    with pytest.raises(ConfigError, match=r"fw\.yaml.*sigmoid_table_size.*power of two"):
        load(path)


def test_a_runs_config_yaml_decides_the_output(tmp_path):
    from fpgakd.config import dump_config
    from fpgakd.firmware.synth import run_output

    assert run_output(tmp_path / "student_kd.h5") == "linear"          # no config.yaml: a bare model
    dump_config(load_model_config("hlf_top_regressor"), tmp_path / "config.yaml")
    assert run_output(tmp_path / "student_kd.h5") == "sigmoid"


def test_the_estimate_counts_the_table_as_one_bram():
    from fpgakd.firmware.estimate import estimate_resources
    from fpgakd.learn.students import build_student

    cfg = load_model_config("hlf_top_regressor")
    assert cfg.output == "sigmoid"
    model = build_student(cfg, 16, 1)
    linear = estimate_resources(model, load_firmware_config())
    sigmoid = estimate_resources(model, load_firmware_config(), output="sigmoid")
    assert (linear["resources"]["BRAM_18K"], sigmoid["resources"]["BRAM_18K"]) == (0, 1)
    assert sigmoid["resources"]["LUT"] == linear["resources"]["LUT"]


# ------------------------------------------------------------------ against hls4ml's own C++
@pytest.mark.slow
def test_emulation_equals_hls4mls_bridge_on_every_index_boundary(tmp_path):
    import tensorflow as tf
    from qkeras import QActivation, quantized_bits

    from fpgakd.firmware.hls import convert_model

    # the logit is the input itself, on a 2^-10 grid (quantized_bits(16, 5): 10 fractional bits)
    x_in = tf.keras.Input((1,), name="inputs")
    model = tf.keras.Model(x_in, QActivation(quantized_bits(16, 5, alpha=1), name="logit")(x_in))
    hls_model = convert_model(model, load_firmware_config(), output_dir=tmp_path / "prj", output="sigmoid")
    hls_model.compile()
    x = BOUNDARY_GRID.astype(np.float32).reshape(-1, 1)
    assert np.array_equal(model(x).numpy(), x)

    firmware = np.asarray(hls_model.predict(x), dtype=np.float64).reshape(-1)

    np.testing.assert_array_equal(firmware, emulate_sigmoid(BOUNDARY_GRID))
    assert len(np.unique(firmware)) > 400                         # many table entries were read
    params = (tmp_path / "prj" / "firmware" / "parameters.h").read_text()
    assert re.search(r"table_size = 1024;", params)


@pytest.mark.slow
def test_sigmoid_student_is_bit_exact_in_csim_and_rtl(tmp_path):
    from fpgakd.firmware.csim import TB_RESULTS
    from fpgakd.firmware.synth import synthesize
    from fpgakd.learn.students import save_student

    model, x = _tiny_sigmoid_student()
    save_student(model, tmp_path / "student_kd.h5")
    logits = model(x, training=False).numpy().astype(np.float64)
    assert logits.min() < -8 and logits.max() > 8                 # both clip ends are exercised
    rtl = have_rtl_tools()

    report = synthesize(tmp_path / "student_kd.h5", firmware=load_firmware_config(), project_dir=tmp_path / "prj",
                        test_x=x, output="sigmoid", rtl=rtl, progress=False)

    csim = report["csim"]
    assert csim["n_jets"] == N_SAMPLES and csim["bit_exact"] and csim["passed"], csim["text"]
    assert csim["sigmoid"]["logit"]["n_different"] == 0          # the firmware's own logit, traced
    assert 0 < csim["sigmoid"]["table_max_abs_error"] < 0.005
    # the firmware output is the table, not the logit: a dropped sigmoid fails here
    printed = np.loadtxt(tmp_path / "prj" / TB_RESULTS, ndmin=2)
    np.testing.assert_array_equal(printed, emulate_sigmoid(logits))
    assert printed.min() >= 0 and printed.max() < 1 and np.mean(printed != logits) > 0.99
    assert report["model"]["output"] == "sigmoid"
    assert report.get("estimate", report)["resources"]["BRAM_18K"] == 1   # the estimate counts the table
    if not rtl:
        pytest.skip("RTL tools not installed (pip install -e '.[rtl]'): C-simulation checked only")
    sim = report["rtl"]["rtl_sim"]
    assert sim["output"] == "sigmoid" and sim["n_differing"] == 0 and sim["bit_exact"], sim
    assert sim["class_agreement"] == 1.0 and "0.5" in sim["class_agreement_kind"]
    assert report["rtl"]["resources"]["BRAM_18K"] == 1            # Yosys put the table in a RAMB18E2
