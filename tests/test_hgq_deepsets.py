"""HGQ Deep Sets students (inputs.type: particle_set, quantization.kind: hgq): invariance to
particle order and padding in Keras, in the proxy and in its exact replica; the config; and
the firmware, C-simulation and Verilator bit-exact on tiny distilled students."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fpgakd.config import ModelConfig, config_from_dict
from fpgakd.jets.jetfile import HLF_NAMES
from helpers.config_errors import one_line_config_error
from helpers.particle_sets import (assert_csim_bit_exact_with_short_jets, assert_rtl_bit_exact,
                                   distilled_particle_run, padded_jets)

pytest.importorskip("HGQ")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

N_PARTICLES, N_JETS = 8, 200


def _cfg(n_particles: int = N_PARTICLES, **over) -> ModelConfig:
    inputs = {"type": "particle_set", "n_constituents": n_particles,
              "constituent_features": ["deta", "dphi", "log_pt_frac"], **over.pop("inputs", {})}
    base = {"name": "tiny_hgq_deepsets", "inputs": inputs, "particle_hidden": [8, 4], "hidden": [8],
            "pooling": "max",
            "quantization": {"kind": "hgq", "beta": 1e-6, "weight_init_bits": 4, "activation_init_bits": 6},
            "training": {"epochs": 3, "batch_size": 64, "learning_rate": 0.005, "patience": 2}}
    return config_from_dict(ModelConfig, {**base, **over}, "test")


def _flat(particles: np.ndarray, hlf: bool) -> np.ndarray:
    """The flat input: the particles, then (``hlf``) 16 features the same for a jet in any order."""
    flat = particles.reshape(len(particles), -1)
    if not hlf:
        return flat
    features = np.random.default_rng(5).normal(size=(len(particles), len(HLF_NAMES))).astype(np.float32)
    return np.concatenate([flat, features], axis=1)


def _reordered(particles: np.ndarray) -> np.ndarray:
    """Each jet's particles in another order, its padding spread among its real particles."""
    order = np.argsort(np.random.default_rng(2).random(particles.shape[:2]), axis=1)
    return np.take_along_axis(particles, order[..., None], axis=1)


@pytest.fixture(scope="module")
def untrained(request: pytest.FixtureRequest) -> tuple[ModelConfig, Any, Any]:
    """(config, student, HGQ proxy) of an untrained student with ``request.param`` = (pooling, hlf),
    built once per module: a proxy takes seconds of TensorFlow tracing, and the tests only read it
    (and the conftest keeps a module's tests with a module fixture on one pytest-xdist worker)."""
    from fpgakd.jets.preprocessing import student_input_width
    from fpgakd.learn.hgq_students import hgq_proxy
    from fpgakd.learn.students import build_student

    pooling, hlf = request.param
    cfg = _cfg(pooling=pooling, inputs={"hlf": hlf})
    model = build_student(cfg, student_input_width(cfg.inputs), 5)
    proxy, _ = hgq_proxy(model, _flat(padded_jets(N_JETS, N_PARTICLES), hlf))
    return cfg, model, proxy


@pytest.mark.parametrize("untrained", [("max", False), ("mean", True),
                                       pytest.param(("max", True), marks=pytest.mark.slow),
                                       pytest.param(("mean", False), marks=pytest.mark.slow)],
                         indirect=True, ids=["max-False", "mean-True", "max-True", "mean-False"])
def test_the_student_its_proxy_and_the_replica_ignore_particle_order_and_padding(
        untrained: tuple[ModelConfig, Any, Any]) -> None:
    import tensorflow as tf

    from fpgakd.firmware.rtl.hgq_proxy import extract_proxy, proxy_input_codes, proxy_reference
    from fpgakd.learn.deepsets_students import POOL_LAYER

    cfg, model, proxy = untrained
    pooling, hlf = cfg.pooling, cfg.inputs.hlf
    particles = padded_jets(N_JETS, N_PARTICLES)
    x, x_reordered = _flat(particles, hlf), _flat(_reordered(particles), hlf)
    assert x.shape[1] == model.input_shape[1]
    np.testing.assert_array_equal(model(x, training=False).numpy(), model(x_reordered, training=False).numpy())

    logits = proxy(x, training=False).numpy()
    np.testing.assert_array_equal(logits, proxy(x_reordered, training=False).numpy())
    assert len(np.unique(logits, axis=0)) > N_JETS // 2, "the jets must give different logits"
    per_particle = tf.keras.Model(proxy.input, proxy.get_layer(POOL_LAYER).input)(x).numpy()
    assert np.all(per_particle[particles[..., -1] == 0] == 0), "a padded particle must output exact zeros"

    spec = extract_proxy(proxy)
    assert (spec.n_particles, spec.pooling, spec.n_hlf) == (N_PARTICLES, pooling, len(HLF_NAMES) * hlf)
    assert [kind for kind, _ in spec.particle_steps].count("dense") == len(cfg.particle_hidden)
    reference = proxy_reference(spec, proxy_input_codes(proxy, spec, x))
    np.testing.assert_array_equal(reference, logits.astype(np.float64))
    np.testing.assert_array_equal(reference, proxy_reference(spec, proxy_input_codes(proxy, spec, x_reordered)))


@pytest.mark.parametrize("untrained", [("mean", True)], indirect=True, ids=["mean-True"])
def test_the_widths_are_shared_by_every_particle_slot(untrained: tuple[ModelConfig, Any, Any]) -> None:
    from fpgakd.firmware.rtl.hgq_proxy import extract_proxy

    _, _, proxy = untrained
    spec = extract_proxy(proxy)
    quantizers = [spec.input_quantizer] + [obj for kind, obj in spec.particle_steps if kind == "quantize"]
    for q in quantizers:
        per_slot = q.bits[:(spec.n_in - spec.n_hlf) if q is spec.input_quantizer else None].reshape(N_PARTICLES, -1)
        assert np.all(per_slot == per_slot[0]), q.name


def test_the_floors_hold_the_inputs_and_every_hidden_layer_but_not_the_output() -> None:
    from fpgakd.jets.preprocessing import student_input_width
    from fpgakd.learn.students import build_student

    floors = {"kind": "hgq", "input_min_frac_bits": 5, "hidden_min_frac_bits": 3}
    cfg = _cfg(inputs={"hlf": True}, quantization=floors)
    model = build_student(cfg, student_input_width(cfg.inputs), 5)
    lowest = {layer.name: layer.paq.bw_clip[0] for layer in model.layers if hasattr(layer, "paq")}
    assert {name: low for name, low in lowest.items() if low >= 0} == {
        "input_quant": 5, "hlf_quant": 5, "phi1": 3, "phi2": 3, "fc1": 3}, lowest


def test_a_proxy_joining_the_features_before_the_particles_is_refused(monkeypatch) -> None:
    """The RTL puts the pooled particles first: a join in the other order is named, not traced."""
    import HGQ

    from fpgakd.errors import ConfigError
    from fpgakd.firmware.rtl.hgq_proxy import extract_proxy
    from fpgakd.jets.preprocessing import student_input_width
    from fpgakd.learn.hgq_students import hgq_proxy
    from fpgakd.learn.students import build_student

    join = HGQ.layers.PConcatenate

    def features_first(*args, **kwargs):
        layer = join(*args, **kwargs)
        return lambda inputs: layer(inputs[::-1])

    monkeypatch.setattr(HGQ.layers, "PConcatenate", features_first)
    cfg = _cfg(inputs={"hlf": True})
    proxy, _ = hgq_proxy(build_student(cfg, student_input_width(cfg.inputs), 5),
                         _flat(padded_jets(N_JETS, N_PARTICLES), True))
    with pytest.raises(ConfigError, match=r"layer 'join' \(Concatenate\) .* joins \['hlf_quant', 'pooled'\]"):
        extract_proxy(proxy)


def test_an_hgq_interaction_student_is_refused_naming_the_key(tmp_path) -> None:
    message = one_line_config_error(tmp_path / "bad.yaml", """
name: bad
inputs: {type: particle_set, n_constituents: 8, constituent_features: [deta, dphi, log_pt_frac]}
particle_hidden: [8]
interaction: 8
hidden: [8]
quantization: {kind: hgq, beta: 1.0e-6}
""")
    assert "'quantization.kind'" in message and "interaction" in message


# ------------------------------------------------------------------ firmware (slow)
#: the firmware student's starting widths: narrow, so that Yosys has a small design to map
#: (at 4-bit weights and 6-bit activations it was 20,000 LUT and 43 s of Yosys)
FIRMWARE_QUANTIZATION = {"kind": "hgq", "beta": 1e-6, "weight_init_bits": 2, "activation_init_bits": 3}
# one distilled student for the firmware checks, with the harder pooling for hls4ml's types (a
# mean: its accumulator must hold the sum exactly; a max only compares) and the features joined
@pytest.fixture(scope="module")
def hgq_deepsets_run(jets_16, teacher_16, tmp_path_factory):
    """A tiny HGQ Deep Sets student of 16 particles, mean pooling, the features at its head, distilled."""
    return distilled_particle_run(_cfg(16, pooling="mean", inputs={"hlf": True}, quantization=FIRMWARE_QUANTIZATION),
                                  jets_16, teacher_16, tmp_path_factory.mktemp("hgq_deepsets_run"))


@pytest.mark.slow
def test_a_distilled_hgq_deep_sets_student_is_bit_exact_in_csim_and_verilator(hgq_deepsets_run, rtl_tools,
                                                                              tmp_path) -> None:
    assert_csim_bit_exact_with_short_jets(hgq_deepsets_run, tmp_path / "hls", n_hlf=len(HLF_NAMES))
    assert_rtl_bit_exact(hgq_deepsets_run, tmp_path / "rtl")
