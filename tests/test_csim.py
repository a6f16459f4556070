"""C-simulation regression: every student under models/ is bit-exact in firmware.

Real hls4ml, real g++: each student is built (random init, random biases), 75% of the
smallest weights of each QDense are zeroed as pruning would, converted with the firmware
config, and both the g++-built testbench and hls4ml's bridge must reproduce every Keras
logit exactly on standard-normal inputs plus rows that saturate the input quantizer.
"""

import numpy as np
import pytest

from fpgakd.config import load_firmware_config, load_model_config, repo_dir
from fpgakd.firmware.csim import TB_RESULTS, compare_outputs, run_csim
from fpgakd.errors import MismatchError
from fpgakd.firmware.hls import convert_model
from helpers.firmware import LINEAR_QKERAS, firmware_test_config, named_student_config, pruned_student

#: the firmware students: every quantized config under models/ (float ones, like DistillNet's
#: reference model, are not meant for the FPGA and cannot be bit-exact)
MODEL_NAMES = sorted(p.stem for p in (repo_dir() / "models").glob("*.yaml")
                if load_model_config(p).quantization.enabled)
N_JETS = 1000


def jets(n_in: int, seed: int = 0) -> np.ndarray:
    """Standard-normal standardized inputs; the first rows go far beyond the input quantizer's range."""
    x = np.random.default_rng(seed).standard_normal((N_JETS, n_in)).astype(np.float32)
    x[:10] *= 20
    return x


@pytest.mark.slow
@pytest.mark.parametrize("name", [*MODEL_NAMES, LINEAR_QKERAS])
def test_every_student_is_bit_exact_in_csim(name, tmp_path):
    cfg = firmware_test_config(named_student_config(name))
    model = pruned_student(cfg)
    x = jets(model.input_shape[1])
    if cfg.quantization.kind == "hgq":
        from fpgakd.learn.hgq_students import hgq_proxy

        model, _ = hgq_proxy(model, x)   # what an HGQ student's firmware implements
    logits = model(x, training=False).numpy()
    hls_model = convert_model(model, load_firmware_config(), output_dir=tmp_path / "prj")
    hls_model.write()

    summary = run_csim(tmp_path / "prj", hls_model, x, logits)

    assert summary["n_jets"] == N_JETS and summary["n_values"] == logits.size
    assert summary["testbench"]["n_different"] == 0, summary["text"]
    assert summary["bridge"]["n_different"] == 0, summary["text"]
    assert summary["bit_exact"] and summary["passed"] and summary["class_agreement"] == 1.0
    # the testbench printed exact values, not the default 6 digits
    printed = np.loadtxt(tmp_path / "prj" / TB_RESULTS, ndmin=2)
    np.testing.assert_array_equal(printed, logits.astype(np.float64))
    assert (tmp_path / "prj" / "myproject_test.cpp").read_text().count("setprecision") == 0


@pytest.mark.slow
def test_a_difference_raises_mismatch_with_summary(tmp_path):
    model = pruned_student(load_model_config("hlf_mlp"))
    x = jets(16)[:200]
    logits = model(x, training=False).numpy()
    wrong = logits.copy()
    wrong[7, 2] += 2.0 ** -9        # below the 6 digits the stock testbench prints for large values
    hls_model = convert_model(model, load_firmware_config(), output_dir=tmp_path / "prj")
    hls_model.write()

    with pytest.raises(MismatchError) as err:
        run_csim(tmp_path / "prj", hls_model, x, wrong)
    message = str(err.value)
    assert "MISMATCH" in message and "testbench: 1 of 1000 values differ (max |diff| 0.00195)" in message
    assert "bridge: 1 of 1000 values differ" in message


def test_compare_outputs_counts_differences_and_classes():
    keras = np.array([[1.0, 2.0, 0.5], [3.0, 0.0, 0.0]], dtype=np.float32)
    fw = keras.astype(np.float64).copy()
    fw[1, 1] = 3.5                 # flips the argmax of the second jet
    r = compare_outputs(fw, keras)
    assert r == {"n_different": 1, "n_beyond_tolerance": 1, "max_abs_diff": 3.5, "class_agreement": 0.5}
    assert compare_outputs(fw, keras, tolerance=4.0)["n_beyond_tolerance"] == 0
    # one output: the class is the sign of the logit
    assert compare_outputs(np.array([[0.1], [-0.2]]), np.array([[0.3], [0.1]]))["class_agreement"] == 0.5
