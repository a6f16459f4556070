"""HGQ students (fpgakd.learn.hgq_students): config validation, build, training, EBOPs,
save/load, and the firmware flows (hls4ml C-simulation, da4ml RTL) bit for bit on the proxy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fpgakd.config import ModelConfig, config_from_dict, config_to_dict, dump_config, load_model_config
from helpers.config_errors import one_line_config_error

pytest.importorskip("HGQ")

N_IN, N_OUT = 16, 5


def _tiny_data(n: int = 480, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardized-looking inputs, labels a simple function of them, packed KD targets, split."""
    from fpgakd.learn.losses import pack_classifier_targets

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, N_IN)).astype(np.float32)
    labels = np.argmax(x[:, :N_OUT] + 0.3 * rng.standard_normal((n, N_OUT)), axis=1)
    soft = (3.0 * x[:, :N_OUT]).astype(np.float32)        # a "teacher" that knows the rule
    return x, labels, pack_classifier_targets(labels, soft, N_OUT), np.arange(n)


def _hgq_cfg(training: dict | None = None, **quant) -> ModelConfig:
    q = {"kind": "hgq", "weight_init_bits": 4, "activation_init_bits": 4, **quant}
    return config_from_dict(ModelConfig, {"name": "tiny_hgq", "hidden": [8], "quantization": q,
                                          "training": {"epochs": 4, "batch_size": 32, "learning_rate": 0.05,
                                                       "patience": 8, **(training or {})}})


def _train(cfg: ModelConfig, tmp: Path) -> tuple[object, dict]:
    from fpgakd.learn.training import train_student

    x, _, y, idx = _tiny_data()
    model, hist, _ = train_student(cfg, "kd", x, y, idx[:400], idx[400:], N_OUT, tmp / "ckpt", progress=False)
    return model, hist


# ---------------------------------------------------------------- config (cheap)
def _load_error(tmp_path: Path, text: str) -> str:
    return one_line_config_error(tmp_path / "bad.yaml", text)


@pytest.mark.parametrize("quant, key", [
    ("{kind: hgq, weight_bits: 4}", "quantization.weight_bits"),            # QKeras key on HGQ
    ("{kind: qkeras, beta: 1.0e-5}", "quantization.beta"),                 # HGQ key on QKeras
    ("{beta: 1.0e-5}", "quantization.beta"),                               # qkeras is the default
    ("{kind: hgq, beta: -1.0}", "quantization.beta"),
    ("{kind: hgq, weight_init_bits: 20}", "quantization.weight_init_bits"),
    ("{kind: hgq, activation_init_bits: -1}", "quantization.activation_init_bits"),
    ("{kind: hgq, max_frac_bits: 17}", "quantization.max_frac_bits"),
    ("{kind: hgq, granularity: per_neuron}", "quantization.granularity"),
    ("{kind: hgq, beta_start: 0.0}", "quantization.beta_start"),           # linear key, constant schedule
    ("{kind: hgq, beta_schedule: linear, beta_ramp_epochs: 0}", "quantization.beta_ramp_epochs"),
    ("{kind: hgq, beta_schedule: exponential, beta_start: 0.0}", "quantization.beta_start"),  # log of 0
    ("{kind: hgq, beta: 1.0e-6, beta_schedule: exponential, beta_start: 1.0e-5}", "quantization.beta_start"),
    ("{kind: hgq, enabled: false}", "quantization.kind"),
    ("{kind: hgq, input_min_frac_bits: 13}", "quantization.input_min_frac_bits"),   # above max_frac_bits
    ("{kind: qkeras, input_min_frac_bits: 4}", "quantization.input_min_frac_bits"),
    ("{kind: hgq, hidden_min_frac_bits: -1}", "quantization.hidden_min_frac_bits"),
    ("{kind: qkeras, hidden_min_frac_bits: 2}", "quantization.hidden_min_frac_bits"),
])
def test_bad_quantization_keys_name_file_and_key(tmp_path: Path, quant: str, key: str) -> None:
    message = _load_error(tmp_path, f"name: x\nquantization: {quant}\n")
    assert f"key '{key}'" in message


@pytest.mark.parametrize("block", ["{target_sparsity: 0.5}", "{enabled: false}"])
def test_a_pruning_block_on_an_hgq_student_is_refused(tmp_path: Path, block: str) -> None:
    message = _load_error(tmp_path, f"name: x\nquantization: {{kind: hgq}}\npruning: {block}\n")
    assert "key 'pruning'" in message and "HGQ" in message
    with pytest.raises(ValueError, match="pruning.enabled"):   # built in code, not from YAML
        ModelConfig(name="x", quantization=load_model_config("hlf_hgq").quantization)


def test_hgq_configs_load_unpruned_and_their_resolved_dump_reloads(tmp_path: Path) -> None:
    for name in ("hlf_hgq", "hybrid_hgq"):
        cfg = load_model_config(name)
        assert cfg.quantization.kind == "hgq" and not cfg.pruning.enabled
        dumped = config_to_dict(cfg)["quantization"]
        assert "weight_bits" not in dumped and dumped["beta"] == cfg.quantization.beta
        assert "input_min_frac_bits" not in dumped and "hidden_min_frac_bits" not in dumped   # as before the keys
        assert "pruning" not in config_to_dict(cfg)
        assert load_model_config(dump_config(cfg, tmp_path / f"{name}.yaml")) == cfg
    assert "beta" not in config_to_dict(load_model_config("hlf_mlp"))["quantization"]
    floor = config_from_dict(ModelConfig, {"name": "f", "quantization": {"kind": "hgq", "input_min_frac_bits": 5,
                                                                      "hidden_min_frac_bits": 2}})
    reloaded = load_model_config(dump_config(floor, tmp_path / "floor.yaml")).quantization
    assert (reloaded.input_min_frac_bits, reloaded.hidden_min_frac_bits) == (5, 2)


def test_the_cli_refuses_a_bad_hgq_config_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nquantization: {kind: hgq, beta: -2.0}\n")
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "fpgakd.cli", "distill", "--model", str(bad),
                           "--jets", str(tmp_path / "jets.h5"), "--run-dir", str(out)],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if str(bad) in line]
    assert len(lines) == 1 and "quantization.beta" in lines[0], proc.stderr[-2000:]
    assert not out.exists()


# ---------------------------------------------------------------- build and train
@pytest.mark.parametrize("granularity, n_widths", [("per_weight", N_IN * 8), ("per_channel", 8), ("per_layer", 1)])
def test_weight_granularity_sets_the_number_of_trained_widths(granularity: str, n_widths: int) -> None:
    from fpgakd.learn.students import build_student

    model = build_student(_hgq_cfg(granularity=granularity), N_IN, N_OUT)
    fc1 = model.get_layer("fc1")
    assert int(np.prod(fc1.kq.fbw.shape)) == n_widths
    # activations start at the initial fractional bits; weights at that many significant bits
    np.testing.assert_array_equal(fc1.paq.fbw.numpy(), 4.0)
    w = np.abs(fc1.kernel.numpy())
    per_weight = 4.0 - np.log2(w)
    expected = {"per_weight": per_weight, "per_channel": per_weight.min(axis=0, keepdims=True),
                "per_layer": per_weight.min(keepdims=True)}[granularity]
    np.testing.assert_allclose(fc1.kq.fbw.numpy().reshape(expected.shape), expected, rtol=1e-5)
    assert [type(layer).__name__ for layer in model.layers[1:]] == ["HQuantize", "HDense", "HDense"]


@pytest.mark.slow
def test_an_hgq_student_trains_saves_and_reloads(tmp_path: Path) -> None:
    from fpgakd.learn.hgq_students import hgq_proxy, is_hgq_model, is_hgq_proxy
    from fpgakd.learn.students import load_student, save_student, student_summary

    cfg = _hgq_cfg(beta=1e-5)
    model, hist = _train(cfg, tmp_path)
    assert len(hist["bops"]) == cfg.training.epochs and min(hist["bops"]) > 0
    x, labels, _, _ = _tiny_data()
    summary = student_summary(model, cfg)
    assert summary["quantizer"] == "hgq" and set(summary["bits"]["trained"]) == {"fc1", "output"}
    proxy, ebops = hgq_proxy(model, x[:400])
    assert ebops > 0 and is_hgq_model(model) and is_hgq_proxy(proxy) and not is_hgq_model(proxy)
    assert np.mean(np.argmax(proxy.predict(x[400:], verbose=0), 1) == labels[400:]) > 0.4
    for net, name in ((model, "m.h5"), (proxy, "p.h5")):
        back = load_student(save_student(net, tmp_path / name))
        np.testing.assert_array_equal(back.predict(x, verbose=0), net.predict(x, verbose=0))


@pytest.mark.slow
def test_a_cosine_learning_rate_falls_to_zero_over_the_planned_epochs(tmp_path: Path) -> None:
    cfg = _hgq_cfg({"learning_rate_schedule": "cosine"}, beta=1e-5)
    model, hist = _train(cfg, tmp_path)
    assert len(hist["loss"]) == cfg.training.epochs
    # the rate at the last step (a constant one stays at 0.05: see _learning_rate's example)
    assert float(model.optimizer.learning_rate) < 0.002 * cfg.training.learning_rate


@pytest.mark.slow
def test_a_larger_beta_gives_fewer_ebops_and_floors_keep_their_bits(tmp_path: Path) -> None:
    from fpgakd.learn.hgq_students import hgq_proxy

    x = _tiny_data()[0][:400]
    ebops, lowest = {}, {}
    for beta, floor in ((0.0, None), (3e-4, None), (3e-4, 3)):
        cfg = _hgq_cfg(beta=beta, input_min_frac_bits=floor, hidden_min_frac_bits=floor)
        model, _ = _train(cfg, tmp_path / f"{beta}_{floor}")
        ebops[beta, floor] = hgq_proxy(model, x)[1]
        lowest[beta, floor] = [float(np.min(model.get_layer(name).paq.fbw.numpy())) for name in ("input_quant", "fc1")]
    assert ebops[3e-4, None] < 0.8 * ebops[0.0, None], ebops
    # without floors the penalty takes an input and a hidden activation below 3 bits; with them neither
    assert max(lowest[3e-4, None]) < 3 <= min(lowest[3e-4, 3]), lowest


@pytest.fixture(scope="module")
def untrained_proxy() -> Any:
    """The HGQ proxy of an untrained student (seconds of tracing, so built once; a test that changes
    it puts it back)."""
    from fpgakd.learn.hgq_students import hgq_proxy
    from fpgakd.learn.students import build_student

    return hgq_proxy(build_student(_hgq_cfg(), N_IN, N_OUT), _tiny_data()[0][:400])[0]


def test_the_exact_replica_of_a_proxy_matches_keras(untrained_proxy: Any) -> None:
    from fpgakd.firmware.rtl.hgq_proxy import extract_proxy, proxy_input_codes, proxy_reference

    x, proxy = _tiny_data()[0], untrained_proxy
    spec = extract_proxy(proxy)
    assert [kind for kind, _ in spec.steps] == ["dense", "quantize", "relu", "quantize", "dense", "quantize"]
    ref = proxy_reference(spec, proxy_input_codes(proxy, spec, x))
    np.testing.assert_array_equal(ref, proxy(x, training=False).numpy().astype(np.float64))


# slow: da4ml's solver, which numba compiles in each test process (seconds); test_cost_model.py keeps it in
# the fast set
@pytest.mark.slow
def test_an_hgq_proxy_is_priced_by_the_cost_model_without_a_warning(caplog: pytest.LogCaptureFixture,
                                                                    untrained_proxy: Any) -> None:
    """The HLS-priced estimate does not model HGQ's quantizers; the cost model gives the LUT, as
    expected for every HGQ student, so that is said at INFO level, not as a warning."""
    import logging

    from fpgakd.config import FirmwareConfig
    from fpgakd.firmware.synth import _estimate

    pytest.importorskip("da4ml")
    proxy = untrained_proxy
    firmware = FirmwareConfig(name="vu13p")
    with caplog.at_level(logging.INFO, logger="fpgakd.firmware.synth"):
        report = _estimate(proxy, firmware, firmware.part, "linear")
    assert report["resources"]["LUT"] >= 0 and "cost model" in report["lut_source"]
    records = [r for r in caplog.records if "no HLS-priced estimate" in r.getMessage()]
    assert [r.levelno for r in records] == [logging.INFO], caplog.text
    assert "its LUT from the da4ml cost model" in records[0].getMessage()


def test_an_hgq_student_whose_inputs_all_trained_to_zero_bits_is_refused_in_one_line(untrained_proxy: Any) -> None:
    from fpgakd.errors import ConfigError
    from fpgakd.firmware.rtl.hgq_proxy import extract_proxy

    quantizer = untrained_proxy.layers[1]
    trained_bits = quantizer.bits.numpy()
    quantizer.bits.assign(np.zeros_like(trained_bits))
    try:
        with pytest.raises(ConfigError, match=r"every input .* trained to zero bits.*quantization\.beta") as err:
            extract_proxy(untrained_proxy)
    finally:   # the proxy is the module's: the other tests read it as built
        quantizer.bits.assign(trained_bits)
    assert "\n" not in str(err.value)


def test_firmware_refuses_a_trainable_hgq_model_in_one_line(tmp_path: Path) -> None:
    from fpgakd.config import load_firmware_config
    from fpgakd.errors import FpgakdError
    from fpgakd.firmware.synth import synthesize
    from fpgakd.learn.students import build_student, save_student

    path = save_student(build_student(_hgq_cfg(), N_IN, N_OUT), tmp_path / "student_kd.h5")
    with pytest.raises(FpgakdError, match="proxy") as err:
        synthesize(path, firmware=load_firmware_config(), project_dir=tmp_path / "prj",
                   test_x=_tiny_data()[0], progress=False)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert not (tmp_path / "prj").exists()


# ---------------------------------------------------------------- distill run -> firmware
def _write_tiny_jets(path: Path, n_per_class: int = 60, n_particles: int = 8) -> Path:
    """A jet file in fpgakd's layout whose classes differ in their high-level features."""
    import h5py

    from fpgakd.jets.jetfile import (CLASS_NAMES, CONSTITUENT_NAMES, FORMAT_NAME, FORMAT_VERSION, HLF_NAMES,
                                     JET_NAMES)

    rng = np.random.default_rng(0)
    n = n_per_class * len(CLASS_NAMES)
    labels = rng.permutation(np.repeat(np.arange(len(CLASS_NAMES)), n_per_class))
    hlf = rng.normal(size=(n, len(HLF_NAMES))).astype(np.float32)
    hlf[np.arange(n), labels] += 2.0
    cons = rng.normal(0.0, 0.2, size=(n, n_particles, len(CONSTITUENT_NAMES))).astype(np.float32)
    cons[..., :2] += (labels[:, None, None] * 0.1)
    with h5py.File(path, "w") as fh:
        fh.create_dataset("hlf", data=hlf)
        fh.create_dataset("hlf_names", data=np.array(HLF_NAMES, dtype="S"))
        fh.create_dataset("constituents", data=cons)
        fh.create_dataset("constituent_names", data=np.array(CONSTITUENT_NAMES, dtype="S"))
        fh.create_dataset("mask", data=np.ones((n, n_particles), bool))
        fh.create_dataset("labels", data=labels.astype(np.int64))
        fh.create_dataset("class_names", data=np.array(CLASS_NAMES, dtype="S"))
        fh.create_dataset("jets", data=np.tile(np.array([1000.0, 0.0, 0.0, 50.0], np.float32), (n, 1)))
        fh.create_dataset("jet_names", data=np.array(JET_NAMES, dtype="S"))
        fh.attrs["format"] = FORMAT_NAME
        fh.attrs["format_version"] = FORMAT_VERSION
    return path


# the three jet MLP families: the 16 features, the features and the leading particles, the particles alone
@pytest.mark.slow
@pytest.mark.parametrize("inputs", [{"type": "hlf"}, {"type": "hybrid", "n_constituents": 4},
                                    {"type": "constituents", "n_constituents": 4}], ids=lambda i: i["type"])
def test_an_hgq_distill_run_synthesises_bit_exact_in_csim_and_rtl(tmp_path: Path, inputs: dict) -> None:
    import json

    from fpgakd.config import TeacherConfig, load_firmware_config
    from fpgakd.firmware.synth import synthesize_run
    from fpgakd.learn.distillation import distill
    from fpgakd.learn.teacher import train_teacher

    jets = _write_tiny_jets(tmp_path / "jets.h5")
    teacher = train_teacher(jets, tmp_path / "teacher", progress=False,
                            config=TeacherConfig(n_constituents=8, width=8, epochs=1, n_folds=1))
    cfg = config_from_dict(ModelConfig, {
        "name": f"tiny_{inputs['type']}_hgq", "inputs": inputs, "hidden": [8],
        "quantization": {"kind": "hgq", "beta": 1e-5},
        "training": {"epochs": 3, "batch_size": 32, "learning_rate": 0.01}})
    run = tmp_path / "run"
    metrics = distill(cfg, jets, run, teacher_path=teacher, progress=False)
    for mode in ("kd", "scratch"):
        assert (run / f"student_{mode}.h5").is_file() and (run / f"student_{mode}_proxy.h5").is_file()
        assert metrics[mode]["ebops"] > 0 and metrics[mode]["quantizer"] == "hgq"
    assert json.loads((run / "metrics.json").read_text())["kd"]["ebops"] == metrics["kd"]["ebops"]

    report = synthesize_run(run, firmware=load_firmware_config(), hls_root=tmp_path / "hls", n_jets=200,
                            progress=False)
    assert report["model"]["quantizer"] == "hgq" and report["model"]["file"] == "student_kd_proxy.h5"
    assert report["model"]["name"] == cfg.name
    n_jets = min(200, len(np.load(run / "heldout_inputs.npy")))
    assert report["csim"]["bit_exact"] and report["csim"]["n_jets"] == n_jets
    rtl = report.get("rtl")
    if rtl is None:                       # RTL tools not installed: say so, do not pass silently
        pytest.skip(f"RTL flow not run: {report['notes']}")
    assert rtl["rtl_sim"]["bit_exact"] and rtl["rtl_sim"]["n_values"] == n_jets * N_OUT
    assert rtl["resources"]["LUT"] > 0 and rtl["latency_cycles"]["max"] >= 1


@pytest.mark.slow
def test_a_student_that_reads_none_of_its_inputs_is_named_before_any_rtl_is_written(tmp_path: Path) -> None:
    """Every kernel at zero (what a beta large enough trains): the outputs are constants, and
    da4ml would write a zero-width input port that Verilator refuses."""
    from fpgakd.config import replace_config
    from fpgakd.errors import ConfigError
    from fpgakd.firmware.rtl.verilog import write_rtl
    from fpgakd.learn.hgq_students import hgq_proxy
    from fpgakd.learn.students import build_student

    model = build_student(replace_config(load_model_config("hlf_hgq"), {"hidden": [4]}, "test"), N_IN, N_OUT)
    for layer in model.layers:
        if getattr(layer, "kernel", None) is not None:
            layer.kernel.assign(np.zeros(layer.kernel.shape, np.float32))
    proxy, _ = hgq_proxy(model, _tiny_data()[0])
    with pytest.raises(ConfigError, match=r"'hlf_hgq': its outputs depend on none of its inputs.*quantization\.beta"):
        write_rtl(proxy, tmp_path / "rtl", latency_cutoff=5)
    assert list(tmp_path.iterdir()) == []
