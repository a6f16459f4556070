"""Tests of fpgakd.studies.augmented_teacher: the boost-augmented training jets and the alpha-0 students."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from fpgakd.errors import ConfigError
from helpers.jets import tiny_student_config as _cfg, write_synthetic_jets

_SPLIT_SEED = 0


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from fpgakd.jets.loading import load_jets

    return load_jets(write_synthetic_jets(tmp_path_factory.mktemp("aug") / "jets.h5", n_per_class=20, n_particles=8))


def _splits(ds):
    from fpgakd.jets.preprocessing import split_indices

    return split_indices(ds.n_jets, seed=_SPLIT_SEED, labels=ds.labels)


def test_training_jets_are_boosted_and_test_jets_kept(dataset):
    from fpgakd.learn.teacher import teacher_inputs
    from fpgakd.studies.augmented_teacher import augment_training_jets

    augmented, betas = augment_training_jets(dataset, split_seed=_SPLIT_SEED, beta_max=0.6, seed=3)
    train, val, test = _splits(dataset)
    # same labels in the same order: the teacher's split of the new file is the runs' split
    assert all(np.array_equal(a, b) for a, b in zip(_splits(augmented), (train, val, test)))
    fit = np.concatenate([train, val])
    assert np.all(betas[test] == 0) and np.all((betas[fit] > 0) & (betas[fit] < 0.6))
    features = ("deta", "dphi", "log_pt", "pt_frac")
    x_old, _ = teacher_inputs(dataset, features, 8)
    x_new, _ = teacher_inputs(augmented, features, 8)
    assert np.array_equal(x_new[test], x_old[test]) and np.array_equal(augmented.hlf[test], dataset.hlf[test])
    change = np.abs(x_new[fit] - x_old[fit]).reshape(len(fit), -1).max(axis=1)
    assert np.all(change > 0), "every training and validation jet is boosted"
    assert np.all(change[betas[fit] > 0.1] > 1e-2)
    # a boost changes the jet's pT: the rebuilt jet rows show it, the stored test rows do not
    assert not np.allclose(augmented.jets[fit, 0], dataset.jets[fit, 0], rtol=1e-3)
    same, none = augment_training_jets(dataset, split_seed=_SPLIT_SEED, beta_max=0.0, seed=3)
    assert same.fingerprint() == dataset.fingerprint() and not none.any()


def test_augmented_file_is_cached_and_reads_back(dataset, tmp_path, monkeypatch):
    from fpgakd.jets.loading import load_jets
    from fpgakd.studies.augmented_teacher import augment_training_jets, augmented_jets_path

    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    options = {"split_seed": _SPLIT_SEED, "beta_max": 0.4, "seed": 1}
    path = augmented_jets_path(dataset.source, dataset, **options)
    assert path.parent == tmp_path / "cache" and path.name.startswith("boost_augmented_")
    expected, _ = augment_training_jets(dataset, **options)
    assert load_jets(path).fingerprint() == expected.fingerprint() != dataset.fingerprint()
    written = path.stat().st_mtime_ns
    assert augmented_jets_path(dataset.source, dataset, **options) == path and path.stat().st_mtime_ns == written
    other = augmented_jets_path(dataset.source, dataset, **{**options, "seed": 2})
    assert other != path
    assert augmented_jets_path(dataset.source, dataset, **{**options, "beta_max": 0.0}) == Path(dataset.source)


@pytest.mark.slow
def test_alpha0_students_ignore_the_hard_labels(jets_8, teacher_8, tmp_path, monkeypatch):
    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.teacher import teacher_logits
    from fpgakd.studies.augmented_teacher import alpha0_students
    from fpgakd.studies.models import train_students_on

    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    jets, teacher = jets_8, teacher_8
    ds = load_jets(jets)
    train, val, _ = _splits(ds)
    shuffled = dataclasses.replace(ds, labels=np.random.default_rng(0).permutation(ds.labels))
    cfg = _cfg(training={"epochs": 3})          # alpha 0.1 as configured: alpha0_students sets 0
    assert cfg.distillation.alpha > 0

    def weights(data):
        run = alpha0_students(cfg, data, {"a0": teacher}, (train, val))["a0"]
        assert run.config.distillation.alpha == 0 and list(run.models) == ["a0"]
        return run.models["a0"].get_weights()

    first, again = weights(ds), weights(shuffled)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    # the control: with the configured alpha the labels do enter, and shuffling them shows
    soft = teacher_logits(teacher, ds, cache_dir=tmp_path / "soft", out_of_fold=False, progress=False)
    mixed = [train_students_on(cfg, d, soft, (train, val), modes=("kd",)).models["kd"].get_weights()
             for d in (ds, shuffled)]
    assert not all(np.array_equal(a, b) for a, b in zip(*mixed))


def test_robustness_transfer_by_hand():
    from fpgakd.studies.augmented_teacher import (ALPHA0_FROM_AUGMENTED, ALPHA0_FROM_TEACHER, AUGMENTED_TEACHER,
                                                  TEACHER, robustness_transfer)

    def point(beta, accuracies):
        models = (TEACHER, AUGMENTED_TEACHER, f"s {ALPHA0_FROM_TEACHER}", f"s {ALPHA0_FROM_AUGMENTED}")
        return {"beta_max": beta, "scores": {m: {"accuracy": a} for m, a in zip(models, accuracies)}}

    points = [point("file", (0.71, 0.7, 0.6, 0.6)), point(0.0, (0.7, 0.68, 0.6, 0.58)),
              point(0.5, (0.6, 0.66, 0.5, 0.53)), point(0.9, (0.5, 0.6, 0.4, 0.5))]
    t = robustness_transfer(points, "s")
    assert (t["from_beta_max"], t["to_beta_max"]) == (0.0, 0.9)
    assert t["drop"][TEACHER] == pytest.approx(0.2) and t["teacher_gain"] == pytest.approx(0.12)
    assert t["student_gain"] == pytest.approx(0.12) and t["transferred_fraction"] == pytest.approx(1.0)
    worse = robustness_transfer([point(0.0, (0.7, 0.7, 0.6, 0.6)), point(0.9, (0.5, 0.4, 0.4, 0.4))], "s")
    assert worse["teacher_gain"] < 0 and worse["transferred_fraction"] is None


@pytest.mark.parametrize("body, key, allowed", [
    ("augmented_teacher: {enabled: true, beta_max: 1.0}", "'augmented_teacher.beta_max'", "[0, 1)"),
    ("augmented_teacher: {enabeld: true}", "'augmented_teacher.enabeld'", "beta_max, enabled, seed"),
    ("augmented_teacher: {seed: -1}", "'augmented_teacher.seed'", ">= 0"),
    ("augmented_teacher: true", "'augmented_teacher'", "a mapping"),
])
def test_bad_keys_are_named(tmp_path, body, key, allowed):
    from fpgakd.studies.spec import load_study_config

    path = tmp_path / "b.yaml"
    path.write_text(f"name: b\nkind: boost\n{body}\n")
    with pytest.raises(ConfigError) as err:
        load_study_config(path)
    assert str(path) in str(err.value) and key in str(err.value) and allowed in str(err.value)


def test_default_study_leaves_the_option_off():
    from fpgakd.studies.spec import load_study_config

    aug = load_study_config("boost").augmented_teacher
    assert (aug.enabled, aug.beta_max, aug.seed) == (False, 0.5, 1)
