"""Particle-set students for the Deep Sets and interaction tests: random students and padded jets."""

from __future__ import annotations

import numpy as np

from fpgakd.config import ModelConfig
from fpgakd.jets.preprocessing import student_input_width

#: per particle: deta, dphi, log_pt_frac and the mask
N_PER_PARTICLE = 4


def random_particle_student(cfg: ModelConfig, seed: int = 0):
    """The student of ``cfg`` with random biases, so that nothing is trivially zero."""
    from fpgakd.learn.students import build_student

    model = build_student(cfg, student_input_width(cfg.inputs), 5)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(rng.uniform(-0.5, 0.5, layer.bias.shape).astype(np.float32))
    return model


def padded_jets(n_jets: int, n_particles: int, seed: int = 0) -> np.ndarray:
    """(n_jets, n_particles, 4) standardized particles, jet i holding 1 + i % n_particles real ones."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1.5, size=(n_jets, n_particles, N_PER_PARTICLE)).astype(np.float32)
    real = np.arange(n_particles)[None, :] < (1 + np.arange(n_jets) % n_particles)[:, None]
    x[..., -1] = 1.0
    x[~real] = 0.0
    return x


def distilled_particle_run(cfg: ModelConfig, jets, teacher, root, *, scratch: bool = False):
    """``cfg`` distilled for 3 epochs on ``jets`` with ``teacher`` (and its scratch twin trained if
    ``scratch``; the firmware checks read the KD student only): its run directory under ``root``."""
    import dataclasses

    from fpgakd.learn.distillation import distill

    run = root / "run"
    cfg = dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, epochs=3))
    distill(cfg, jets, run, teacher_path=teacher, compare_scratch=scratch, progress=False)
    return run


def assert_csim_bit_exact_with_short_jets(run, hls_root, n_particles: int = 16, n_hlf: int = 0) -> None:
    """A distilled particle-set run whose held-out jets are often shorter than ``n_particles``
    (and ``n_hlf`` features after them): its KD student is bit-exact in C-simulation on all of them."""
    import json

    from fpgakd.config import load_firmware_config
    from fpgakd.firmware.synth import synthesize_run
    from fpgakd.learn.rundir import run_inputs_file

    flat = np.load(run_inputs_file(run))
    assert flat.shape[1] == n_particles * N_PER_PARTICLE + n_hlf
    x = flat[:, :n_particles * N_PER_PARTICLE].reshape(-1, n_particles, N_PER_PARTICLE)
    assert np.mean(x[..., -1].sum(axis=1) < n_particles) > 0.1 and np.all(x[x[..., -1] == 0] == 0)
    assert json.loads((run / "metrics.json").read_text())["kd"]["accuracy"] > 0

    report = synthesize_run(run, firmware=load_firmware_config(), hls_root=hls_root, rtl=False, progress=False)

    csim = report["csim"]
    assert csim["bit_exact"] and csim["passed"] and csim["n_jets"] == len(x)


def assert_rtl_bit_exact(run, rtl_dir) -> None:
    """A distilled particle-set run's KD student (an HGQ one: its proxy): its integer replica
    equals Keras, and its RTL simulates bit-exact in Verilator on the held-out jets and
    synthesizes in Yosys."""
    from fpgakd.firmware.hls import load_keras
    from fpgakd.firmware.rtl.flow import run_rtl_flow
    from fpgakd.learn.rundir import run_inputs_file

    proxy = run / "student_kd_proxy.h5"
    model, _ = load_keras(proxy if proxy.is_file() else run / "student_kd.h5")
    x = np.load(run_inputs_file(run))
    np.testing.assert_array_equal(_exact_replica(model, x), model(x, training=False).numpy())

    report = run_rtl_flow(model, rtl_dir, x)

    sim = report["simulation"]
    assert sim["bit_exact"] and sim["n_differing"] == 0 and sim["n_jets"] == len(x)
    assert report["synthesis"]["resources"]["LUT"] > 0 and sim["latency_cycles"] >= 1


def _exact_replica(model, x: np.ndarray) -> np.ndarray:
    """The RTL's specification of ``model`` on ``x``: the QKeras integer replica or the proxy's."""
    from fpgakd.learn.hgq_students import is_hgq_proxy

    if is_hgq_proxy(model):
        from fpgakd.firmware.rtl.hgq_proxy import extract_proxy, proxy_input_codes, proxy_reference

        spec = extract_proxy(model)
        return proxy_reference(spec, proxy_input_codes(model, spec, x))
    from fpgakd.firmware.rtl.student import extract_student, quantize_inputs, reference_forward

    spec = extract_student(model)
    return reference_forward(spec, quantize_inputs(model, spec, x)) * 2.0 ** -spec.out_f
