"""Interaction students (JEDI-linear shape, ``interaction: P``): permutation invariance,
padding, the masked update, config errors, the integer replica, and the firmware: C-simulation
and RTL bit-exact on a tiny distilled student with jets shorter than N."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fpgakd.config import ModelConfig
from fpgakd.errors import ConfigError
from helpers.config_errors import changed_model_config_error
from helpers.jets import tiny_student_config, write_synthetic_jets
from helpers.particle_sets import (N_PER_PARTICLE, assert_csim_bit_exact_with_short_jets, assert_rtl_bit_exact,
                                   distilled_particle_run, padded_jets, random_particle_student)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def _jedi_cfg(**over) -> ModelConfig:
    inputs = {"type": "particle_set", "n_constituents": 8, **over.pop("inputs", {})}
    base = {"inputs": inputs, "particle_hidden": [16], "interaction": 8, "pooling": "max", "hidden": [8]}
    return tiny_student_config(**{**base, **over})


def _logits(model, x: np.ndarray) -> np.ndarray:
    return model(x.reshape(len(x), -1), training=False).numpy()


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_keras_student_is_invariant_to_particle_order(pooling):
    model = random_particle_student(_jedi_cfg(pooling=pooling))
    x = padded_jets(64, 8)
    perm = np.random.default_rng(1).permutation(8)
    a = _logits(model, x)
    np.testing.assert_array_equal(a, _logits(model, x[:, perm]))
    assert np.ptp(a, axis=0).min() > 0   # the jets do give different logits


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_padded_particles_change_nothing_and_their_update_is_masked(pooling):
    """Real particles first, or spread among the padding: the same logits; and the update of a
    padded particle, relu(W2 a + b) before the mask, is exactly zero after it."""
    import tensorflow as tf

    model = random_particle_student(_jedi_cfg(pooling=pooling))
    x = padded_jets(64, 8)
    order = np.argsort(-x[..., -1] + np.random.default_rng(2).random((64, 8)), axis=1)[:, ::-1]
    shuffled = np.take_along_axis(x, order[..., None], axis=1)
    np.testing.assert_array_equal(_logits(model, x), _logits(model, shuffled))

    probe = tf.keras.Model(model.input, [model.get_layer("update_relu").output,
                                         model.get_layer("update_masked").output])
    before, after = (t.numpy() for t in probe(x.reshape(64, -1), training=False))
    padded, real = x[..., -1] == 0, x[..., -1] == 1
    assert np.any(before[padded] != 0)        # the mask is needed ...
    assert np.all(after[padded] == 0)         # ... and does its job
    np.testing.assert_array_equal(after[real], before[real])


def test_the_update_sees_the_other_particles():
    """Changing one particle changes another particle's update (Deep Sets' phi would not)."""
    import tensorflow as tf

    model = random_particle_student(_jedi_cfg())
    x = padded_jets(16, 8)[8:]             # jets with at least one real particle besides the first
    y = x.copy()
    y[:, 0, :3] += 1.0
    probe = tf.keras.Model(model.input, model.get_layer("update_masked").output)
    a, b = (probe(v.reshape(len(v), -1), training=False).numpy() for v in (x, y))
    assert np.any(a[:, 1:] != b[:, 1:])


def test_the_mask_selector_is_neither_trained_nor_pruned():
    from fpgakd.learn.training import _prune

    cfg = _jedi_cfg()
    model = random_particle_student(cfg)
    mask = model.get_layer("mask")
    assert not mask.trainable and mask.kernel.name not in {w.name for w in model.trainable_weights}
    pruned = _prune(model, cfg, {"begin_step": 0, "end_step": 10, "frequency": 1})
    wrapped = {layer.name for layer in pruned.layers if type(layer).__name__ == "PruneLowMagnitude"}
    assert "prune_low_magnitude_mask" not in wrapped and "prune_low_magnitude_update_particle" in wrapped


def test_a_saved_student_loads_with_its_mask_selector(tmp_path):
    from fpgakd.learn.students import load_student, save_student

    model = random_particle_student(_jedi_cfg())
    save_student(model, tmp_path / "student.h5")
    loaded = load_student(tmp_path / "student.h5")
    np.testing.assert_array_equal(loaded.get_layer("mask").kernel.numpy()[-1], 1.0)
    x = padded_jets(32, 8)
    np.testing.assert_array_equal(_logits(loaded, x), _logits(model, x))


def test_inputs_carry_a_mask_and_too_many_particles_name_the_key(tmp_path):
    from fpgakd.jets.loading import load_jets
    from fpgakd.jets.preprocessing import student_inputs

    ds = load_jets(write_synthetic_jets(tmp_path / "jets.h5", n_per_class=4, n_particles=8))
    x, names = student_inputs(ds, _jedi_cfg().inputs)
    assert x.shape == (20, 8 * N_PER_PARTICLE) and names[3] == "p0_mask"
    with pytest.raises(ConfigError, match=r"^inputs\.n_constituents: 16 particles, but .*jets\.h5 stores 8 per jet$"):
        student_inputs(ds, _jedi_cfg(inputs={"n_constituents": 16}).inputs)
    with pytest.raises(ConfigError, match=r"^inputs\.constituent_features: unknown feature 'charge'"):
        student_inputs(ds, _jedi_cfg(inputs={"constituent_features": ["deta", "charge"]}).inputs)


@pytest.mark.parametrize("change, key", [
    ({"pooling": "sum"}, "pooling"),
    ({"interaction": -1}, "interaction"),
    ({"interaction": 2.5}, "interaction"),
    ({"pooling": "mean", "inputs": {"n_constituents": 12}}, "inputs.n_constituents"),
    ({"inputs": {"type": "constituents"}, "particle_hidden": []}, "interaction"),
    ({"quantization": {"enabled": False}}, "interaction"),
])
def test_bad_interaction_config_names_file_and_key(tmp_path, change, key):
    assert f"'{key}'" in changed_model_config_error(tmp_path / "bad.yaml", "jedi_linear_16", change)


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_integer_replica_is_keras_and_invariant_to_particle_order(pooling):
    from fpgakd.firmware.rtl.student import extract_student, quantize_inputs, reference_forward

    model = random_particle_student(_jedi_cfg(pooling=pooling))
    spec = extract_student(model)
    assert (spec.n_particles, spec.n_particle_layers, spec.pooling) == (8, 1, pooling)
    assert spec.update.mask_column == 3 and spec.update.relu == (8, 5)
    x = padded_jets(200, 8)
    x[:20, :, -1] = np.random.default_rng(4).normal(0, 2, (20, 8))   # masks that are not 0/1 round alike
    perm = np.random.default_rng(3).permutation(8)
    ref = reference_forward(spec, quantize_inputs(model, spec, x.reshape(200, -1)))
    ref_perm = reference_forward(spec, quantize_inputs(model, spec, x[:, perm].reshape(200, -1)))
    np.testing.assert_array_equal(ref, ref_perm)
    np.testing.assert_array_equal(ref * 2.0 ** -spec.out_f, _logits(model, x))


def test_rtl_refuses_a_mask_selector_that_was_changed():
    from fpgakd.firmware.rtl.student import extract_student

    model = random_particle_student(_jedi_cfg())
    kernel = model.get_layer("mask").kernel
    kernel.assign(np.where(np.arange(kernel.shape[1]) == 2, 0.0, kernel.numpy()).astype(np.float32))
    with pytest.raises(ConfigError, match=r"layer 'mask' .*fixed mask selector"):
        extract_student(model)


# ------------------------------------------------------------------ firmware (slow)
@pytest.fixture(scope="module")
def jedi_run(jets_16, teacher_16, tmp_path_factory):
    """A tiny interaction student of 16 particles distilled on ``jets_16`` (16 slots, many jets fewer)."""
    # narrow (a 16-wide particle network here is a design Yosys needs a minute for)
    return distilled_particle_run(_jedi_cfg(inputs={"n_constituents": 16}, particle_hidden=[8], interaction=4),
                                  jets_16, teacher_16, tmp_path_factory.mktemp("jedi_run"), scratch=True)


@pytest.mark.slow
def test_distilled_student_is_bit_exact_in_csim_with_short_jets(jedi_run, tmp_path):
    metrics = json.loads((jedi_run / "metrics.json").read_text())
    assert metrics["scratch"]["accuracy"] > 0
    assert_csim_bit_exact_with_short_jets(jedi_run, tmp_path / "hls")


@pytest.mark.slow
def test_distilled_student_is_bit_exact_in_verilator(jedi_run, rtl_tools, tmp_path):
    assert_rtl_bit_exact(jedi_run, tmp_path / "rtl")
