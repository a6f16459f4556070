"""Tests of fpgakd.learn.distillation: the KD loss, pruning, quantization grid, end-to-end outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fpgakd.errors import ConfigError, DataError
from helpers.jets import tiny_student_config as _cfg, train_tiny_teacher, write_synthetic_jets


def _np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_kd_loss_matches_hand_computation():
    from fpgakd.learn.losses import kd_loss

    y = np.array([0, 2])
    t = np.array([[2.0, 1.0, 0.0], [0.5, 0.0, 1.5]])
    s = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    temperature, alpha = 3.0, 0.25
    q = _np_softmax(s)
    ce = -np.log(q[np.arange(2), y])
    p_t, q_t = _np_softmax(t / temperature), _np_softmax(s / temperature)
    kl = np.sum(p_t * np.log(p_t / q_t), axis=1)
    want = np.mean(alpha * ce + (1 - alpha) * temperature ** 2 * kl)
    assert float(kd_loss(y, t, s, temperature=temperature, alpha=alpha)) == pytest.approx(want, rel=1e-5)
    # one-hot labels give the same value
    onehot = np.eye(3)[y]
    assert float(kd_loss(onehot, t, s, temperature=temperature, alpha=alpha)) == pytest.approx(want, rel=1e-5)


def test_kd_loss_at_alpha_one_is_cross_entropy():
    import tensorflow as tf

    from fpgakd.learn.losses import kd_loss

    rng = np.random.default_rng(3)
    s, t = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    y = rng.integers(0, 5, size=7)
    ce = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, s)
    assert float(kd_loss(y, t, s, temperature=4.0, alpha=1.0)) == pytest.approx(float(ce), rel=1e-5)
    # and the KD term vanishes when student equals teacher
    assert float(kd_loss(y, s, s, temperature=2.0, alpha=0.0)) == pytest.approx(0.0, abs=1e-6)


def test_regression_loss():
    from fpgakd.learn.losses import regression_kd_loss

    z = np.array([[0.0], [2.0]])
    p = np.array([[0.3], [0.5]])
    sig = 1 / (1 + np.exp(-z[:, 0]))
    assert float(regression_kd_loss(p, z)) == pytest.approx(np.mean(np.abs(sig - p[:, 0])), rel=1e-5)
    assert float(regression_kd_loss(p, z, kind="mse")) == pytest.approx(np.mean((sig - p[:, 0]) ** 2), rel=1e-5)
    bce = -(p[:, 0] * np.log(sig) + (1 - p[:, 0]) * np.log(1 - sig))
    assert float(regression_kd_loss(p, z, kind="bce")) == pytest.approx(np.mean(bce), rel=1e-5)
    with pytest.raises(ConfigError, match="regression_loss"):
        regression_kd_loss(p, z, kind="huber")


def test_regression_loss_weighted_by_row():
    from fpgakd.learn.losses import regression_kd_loss

    z = np.array([[0.0], [2.0], [-1.0]])
    p = np.array([[0.3], [0.5], [0.0]])
    w = np.array([1.0, 3.0, 0.0])
    error = np.abs(1 / (1 + np.exp(-z[:, 0])) - p[:, 0])
    assert float(regression_kd_loss(p, z, weight=w)) == pytest.approx((w * error).sum() / w.sum(), rel=1e-5)
    # equal weights give the plain mean
    assert float(regression_kd_loss(p, z, weight=np.full(3, 2.0))) == pytest.approx(error.mean(), rel=1e-5)


def test_particle_weighting_only_for_particle_students(tmp_path):
    from fpgakd.config import load_model_config

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndistillation: {particle_weighting: pt}\n")
    with pytest.raises(ConfigError, match="bad.yaml.*distillation.particle_weighting"):
        load_model_config(str(bad))
    bad.write_text("name: bad\ntask: particle_weight\ninputs: {type: particles}\n"
                   "distillation: {particle_weighting: energy}\n")
    with pytest.raises(ConfigError, match="particle_weighting"):
        load_model_config(str(bad))


def test_pruning_schedule_lands_on_frequency_grid():
    from fpgakd.learn.training import pruning_schedule_steps

    steps = pruning_schedule_steps(_cfg(pruning={"frequency_steps": 7}), steps_per_epoch=13)
    assert (steps["end_step"] - steps["begin_step"]) % steps["frequency"] == 0
    assert steps["end_step"] <= 6 * 13


@pytest.mark.slow
def test_pruning_reaches_target_and_weights_on_8bit_grid(tmp_path):
    from fpgakd.learn.training import train_student
    from fpgakd.learn.students import weight_sparsity

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 24)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0)
    y = np.concatenate([np.eye(4, dtype=np.float32)[labels], np.zeros((600, 4), np.float32)], axis=1)
    cfg = _cfg()
    model, hist, steps = train_student(cfg, "scratch", x, y, np.arange(400), np.arange(400, 600), 4,
                                       tmp_path / "ckpt", progress=False)
    sparsity = weight_sparsity(model)
    assert set(sparsity) == {"fc1", "fc2", "output"}
    assert all(s >= 0.75 for s in sparsity.values()), sparsity
    assert len(hist["loss"]) >= 1 and "val_accuracy" in hist
    step = 2.0 ** -(cfg.quantization.weight_bits - 1 - cfg.quantization.weight_integer)
    for name in sparsity:
        layer = model.get_layer(name)
        for var, quantizer in ((layer.kernel, layer.kernel_quantizer_internal),
                               (layer.bias, layer.bias_quantizer_internal)):
            q = np.asarray(quantizer(var.numpy()))
            np.testing.assert_allclose(q / step, np.round(q / step), atol=1e-6)
            assert q.min() >= -1.0 and q.max() <= 1.0 - step


@pytest.mark.slow
def test_distill_end_to_end_writes_all_outputs(jets_16, teacher_16, tmp_path):
    from fpgakd.learn.distillation import distill
    from fpgakd.learn.metrics import format_summary_table
    from fpgakd.learn.students import load_student

    jets, teacher = jets_16, teacher_16
    run = tmp_path / "run"
    metrics = distill(_cfg(), jets, run, teacher_path=teacher, progress=False)
    for name in ("student_kd.h5", "student_scratch.h5", "config.yaml", "standardization.json",
                 "test_inputs.npy", "test_labels.npy", "metrics.json", "roc.png",
                 "training_curves.png"):
        assert (run / name).is_file(), name
    assert not (run / "checkpoints").exists()
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["kd"]["accuracy"] == pytest.approx(metrics["kd"]["accuracy"])
    for kind in ("kd", "scratch"):
        assert all(s >= 0.75 for s in saved[kind]["sparsity"].values())
        assert set(saved[kind]["rejection"]) == {"W", "Z", "t"}
        assert saved[kind]["bits"]["weight"] == 8
    assert 0.0 <= saved["teacher"]["accuracy"] <= 1.0
    x_test = np.load(run / "test_inputs.npy")
    assert x_test.dtype == np.float32 and x_test.shape == (80, 24)
    model = load_student(run / "student_kd.h5")
    logits = model.predict(x_test, verbose=0)
    acc = np.mean(logits.argmax(1) == np.load(run / "test_labels.npy"))
    assert acc == pytest.approx(saved["kd"]["accuracy"])
    table = format_summary_table(saved)
    assert "KD student" in table and "scratch student" in table and "sparsity fc1" in table


@pytest.mark.slow
def test_a_student_trained_on_a_fraction_fits_and_records_only_those_jets(jets_60, teacher_60, tmp_path):
    from fpgakd.jets.loading import load_jets
    from fpgakd.jets.preprocessing import split_indices, student_inputs, subsample_stratified
    from fpgakd.learn import rundir
    from fpgakd.learn.distillation import distill
    from fpgakd.learn.students import load_student

    cfg = _cfg(training={"epochs": 2, "train_fraction": 0.5, "seed": 3})
    run = tmp_path / "run"
    metrics = distill(cfg, jets_60, run, teacher_path=teacher_60, progress=False)
    dataset = load_jets(jets_60)
    labels = np.asarray(dataset.labels)
    train, val, test = split_indices(len(labels), seed=0, labels=labels)
    used = subsample_stratified(train, labels, 0.5, seed=3)
    assert metrics["data"]["n_train"] == len(used) == len(train) // 2
    assert metrics["data"]["n_val"] == len(val) and metrics["data"]["n_test"] == len(test)
    x, names = student_inputs(dataset, cfg.inputs)
    xs = rundir.read_run_standardizer(run).transform(x, names)
    # the scaling was fitted on the jets trained on, not on the whole training split
    assert np.abs(xs[used].mean(axis=0)).max() < 1e-4 < np.abs(xs[train].mean(axis=0)).max()
    for mode in ("kd", "scratch"):
        z = load_student(run / f"student_{mode}.h5").predict(xs, verbose=0)
        assert metrics[mode]["train_accuracy"] == pytest.approx(np.mean(z[used].argmax(1) == labels[used]))
    assert 0.0 <= metrics["teacher"]["train_accuracy"] <= 1.0
    assert rundir.read_run_config(run).training.train_fraction == 0.5


@pytest.mark.slow
def test_regressor_and_resume(jets_60, tmp_path):
    from fpgakd.learn.distillation import distill

    # a teacher of its own (one fold, width 8): the shared teacher_60 ranks top jets below chance
    jets = jets_60
    teacher = train_tiny_teacher(jets, tmp_path / "teacher", n_constituents=16, width=8, epochs=2, n_folds=1)
    cfg = _cfg(task="regressor", signal_class="t", inputs={"type": "hlf"}, hidden=[8],
               training={"epochs": 4})
    run = tmp_path / "run"
    # a leftover checkpoint of another config is discarded, not resumed
    (run / "checkpoints" / "kd_0000").mkdir(parents=True)
    metrics = distill(cfg, jets, run, teacher_path=teacher, progress=False)
    assert not (run / "checkpoints").exists()
    assert 0.0 <= metrics["kd"]["auc"] <= 1.0 and "eff50" in metrics["kd"]["rejection"]
    assert metrics["teacher"]["auc"] > 0.5
    assert "auc" in metrics["kd_gain"]
    assert all(0.0 <= metrics[m]["train_auc"] <= 1.0 for m in ("kd", "scratch", "teacher"))


def test_mismatches_give_clear_errors(tmp_path):
    from fpgakd.learn.distillation import distill

    jets = write_synthetic_jets(tmp_path / "jets.h5", n_per_class=5, n_particles=8)
    with pytest.raises(ConfigError, match=r"signal_class.*'H'.*\['g', 'q', 'W', 'Z', 't'\]"):
        distill(_cfg(task="regressor", signal_class="H"), jets, tmp_path / "r", teacher_path=jets,
                progress=False)
    with pytest.raises(DataError, match="teacher not found"):
        distill(_cfg(), jets, tmp_path / "r", teacher_path=tmp_path / "nope", progress=False)
    for modes in ((), ("kd", "kd"), ("teacher",)):
        with pytest.raises(ConfigError, match=r"modes: got .*allowed: a non-empty selection of \['kd', 'scratch'\]"):
            distill(_cfg(), jets, tmp_path / "r", modes=modes, progress=False)
    assert not (tmp_path / "r").exists()
