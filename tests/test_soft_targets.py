"""Tests of fpgakd.learn.soft_targets and fpgakd.learn.assistant: ensembles of teachers and a
distill run directory as a teacher (teacher assistant)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fpgakd.config import ModelConfig, config_from_dict
from fpgakd.errors import DataError
from helpers.jets import write_synthetic_jets


@pytest.fixture(scope="module")
def jets(tmp_path_factory) -> Path:
    return write_synthetic_jets(tmp_path_factory.mktemp("jets") / "jets.h5", n_per_class=40)


def _user_teacher(path: Path, seed: int, softmax: bool) -> Path:
    """A Keras model file on the raw constituents (16, 11): a stand-in teacher that needs no training."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    x_in = tf.keras.Input((16, 11))
    h = tf.keras.layers.GlobalAveragePooling1D()(x_in)
    out = tf.keras.layers.Dense(5, activation="softmax" if softmax else None,
                                kernel_initializer=tf.keras.initializers.RandomNormal(stddev=0.05))(h)
    tf.keras.Model(x_in, out).save(path, save_format="h5")
    if not softmax:
        path.with_suffix(".json").write_text(json.dumps({"class_names": ["g", "q", "W", "Z", "t"]}))
    return path


@pytest.fixture(scope="module")
def members(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("members")
    return [_user_teacher(d / "a.h5", 1, softmax=False), _user_teacher(d / "b.h5", 2, softmax=True)]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_ensemble_is_the_mean_of_its_members(jets, members, tmp_path):
    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.soft_targets import ensemble_logits
    from fpgakd.learn.teacher import teacher_logits

    ds = load_jets(jets)
    each = [teacher_logits(m, ds, cache_dir=tmp_path, progress=False) for m in members]
    assert not np.allclose(each[0], each[1], atol=1e-3)
    z = ensemble_logits(members, ds, cache_dir=tmp_path, progress=False)
    np.testing.assert_allclose(z, (each[0] + each[1]) / 2, atol=1e-6)
    # cached: the ensemble has its own entry next to the members'
    assert len(list(tmp_path.glob("soft_targets_*.h5"))) == 3
    np.testing.assert_array_equal(ensemble_logits(members, ds, cache_dir=tmp_path, progress=False), z)
    p = ensemble_logits(members, ds, cache_dir=tmp_path, mean="probabilities", progress=False)
    np.testing.assert_allclose(_softmax(p), (_softmax(each[0]) + _softmax(each[1])) / 2, atol=1e-6)
    assert len(list(tmp_path.glob("soft_targets_*.h5"))) == 4


def _student_cfg(name: str, hidden: list[int], **over) -> ModelConfig:
    base = {"name": name, "hidden": hidden,
            "inputs": {"type": "hybrid", "n_constituents": 4, "constituent_features": ["deta", "dphi"]},
            "training": {"epochs": 3, "batch_size": 64, "patience": 2},
            "pruning": {"enabled": False}}
    return config_from_dict(ModelConfig, {**base, **over}, "test")


def _hand_built_run(run: Path, ds, cfg: ModelConfig):
    """A run directory as ``fpgakd distill`` writes it, with an untrained student."""
    from fpgakd.config import dump_config
    from fpgakd.jets.preprocessing import Standardizer, student_inputs
    from fpgakd.learn.students import build_student, save_student

    x, names = student_inputs(ds, cfg.inputs)
    model = build_student(cfg, x.shape[1], 5)
    run.mkdir()
    save_student(model, run / "student_kd.h5")
    scaler = Standardizer().fit(x[: len(x) // 2], names)
    scaler.save(run / "standardization.json")
    dump_config(cfg, run / "config.yaml")
    (run / "metrics.json").write_text(json.dumps({"data": {"class_names": list(ds.class_names),
                                                           "fingerprint": ds.fingerprint()}}))
    return model, (x - scaler.mean_) / scaler.scale_


def test_student_run_as_teacher_gives_the_students_logits(jets, tmp_path):
    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.soft_targets import ensemble_logits, load_teacher_source

    ds = load_jets(jets)
    model, xs = _hand_built_run(tmp_path / "medium", ds, _student_cfg("medium", [16]))
    want = model.predict(xs.astype(np.float32), verbose=0)
    got = ensemble_logits([tmp_path / "medium"], ds, cache_dir=tmp_path / "cache", progress=False)
    np.testing.assert_allclose(got, want, atol=1e-5)
    spec = load_teacher_source(tmp_path / "medium")
    assert spec.meta["kind"] == "student_run" and spec.meta["arch"] == "student:medium"
    regressor = _student_cfg("reg", [8], task="regressor")
    (tmp_path / "reg").mkdir()
    for name in ("student_kd.h5", "standardization.json"):
        (tmp_path / "reg" / name).write_bytes((tmp_path / "medium" / name).read_bytes())
    from fpgakd.config import dump_config
    dump_config(regressor, tmp_path / "reg" / "config.yaml")
    with pytest.raises(DataError, match=r"reg: student 'reg' is a regressor"):
        load_teacher_source(tmp_path / "reg")


@pytest.mark.slow
def test_ensemble_then_assistant_chain_through_distill(jets, members, tmp_path):
    from fpgakd.learn.distillation import distill

    medium = distill(_student_cfg("medium", [16, 8]), jets, tmp_path / "medium", teacher_path=members,
                     compare_scratch=False, cache_dir=tmp_path / "cache", progress=False)
    assert medium["teacher"]["n_models"] == 2 and len(medium["teacher"]["arch"]) == 2
    small = distill(_student_cfg("small", [4]), jets, tmp_path / "small", teacher_path=tmp_path / "medium",
                    compare_scratch=False, cache_dir=tmp_path / "cache", progress=False)
    # the assistant's soft targets are the medium student itself: same test accuracy
    assert small["teacher"]["arch"] == "student:medium"
    assert small["teacher"]["accuracy"] == pytest.approx(medium["kd"]["accuracy"])
