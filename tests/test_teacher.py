"""Tests of fpgakd.learn.teacher: permutation invariance, soft-target cache, mismatch errors."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from fpgakd.config import TeacherConfig
from fpgakd.errors import DataError
from fpgakd.jets.jetfile import CLASS_NAMES
from helpers.jets import write_synthetic_jets


@pytest.fixture
def jets(jets_16) -> Path:
    return jets_16


@pytest.fixture
def teacher(teacher_16) -> Path:
    return teacher_16


_ARCHS = {
    "deepsets": {"arch": "deepsets"},
    "attention": {"arch": "attention"},
    "attention_pairs_hlf": {"arch": "attention", "pair_features": ("ln_m2", "ln_delta"), "global_hlf": True},
    "edgeconv": {"arch": "edgeconv", "edge_k": 3},
    "edgeconv_pairs": {"arch": "edgeconv", "edge_k": 3, "pair_features": ("ln_m2", "ln_delta"),
                       "edge_dynamic": False},
}


@pytest.mark.parametrize("arch", sorted(_ARCHS))
def test_teacher_is_permutation_invariant_and_ignores_padding(arch):
    import tensorflow as tf

    from fpgakd.learn.teacher import build_teacher

    tf.keras.utils.set_random_seed(1)
    model = build_teacher(TeacherConfig(width=8, **_ARCHS[arch]), 6, 3, 5)
    rng = np.random.default_rng(0)
    mask = np.array([[1, 1, 1, 1, 0, 0]] * 4, np.float32)
    inputs = {"constituents": rng.normal(size=(4, 6, 3)),
              "kinematics": np.abs(rng.normal(size=(4, 6, 3))) * [0.3, 0.3, 100.0]}
    inputs = {k: (v * mask[..., None]).astype(np.float32) for k, v in inputs.items()}
    inputs.update(mask=mask, hlf=rng.normal(size=(4, 16)).astype(np.float32))

    def predict(feed):   # eager: a tiny batch, no predict loop to trace
        return model([feed[name] for name in model.input_names], training=False).numpy()

    ref = predict(inputs)
    perm = [2, 0, 3, 1, 4, 5]
    shuffled = {k: v if k == "hlf" else v[:, perm] for k, v in inputs.items()}
    np.testing.assert_allclose(predict(shuffled), ref, atol=1e-5)
    junk = dict(inputs)
    for name in ("constituents", "kinematics"):
        junk[name] = inputs[name].copy()
        junk[name][:, 4:] = 7.0            # padded particles must not matter
    np.testing.assert_allclose(predict(junk), ref, atol=1e-5)
    # and the output does depend on the real particles
    moved = dict(inputs, kinematics=inputs["kinematics"] * [1.0, 2.0, 1.0],
                 constituents=inputs["constituents"] + 0.5 * mask[..., None])
    assert not np.allclose(predict(moved), ref, atol=1e-4)


@pytest.mark.parametrize("arch", sorted(_ARCHS))
def test_every_teacher_has_a_float64_twin_with_its_logits(arch):
    """The soft targets' forward pass: the teacher rebuilt in float64 with its own weights."""
    import types

    import tensorflow as tf

    from fpgakd.config import config_to_dict
    from fpgakd.learn.teacher import SOFT_TARGET_PRECISION, _float64_copy, build_teacher

    tf.keras.utils.set_random_seed(2)
    cfg = TeacherConfig(width=8, **_ARCHS[arch])
    model = build_teacher(cfg, 6, 3, 5)
    twin = _float64_copy(model, types.SimpleNamespace(meta={"config": config_to_dict(cfg)}, source="t"))
    assert twin is not None and twin.dtype == SOFT_TARGET_PRECISION and tf.keras.backend.floatx() == "float32"
    rng = np.random.default_rng(1)
    shapes = {"constituents": (4, 6, 3), "kinematics": (4, 6, 3), "mask": (4, 6), "hlf": (4, 16)}
    feed = [np.abs(rng.normal(size=shapes[name])).astype(np.float32) for name in model.input_names]
    z32 = model(feed, training=False).numpy()
    z64 = twin([x.astype(np.float64) for x in feed], training=False).numpy()
    assert z64.dtype == np.float64
    np.testing.assert_allclose(z64, z32, rtol=1e-4, atol=1e-5)
    # a teacher fpgakd did not build keeps its own precision
    assert _float64_copy(model, types.SimpleNamespace(meta={}, source="t")) is None


_SOFT_TARGETS_SCRIPT = """
import sys
from fpgakd.jets.loading import load_jets
from fpgakd.learn.teacher import teacher_logits
from fpgakd.jets.jetfile import content_hash
z = teacher_logits(sys.argv[1], load_jets(sys.argv[2]), cache_dir=sys.argv[3], progress=False)
print(content_hash(z))
"""


@pytest.mark.slow
def test_soft_targets_are_the_same_bits_under_other_onednn_kernels(teacher_8, jets_8, tmp_path):
    """Capped at AVX instead of fpgakd's AVX2, oneDNN runs other kernels; the soft targets,
    from a float64 forward pass, do not follow them."""
    import os
    import subprocess
    import sys

    hashes = []
    for isa in ("AVX2", "AVX"):
        done = subprocess.run([sys.executable, "-c", _SOFT_TARGETS_SCRIPT, str(teacher_8), str(jets_8),
                               str(tmp_path / isa)], env={**os.environ, "ONEDNN_MAX_CPU_ISA": isa},
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        hashes.append(done.stdout.split()[-1])
    assert hashes[0] == hashes[1]


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["edgeconv_pairs_hlf", "attention_pairs_hlf"])
def test_new_teachers_train_save_and_reload(arch, jets, tmp_path):
    import tensorflow as tf

    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.teacher import (teacher_custom_objects, teacher_extra_inputs, teacher_inputs,
                                      teacher_logits, train_teacher)

    kind = {"arch": arch.split("_")[0], "pair_features": ["ln_m2", "ln_delta"], "global_hlf": True}
    cfg = TeacherConfig(n_constituents=16, width=8, epochs=1, n_folds=1, batch_size=64, edge_k=4, **kind)
    out = train_teacher(jets, tmp_path / "teacher", config=cfg, progress=False)
    meta = json.loads((out / "teacher.json").read_text())
    assert meta["inputs"] == ["constituents", "mask", "kinematics", "hlf"]
    assert len(meta["hlf_standardization"]["mean"]) == 16 and meta["train_seconds"] > 0
    ds = load_jets(jets)
    # what teacher.json records rebuilds the inputs: the reloaded file gives the cached targets
    model = tf.keras.models.load_model(out / "teacher.h5", custom_objects=teacher_custom_objects(),
                                       compile=False)
    x, mask = teacher_inputs(ds, meta["constituent_features"], 16, meta["standardization"])
    feed = {"constituents": x, "mask": mask,
            **teacher_extra_inputs(ds, meta["inputs"], 16, meta["hlf_standardization"])}
    assert abs(float(feed["hlf"][:, -1].mean())) < 0.5      # multiplicity (~20) standardized on train
    want = model.predict([feed[n] for n in model.input_names], verbose=0)
    got = teacher_logits(out, ds, cache_dir=tmp_path / "cache", progress=False)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.slow
def test_train_teacher_writes_directory(teacher):
    meta = json.loads((teacher / "teacher.json").read_text())
    assert meta["models"] == ["teacher_fold0.h5", "teacher_fold1.h5"]
    assert meta["class_names"] == list(CLASS_NAMES)
    assert 0.0 <= meta["test_accuracy"] <= 1.0
    folds = np.load(teacher / "folds.npy")
    assert set(np.unique(folds)) == {-1, 0, 1}
    assert (folds == -1).sum() == meta["n_val"] + meta["n_test"]


@pytest.mark.slow
def test_fold_models_trained_in_worker_processes_match_those_trained_here(jets, tmp_path):
    from fpgakd.learn.teacher import train_teacher

    cfg = TeacherConfig(n_constituents=16, width=8, epochs=2, n_folds=2, batch_size=64)
    here = train_teacher(jets, tmp_path / "here", config=cfg, progress=False, workers=1)
    there = train_teacher(jets, tmp_path / "there", config=cfg, progress=False, workers=2)
    meta_here, meta_there = (json.loads((d / "teacher.json").read_text()) for d in (here, there))
    assert meta_there["identity"] == meta_here["identity"]
    for name in meta_here["models"]:
        with h5py.File(here / name) as a, h5py.File(there / name) as b:
            kernels = [k for k in _weight_paths(a) if "kernel" in k]
            assert kernels
            for k in kernels:
                np.testing.assert_array_equal(a[k][()], b[k][()], err_msg=f"{name}: {k}")


def _weight_paths(f: h5py.File) -> list[str]:
    paths: list[str] = []
    f["model_weights"].visititems(lambda name, obj: paths.append("model_weights/" + name)
                                  if isinstance(obj, h5py.Dataset) else None)
    return paths


@pytest.mark.slow
def test_soft_targets_cached_and_out_of_fold(teacher, jets, tmp_path):
    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.teacher import teacher_logits

    ds = load_jets(jets)
    z = teacher_logits(teacher, ds, cache_dir=tmp_path, progress=False)
    assert z.shape == (ds.n_jets, 5) and z.dtype == np.float32
    files = list(tmp_path.glob("soft_targets_*.h5"))
    assert len(files) == 1
    with h5py.File(files[0], "r") as fh:
        assert bool(fh.attrs["out_of_fold"])
        np.testing.assert_array_equal(fh["logits"][()], z)
    # the cache serves the same targets; the fold mean (no OOF) differs on training jets
    np.testing.assert_array_equal(teacher_logits(teacher, ds, cache_dir=tmp_path, progress=False), z)
    mean = teacher_logits(teacher, ds, cache_dir=tmp_path, out_of_fold=False, progress=False)
    train = np.load(teacher / "folds.npy") >= 0
    assert not np.allclose(mean[train], z[train])
    np.testing.assert_allclose(mean[~train], z[~train], atol=1e-6)


@pytest.mark.slow
def test_cache_invalidated_when_teacher_file_changes(teacher, jets, tmp_path):
    import shutil

    import tensorflow as tf

    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.teacher import load_teacher, teacher_custom_objects, teacher_logits

    ds = load_jets(jets)
    copy = tmp_path / "teacher"
    shutil.copytree(teacher, copy)
    cache = tmp_path / "cache"
    before = teacher_logits(copy, ds, cache_dir=cache, progress=False)
    key_before = load_teacher(copy).identity
    path = copy / "teacher_fold1.h5"
    model = tf.keras.models.load_model(path, custom_objects=teacher_custom_objects(), compile=False)
    model.get_layer("logits").bias.assign(model.get_layer("logits").bias + 1.0 * np.arange(5))
    model.save(path, include_optimizer=False, save_format="h5")
    assert load_teacher(copy).identity != key_before
    after = teacher_logits(copy, ds, cache_dir=cache, progress=False)
    assert len(list(cache.glob("soft_targets_*.h5"))) == 2
    assert not np.allclose(before, after)


@pytest.mark.slow
def test_class_mismatch_names_both_sides(teacher, tmp_path):
    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.teacher import teacher_logits

    other = write_synthetic_jets(tmp_path / "other.h5", n_per_class=5,
                                 class_names=("g", "q", "W", "Z", "b"))
    with pytest.raises(DataError, match=r"teacher classes .*'t'.* differ from .*other.h5.*'b'"):
        teacher_logits(teacher, load_jets(other), cache_dir=tmp_path, progress=False)


def test_user_model_shape_mismatch(tmp_path, jets):
    import tensorflow as tf

    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.teacher import teacher_logits

    ds = load_jets(jets)
    # raw constituents in: (16, 11); a model built for 9 features and 3 classes fits neither
    x_in = tf.keras.Input((16, 9))
    out = tf.keras.layers.Dense(3, activation="softmax")(tf.keras.layers.GlobalAveragePooling1D()(x_in))
    path = tmp_path / "user.h5"
    tf.keras.Model(x_in, out).save(path, save_format="h5")
    with pytest.raises(DataError, match=r"user.h5: teacher outputs shape \(None, 3\).*5 classes"):
        teacher_logits(path, ds, cache_dir=tmp_path, progress=False)
    out = tf.keras.layers.Dense(5, activation="softmax")(tf.keras.layers.GlobalAveragePooling1D()(x_in))
    tf.keras.Model(x_in, out).save(path, save_format="h5")
    with pytest.raises(DataError, match=r"teacher inputs \[\(None, 16, 9\)\].*\(None, 16, 11\)"):
        teacher_logits(path, ds, cache_dir=tmp_path, progress=False)


def test_user_softmax_model_gives_log_probabilities(tmp_path, jets):
    import tensorflow as tf

    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.metrics import softmax
    from fpgakd.learn.teacher import teacher_logits

    ds = load_jets(jets)
    x_in = tf.keras.Input((16, 11))
    h = tf.keras.layers.GlobalAveragePooling1D()(x_in)
    model = tf.keras.Model(x_in, tf.keras.layers.Dense(5, activation="softmax")(h))
    path = tmp_path / "user.h5"
    model.save(path, save_format="h5")
    z = teacher_logits(path, ds, cache_dir=tmp_path, progress=False)
    p = model.predict(ds.constituents, verbose=0)
    np.testing.assert_allclose(softmax(z), p, atol=1e-5)


def test_missing_feature_is_named(tmp_path, jets):
    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.teacher import teacher_inputs

    with pytest.raises(DataError, match=r"\['charge'\].*not in the file"):
        teacher_inputs(load_jets(jets), ("deta", "charge"), 8)
    with pytest.raises(DataError, match=r"reads 32 constituents.*only 16"):
        teacher_inputs(load_jets(jets), ("deta",), 32)
