"""The RTL flow inside `fpgakd synth`: every student under models/ simulates bit-exact, the
report carries the RTL's numbers with their source, and missing tools, float models and
failing tools give what a user needs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from fpgakd.config import load_firmware_config, load_model_config, repo_dir
from fpgakd.errors import ToolError
from fpgakd.firmware.report_schema import FPGAKD_REPORT_NAME
from fpgakd.firmware.report_table import format_report_table
from fpgakd.firmware.rtl.verilog import META_FILE
from fpgakd.firmware.reports import read_project_report
from fpgakd.jets.preprocessing import student_input_width
from fpgakd.learn.students import build_student, save_student
from helpers.firmware import LINEAR_QKERAS, firmware_test_config, named_student_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

#: held-out rows per check: enough to hit rounding ties in every layer, quick to simulate
N_JETS = 400
#: the firmware students: every quantized config under models/ (float ones, like DistillNet's
#: reference model, are not meant for the FPGA and cannot be bit-exact)
MODELS = sorted(p.stem for p in (repo_dir() / "models").glob("*.yaml")
                if load_model_config(p).quantization.enabled)


#: skips where da4ml, Yosys or Verilator is missing; asked when such a test runs, not on collection
needs_rtl = pytest.mark.usefixtures("rtl_tools")


def _trained_student(cfg, seed: int = 0, sparsity: float = 0.75):
    """The student of ``cfg`` with its real layer sizes, briefly trained, then pruned by hand."""
    n_in = student_input_width(cfg.inputs)
    n_out = 5 if cfg.task == "classifier" else 1
    model = build_student(cfg, n_in, n_out)
    rng = np.random.default_rng(seed)
    model.compile("adam", "mse")
    model.fit(rng.normal(size=(512, n_in)).astype("float32"), rng.normal(size=(512, n_out)).astype("float32"),
              epochs=1, batch_size=128, verbose=0)
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None and layer.trainable:   # pruning leaves a fixed layer (a mask selector) alone
            w = kernel.numpy()
            w[rng.random(w.shape) < sparsity] = 0.0
            kernel.assign(w)
    return model, rng.normal(size=(N_JETS, n_in)).astype("float32")


def _tiny_cfg():
    cfg = load_model_config("hlf_mlp")
    return dataclasses.replace(cfg, hidden=(8,))


@pytest.fixture(scope="module")
def tiny_student():
    """An 8-wide hlf_mlp student, briefly trained and pruned, and its held-out rows; tests only read it."""
    return _trained_student(_tiny_cfg())


def _firmware(n_jets: int = N_JETS, **rtl_changes):
    fw = load_firmware_config()
    return dataclasses.replace(fw, csim=dataclasses.replace(fw.csim, n_jets=n_jets),
                               rtl=dataclasses.replace(fw.rtl, **rtl_changes))


@needs_rtl
@pytest.mark.slow
@pytest.mark.parametrize("name", [*MODELS, LINEAR_QKERAS])
def test_every_student_simulates_bit_exact_in_rtl(name, tmp_path):
    from fpgakd.firmware.rtl.flow import run_rtl_flow

    cfg = firmware_test_config(named_student_config(name))
    model, x = _trained_student(cfg)
    if cfg.quantization.kind == "hgq":
        from fpgakd.learn.hgq_students import hgq_proxy

        model, _ = hgq_proxy(model, x)   # what an HGQ student's firmware implements
    flow = run_rtl_flow(model, tmp_path / "rtl", x, synthesize=False, raise_on_mismatch=False)
    sim = flow["simulation"]
    assert sim["n_jets"] == N_JETS and sim["n_differing"] == 0 and sim["bit_exact"], sim
    assert sim["class_agreement"] == 1.0


@needs_rtl
@pytest.mark.slow
def test_synth_writes_rtl_and_reports_its_numbers_with_their_source(tiny_student, tmp_path):
    from fpgakd.firmware.synth import synthesize

    model, x = tiny_student
    save_student(model, tmp_path / "student_kd.h5")
    report = synthesize(tmp_path / "student_kd.h5", firmware=_firmware(), project_dir=tmp_path / "prj",
                        test_x=x, progress=False)
    prj = tmp_path / "prj"
    assert report["source"] == "rtl" and report["source_label"].startswith("rtl (yosys ")
    assert report["rtl_sim"]["bit_exact"] and report["rtl_sim"]["n_jets"] == N_JETS
    assert report["csim"]["bit_exact"]
    assert report["resources"]["LUT"] > 0 and report["resources"]["FF"] > 0 and report["resources"]["DSP"] == 0
    assert report["latency_cycles"]["max"] >= 1 and report["ii"] == {"min": 1, "max": 1}
    assert report["estimate"]["source"] == "estimate" and report["estimate"]["resources"]["LUT"] > 0
    # the estimate's LUT is priced from the RTL's own trace, not from a second one
    rtl_meta = json.loads((prj / "rtl" / META_FILE).read_text())
    assert report["estimate_details"]["da4ml_lut_cost"] == rtl_meta["delay_model"]["estimated_lut_cost"]
    assert "da4ml_trace_s" not in report["estimate_details"]
    assert set(report["rtl"]["tools"]) == {"da4ml", "yosys", "verilator"}
    assert (prj / "rtl" / "yosys.log").is_file() and list((prj / "rtl" / "src").glob("*.v"))
    saved = json.loads((prj / FPGAKD_REPORT_NAME).read_text())
    assert saved["rtl"]["resources"] == report["resources"]
    table = format_report_table([read_project_report(prj)])
    assert "prj [rtl]" in table and "prj [estimate]" in table and "CARRY4" in table
    assert "rtl sim bit-exact" in table


@pytest.mark.slow
def test_missing_rtl_tools_leave_a_note_and_the_rest_works(tiny_student, tmp_path, monkeypatch):
    from fpgakd.firmware.rtl import tools
    from fpgakd.firmware.synth import synthesize

    monkeypatch.setattr(tools, "_verilator_root", lambda: None)
    monkeypatch.setattr(tools, "which", lambda name: None)
    model, x = tiny_student
    save_student(model, tmp_path / "student_kd.h5")
    report = synthesize(tmp_path / "student_kd.h5", firmware=_firmware(n_jets=50), project_dir=tmp_path / "prj",
                        test_x=x, progress=False)
    assert report["source"] == "estimate" and report["csim"]["bit_exact"] and "rtl" not in report
    assert any("RTL skipped" in n and "pip install -e '.[rtl]'" in n for n in report["notes"])
    assert not (tmp_path / "prj" / "rtl").exists()


def test_float_model_skips_rtl_with_the_reason(tmp_path):
    import tensorflow as tf

    from fpgakd.firmware.rtl_report import rtl_numbers

    x_in = tf.keras.Input(shape=(4,))
    model = tf.keras.Model(x_in, tf.keras.layers.Dense(2)(x_in))
    block, notes = rtl_numbers(model, np.zeros((3, 4), np.float32), _firmware(), "xcvu13p-flga2577-2-e", tmp_path)
    assert block is None and "no exact integer weights" in notes[0]
    assert not (tmp_path / "rtl").exists()


@needs_rtl
@pytest.mark.slow
def test_failing_yosys_gives_its_last_lines_and_leaves_no_project(tiny_student, tmp_path, monkeypatch):
    from fpgakd.firmware.rtl import yosys
    from fpgakd.firmware.synth import synthesize

    fake = tmp_path / "bin" / "yosys-broken"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'ERROR: out of cheese at line 42'\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(yosys, "yosys_command", lambda: [str(fake)])
    model, x = tiny_student
    save_student(model, tmp_path / "student_kd.h5")
    with pytest.raises(ToolError, match="out of cheese at line 42"):
        synthesize(tmp_path / "student_kd.h5", firmware=_firmware(n_jets=50), project_dir=tmp_path / "prj",
                   test_x=x, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "student_kd.h5"]


def test_rtl_off_in_the_config_is_noted(tmp_path):
    from fpgakd.firmware.rtl_report import rtl_numbers

    # an untrained student: the flow is off before it looks at the weights
    model, x = build_student(_tiny_cfg(), 16, 5), np.zeros((4, 16), np.float32)
    block, notes = rtl_numbers(model, x, _firmware(enabled=False), "xcvu13p-flga2577-2-e", Path(tmp_path))
    assert block is None and "RTL flow off" in notes[0]


@needs_rtl
@pytest.mark.slow
def test_failed_csim_stops_the_yosys_started_beside_it_and_drops_the_rtl(tiny_student, tmp_path, monkeypatch):
    """Yosys starts before the C-simulation; a C-simulation mismatch stops it and leaves no RTL."""
    from fpgakd.errors import MismatchError
    from fpgakd.firmware.rtl import flow, yosys
    from fpgakd.firmware.synth import synthesize

    jobs = []
    monkeypatch.setattr(flow, "start_synthesis", lambda *a, **kw: jobs.append(yosys.start_synthesis(*a, **kw))
                        or jobs[-1])
    model, x = tiny_student
    save_student(model, tmp_path / "student_kd.h5")
    wrong = model(x[:50], training=False).numpy() + 0.5     # Keras "says" otherwise: the C-simulation fails
    with pytest.raises(MismatchError, match="written for inspection"):
        synthesize(tmp_path / "student_kd.h5", firmware=_firmware(n_jets=50), project_dir=tmp_path / "prj",
                   test_x=x, keras_logits=wrong, progress=False)
    assert len(jobs) == 1 and jobs[0].tool.proc.returncode is not None      # started, then stopped and reaped
    saved = json.loads((tmp_path / "prj" / FPGAKD_REPORT_NAME).read_text())
    assert not saved["csim"]["passed"] and "rtl" not in saved and saved["source"] == "estimate"
    assert not (tmp_path / "prj" / "rtl").exists()
