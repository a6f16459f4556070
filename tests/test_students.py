"""QKeras students built from the YAML definitions under models/."""

from pathlib import Path

import numpy as np
import pytest

from fpgakd.config import config_from_dict, ModelConfig, load_model_config, repo_dir
from fpgakd.errors import DataError
from fpgakd.jets.preprocessing import student_input_width
from fpgakd.learn.students import (BATCH_NORM_LAYER, OUTPUT_LAYER, build_student, count_parameters, load_student,
                             save_student, weight_sparsity)

MODEL_NAMES = sorted(p.stem for p in (repo_dir() / "models").glob("*.yaml"))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_student_layers_follow_the_yaml(name: str) -> None:
    import tensorflow as tf

    cfg = load_model_config(name)
    n_out = 5 if cfg.task == "classifier" else 1
    model = build_student(cfg, student_input_width(cfg.inputs), n_out)
    # trained layers only: an interaction student's fixed mask selector is not one
    dense = [layer for layer in model.layers if hasattr(layer, "kernel") and layer.trainable]
    update = [cfg.interaction] * 2 if cfg.interaction else []
    assert [layer.units for layer in dense] == [*cfg.particle_hidden, *update, *cfg.hidden, n_out]
    assert dense[-1].name == OUTPUT_LAYER
    # the logit stays linear: firmware appends the sigmoid table (output: sigmoid)
    assert dense[-1].activation is tf.keras.activations.linear
    assert (model.layers[-2].name == BATCH_NORM_LAYER) == cfg.batch_norm
    q = cfg.quantization
    if not q.enabled:
        assert not any(hasattr(layer, "kernel_quantizer_internal") for layer in model.layers)
        return
    if q.kind == "hgq":   # HGQ layers and their widths: tests/test_hgq.py
        assert all(type(layer).__name__ == "HDense" for layer in dense)
        return
    assert model.layers[1].quantizer.bits == q.input_bits
    for layer in dense:
        assert layer.kernel_quantizer_internal.bits == q.weight_bits
        assert layer.kernel_quantizer_internal.integer == q.weight_integer


def test_distillnet_and_qdistillnet_are_the_published_shapes() -> None:
    float_net, q_net = load_model_config("distillnet"), load_model_config("qdistillnet")
    assert student_input_width(float_net.inputs) == 16
    assert (float_net.hidden, float_net.batch_norm, float_net.quantization.enabled) == ((128, 64), True, False)
    assert (q_net.hidden, q_net.pruning.target_sparsity, q_net.quantization.weight_bits) == ((64, 32), 0.75, 8)
    assert float_net.output == q_net.output == "sigmoid"


def test_quantized_weights_lie_on_the_grid() -> None:
    cfg = config_from_dict(ModelConfig, {"name": "grid", "hidden": [16],
                                         "quantization": {"weight_bits": 6, "weight_integer": 0}})
    model = build_student(cfg, 4, 3)
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            w = np.asarray(layer.kernel_quantizer_internal(layer.kernel.numpy()))
            steps = w * 2 ** (cfg.quantization.weight_bits - 1)
            np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)
            assert w.min() >= -1 and w.max() < 1


def test_sparsity_and_parameter_counts_see_zeroed_weights(tmp_path: Path) -> None:
    cfg = config_from_dict(ModelConfig, {"name": "tiny", "hidden": [8]})
    model = build_student(cfg, 4, 2)
    kernel = model.get_layer("fc1").kernel
    w = np.full(kernel.shape, 0.5, dtype="float32")
    w[:, :6] = 0.0
    w[0, 6] = 0.001  # below half a step of the 8-bit grid: zero in firmware too
    kernel.assign(w)
    assert weight_sparsity(model)["fc1"] == pytest.approx(25 / 32)
    counts = count_parameters(model)
    assert counts["parameters"] == 4 * 8 + 8 + 8 * 2 + 2
    assert counts["nonzero"] <= counts["parameters"] - 24

    path = save_student(model, tmp_path / "student.h5")
    reloaded = load_student(path)
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), reloaded.predict(x, verbose=0))


def test_loading_a_missing_or_foreign_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="absent.h5: model file not found"):
        load_student(tmp_path / "absent.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(DataError, match="junk.h5: not a loadable"):
        load_student(junk)
