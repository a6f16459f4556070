"""Firmware stage: config mapping, conversion errors and whole projects written by synthesize."""

import dataclasses
import importlib.util
import json
import logging

import numpy as np
import pytest

from fpgakd.config import load_firmware_config, load_model_config
from fpgakd.errors import DataError, FpgakdError, MismatchError
from fpgakd.firmware.hls import convert_model, find_hls_tool, hls4ml_config
from fpgakd.firmware.synth import REPORT_NAME, synthesize, synthesize_run
from fpgakd.firmware.reports import read_project_report
from fpgakd.learn.students import build_student, save_student

N_JETS = 300


def firmware(n_jets: int = N_JETS, **changes):
    """The default target, with the RTL flow off: tests/test_synth_rtl.py covers it."""
    fw = load_firmware_config()
    changes.setdefault("rtl", dataclasses.replace(fw.rtl, enabled=False))
    return dataclasses.replace(fw, csim=dataclasses.replace(fw.csim, n_jets=n_jets), **changes)


def float_model(path):
    """A plain-Keras (float) 16-8-3 MLP saved as .h5."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(3)
    x = tf.keras.Input((16,), name="inputs")
    h = tf.keras.layers.Dense(8, activation="relu", name="fc1")(x)
    model = tf.keras.Model(x, tf.keras.layers.Dense(3, name="output")(h), name="float_mlp")
    save_student(model, path)
    return path


def normal_jets(n: int, width: int = 16) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, width)).astype(np.float32)


def test_hls4ml_config_maps_every_firmware_field():
    model = build_student(load_model_config("hlf_top_regressor"), 16, 1)
    fw = firmware(reuse_factor=4, strategy="Resource", io_type="io_stream", backend="Vivado",
                  clock_mhz=200.0, clock_uncertainty_pct=10.0)
    kw = hls4ml_config(model, fw, "xcvu9p-flga2104-2L-e")
    assert (kw["part"], kw["clock_period"], kw["clock_uncertainty"]) == ("xcvu9p-flga2104-2L-e", 5.0, "10%")
    assert (kw["io_type"], kw["backend"], kw["bit_exact"]) == ("io_stream", "Vivado", True)
    assert kw["hls_config"]["Model"]["Strategy"] == "Resource"
    layers = kw["hls_config"]["LayerName"]
    assert {"fc1", "fc2", "output", "input_quant"} <= set(layers)
    assert all(cfg["ReuseFactor"] == 4 for cfg in layers.values() if "ReuseFactor" in cfg)
    assert hls4ml_config(model, load_firmware_config(), "xcvu13p-flga2577-2-e")["clock_period"] == 4.167


def test_unsupported_layer_is_named_and_nothing_is_written(tmp_path):
    import tensorflow as tf

    x = tf.keras.Input((8, 4), name="inputs")
    h = tf.keras.layers.LSTM(4, name="track_lstm")(x)
    model = tf.keras.Model(x, tf.keras.layers.Dense(2, name="output")(h))
    save_student(model, tmp_path / "rnn.h5")
    with pytest.raises(FpgakdError, match=r"rnn\.h5: layer 'track_lstm' of type LSTM is not supported"):
        synthesize(tmp_path / "rnn.h5", firmware=firmware(), project_dir=tmp_path / "prj",
                   test_x=np.zeros((4, 8, 4), np.float32), progress=False)
    conv = tf.keras.Sequential([tf.keras.Input((8, 8, 1)), tf.keras.layers.Conv2D(2, 3, name="conv")])
    with pytest.raises(FpgakdError, match=r"layer 'conv' of type Conv2D"):
        convert_model(conv, firmware(), output_dir=tmp_path / "conv")
    assert not (tmp_path / "prj").exists() and not (tmp_path / "conv").exists()


def test_bad_inputs_name_the_numbers(tmp_path):
    model = float_model(tmp_path / "run" / "student_kd.h5")
    with pytest.raises(DataError, match=r"12 input features per sample, but .*student_kd\.h5 expects 16"):
        synthesize(model, firmware=firmware(), project_dir=tmp_path / "prj", test_x=normal_jets(10, 12),
                   progress=False)
    np.save(tmp_path / "wide.npy", normal_jets(10, 20))
    with pytest.raises(DataError, match=r"wide\.npy: 20 input features per sample, but .* expects 16"):
        synthesize_run(tmp_path / "run", firmware=firmware(), hls_root=tmp_path / "hls",
                       inputs=tmp_path / "wide.npy", progress=False)
    with pytest.raises(DataError, match=r"nowhere: no such run directory or model file"):
        synthesize_run(tmp_path / "nowhere", firmware=firmware(), hls_root=tmp_path / "hls")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no student model .*student_kd\.h5"):
        synthesize_run(tmp_path / "empty", firmware=firmware(), hls_root=tmp_path / "hls")
    assert not (tmp_path / "prj").exists() and not (tmp_path / "hls").exists()


@pytest.mark.slow
def test_synthesize_run_writes_a_checked_project(tmp_path, caplog):
    cfg = load_model_config("hlf_mlp")
    model = build_student(cfg, 16, 5)
    run = tmp_path / "runs" / "hlf_kd"
    save_student(model, run / "student_kd.h5")
    np.save(run / "test_inputs.npy", normal_jets(N_JETS + 50))
    (run / "standardization.json").write_text('{"mean": [0.0], "scale": [1.0]}')

    with caplog.at_level(logging.INFO, logger="fpgakd"):
        report = synthesize_run(run, firmware=firmware(), part="xcvu13p", hls_root=tmp_path / "hls",
                                progress=False)

    prj = tmp_path / "hls" / "hlf_kd"
    assert sorted(p.name for p in (tmp_path / "hls").iterdir()) == ["hlf_kd"]   # no temporary left
    for name in ("firmware/myproject.cpp", "myproject_test.cpp", "build_prj.tcl", "csim_exact.cpp",
                 "student_kd.h5", "firmware.yaml", "standardization.json", REPORT_NAME):
        assert (prj / name).is_file(), name
    assert len(np.loadtxt(prj / "tb_data" / "tb_input_features.dat")) == N_JETS
    assert ".tmp" not in (prj / "hls4ml_config.yml").read_text()

    saved = json.loads((prj / REPORT_NAME).read_text())
    assert saved["csim"] == report["csim"]
    assert saved["part"] == "xcvu13p-flga2577-2-e" and saved["clock_ns"] == pytest.approx(4.167, abs=1e-3)
    assert saved["csim"]["n_jets"] == N_JETS and saved["csim"]["bit_exact"]
    assert saved["csim"]["inputs"] == str(run / "test_inputs.npy")
    assert saved["model"]["n_inputs"] == 16 and saved["model"]["quantized"]
    assert read_project_report(prj)["csim"]["bit_exact"]
    if find_hls_tool("Vitis") is None:
        assert saved["source"] == "estimate"
        assert "no HLS tool for the Vitis backend on PATH" in caplog.text
    if find_hls_tool("Vitis") is None and importlib.util.find_spec("da4ml") is not None:
        # the RTL flow is off: the estimate's LUT is the calibrated da4ml cost model's, labelled
        assert saved["lut_source"].startswith("da4ml cost model, calibrated on ")
        assert saved["resources"]["LUT"] > saved["estimate_details"]["hls_estimate_LUT"] > 0


@pytest.mark.slow
def test_float_model_is_checked_within_stated_tolerance(tmp_path, caplog):
    model = float_model(tmp_path / "float_mlp.h5")
    fw = firmware()
    with caplog.at_level(logging.WARNING, logger="fpgakd"):
        report = synthesize_run(model, firmware=fw, hls_root=tmp_path / "hls", progress=False)
    assert "no QKeras layers" in caplog.text and "float model" in caplog.text
    assert "random standard-normal inputs" in caplog.text       # no test_inputs.npy beside it
    csim = report["csim"]
    assert csim["tolerance"] == fw.csim.float_tolerance and csim["passed"]
    assert csim["max_abs_diff"] <= fw.csim.float_tolerance
    assert not report["model"]["quantized"] and not report["firmware"]["bit_exact"]
    assert (tmp_path / "hls" / "float_mlp" / REPORT_NAME).is_file()


@pytest.mark.slow
def test_mismatch_writes_project_and_report_then_raises(tmp_path):
    model = float_model(tmp_path / "float_mlp.h5")
    with pytest.raises(MismatchError, match=r"MISMATCH beyond tolerance 0.*written for inspection"):
        synthesize(model, firmware=firmware(), project_dir=tmp_path / "prj", test_x=normal_jets(N_JETS),
                   allow_tolerance=0.0, progress=False)
    saved = json.loads((tmp_path / "prj" / REPORT_NAME).read_text())
    assert not saved["csim"]["passed"] and saved["csim"]["mismatches"] > 0
    assert any("synthesis skipped" in note for note in saved["notes"])


@pytest.mark.slow
def test_a_failing_hls_tool_is_reported_with_its_output(tmp_path, monkeypatch):
    # A real executable named vivado_hls that fails the way a broken install does; hls4ml's
    # own build runs it. Nothing may be left at the project path.
    from fpgakd.errors import ToolError

    tools = tmp_path / "bin"
    tools.mkdir()
    tool = tools / "vivado_hls"
    tool.write_text("#!/bin/sh\necho 'ERROR: [HLS 200-101] license checkout failed for HLS' | tee vivado_hls.log\nexit 1\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{__import__('os').environ['PATH']}")

    run = tmp_path / "run"
    save_student(build_student(load_model_config("hlf_top_regressor"), 16, 1), run / "student_kd.h5")
    np.save(run / "test_inputs.npy", normal_jets(N_JETS))
    with pytest.raises(ToolError) as info:
        synthesize_run(run, firmware=firmware(backend="Vivado"), hls_root=tmp_path / "hls", progress=False)
    message = str(info.value)
    assert "vivado_hls" in message and "license checkout failed" in message
    assert not (tmp_path / "hls" / "run").exists()
    assert list((tmp_path / "hls").iterdir()) == []


@pytest.mark.slow
def test_distributed_arithmetic_target_is_bit_exact(tmp_path):
    """firmware_configs/vu13p_240mhz_da: da4ml adder graphs inside the HLS project (Dense
    layers only), checked by C-simulation like the Latency strategy."""
    cfg = dataclasses.replace(load_model_config("hlf_mlp"), hidden=(8,))
    model = build_student(cfg, 16, 5)
    save_student(model, tmp_path / "student.h5")
    fw = load_firmware_config("vu13p_240mhz_da")
    fw = dataclasses.replace(fw, csim=dataclasses.replace(fw.csim, n_jets=200),
                             rtl=dataclasses.replace(fw.rtl, enabled=False))
    report = synthesize(tmp_path / "student.h5", firmware=fw, project_dir=tmp_path / "prj",
                        test_x=normal_jets(200), progress=False)
    assert report["csim"]["bit_exact"] and report["firmware"]["strategy"] == "distributed_arithmetic"
    top = (tmp_path / "prj" / "firmware" / "myproject.cpp").read_text()
    assert "nnet::dense_da" in top and "nnet::dense<" not in top   # the Latency target calls nnet::dense<...
