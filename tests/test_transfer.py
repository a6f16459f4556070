"""Tests of the teacher-transfer study (fpgakd.studies.transfer) and what it builds on:
fine-tuning from a pre-trained teacher, training on a fraction of the data, the config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from fpgakd.config import TeacherConfig, dump_config
from fpgakd.errors import ConfigError
from fpgakd.jets.preprocessing import split_indices, subsample_stratified
from fpgakd.studies.spec import SourceWindowConfig, TransferStudyConfig, load_study_config
from helpers.jets import tiny_student_config as _cfg, train_tiny_teacher, write_synthetic_jets

_TINY = dict(n_constituents=8, width=8, epochs=2, n_folds=1, batch_size=64)


def _with_pt(path, pt):
    """Give every jet of a synthetic file the pT ``pt`` (its source window)."""
    with h5py.File(path, "r+") as fh:
        jets = fh["jets"][...]
        jets[:, 0] = pt
        fh["jets"][...] = jets
    return path


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """Target jets (pT 1000)."""
    return write_synthetic_jets(tmp_path_factory.mktemp("target") / "target.h5", n_per_class=40, n_particles=8,
                                seed=3)


@pytest.fixture(scope="module")
def pretrained(jets_8, target, tmp_path_factory):
    """Target jets (pT 1000) and a one-model teacher pre-trained on other jets (pT 600)."""
    root = tmp_path_factory.mktemp("transfer")
    source = Path(shutil.copy(jets_8, root / "jets.h5"))
    # two epochs, not the shared teacher_8's one: its weights must move visibly from a fresh start
    teacher = train_tiny_teacher(source, root / "teacher", n_constituents=8, width=8, epochs=2, n_folds=1)
    return _with_pt(source, 600.0), teacher, target


def _weights(teacher_dir):
    import tensorflow as tf

    from fpgakd.learn.teacher import load_teacher, teacher_custom_objects

    model = tf.keras.models.load_model(load_teacher(teacher_dir).models[0],
                                       custom_objects=teacher_custom_objects(), compile=False)
    return model.get_weights()


@pytest.mark.slow
def test_fine_tuning_starts_from_the_pretrained_weights(pretrained, tmp_path):
    from fpgakd.learn.teacher import train_teacher
    from fpgakd.studies.models import teacher_logits_on
    from fpgakd.jets.loading import load_jets

    _, teacher, target = pretrained
    # a step this small moves no weight visibly: what comes out is where training started
    still = TeacherConfig(**{**_TINY, "epochs": 1, "learning_rate": 1e-12})
    tuned = train_teacher(target, tmp_path / "tuned", config=still, initial_teacher=teacher, progress=False)
    fresh = train_teacher(target, tmp_path / "fresh", config=still, progress=False)
    source_w, tuned_w, fresh_w = _weights(teacher), _weights(tuned), _weights(fresh)
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(source_w, tuned_w))
    assert not all(np.allclose(a, b, atol=1e-3) for a, b in zip(source_w, fresh_w))
    meta = json.loads((tuned / "teacher.json").read_text())
    source_meta = json.loads((teacher / "teacher.json").read_text())
    # the source window's input scaling is kept: the first layer learned on it
    assert meta["standardization"] == source_meta["standardization"]
    assert meta["pretrained"]["identity"] == source_meta["identity"]
    dataset = load_jets(target)
    _, val, _ = split_indices(dataset.n_jets, seed=0, labels=dataset.labels)
    zero_shot = teacher_logits_on(teacher, dataset.subset(val)).argmax(1) == dataset.labels[val]
    assert meta["pretrained"]["initial_val_accuracy"] == pytest.approx(zero_shot.mean())


@pytest.mark.slow
def test_fine_tuning_moves_the_weights_and_refuses_a_fold_teacher(pretrained, tmp_path):
    from fpgakd.errors import DataError
    from fpgakd.learn.teacher import train_teacher

    source, teacher, target = pretrained
    tuned = train_teacher(target, tmp_path / "tuned", config=TeacherConfig(**_TINY, learning_rate=0.01),
                          initial_teacher=teacher, progress=False)
    assert not all(np.allclose(a, b, atol=1e-4) for a, b in zip(_weights(teacher), _weights(tuned)))
    folds = train_teacher(source, tmp_path / "folds", config=TeacherConfig(**{**_TINY, "n_folds": 2}),
                          progress=False)
    with pytest.raises(DataError, match="n_folds: 1"):
        train_teacher(target, tmp_path / "x", config=TeacherConfig(**_TINY), initial_teacher=folds,
                      progress=False)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_a_fraction_trains_on_that_many_jets_of_the_train_split(pretrained, tmp_path):
    from fpgakd.learn.teacher import train_teacher

    _, _, target = pretrained
    out = train_teacher(target, tmp_path / "quarter", config=TeacherConfig(**{**_TINY, "n_folds": 2}),
                        train_fraction=0.25, fraction_seed=4, progress=False)
    meta = json.loads((out / "teacher.json").read_text())
    with h5py.File(target) as fh:
        labels = fh["labels"][...]
    train, _, _ = split_indices(len(labels), seed=0, labels=labels)
    assert meta["n_train"] == 120 and meta["n_train_used"] == round(0.25 * 120) == 30
    used = np.flatnonzero(np.load(out / "folds.npy") >= 0)
    np.testing.assert_array_equal(used, subsample_stratified(train, labels, 0.25, seed=4))
    assert np.bincount(labels[used]).tolist() == [6] * 5


def test_subsample_is_exact_stratified_and_seeded():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    idx = np.arange(100)[::-1]
    sub = subsample_stratified(idx, labels, 0.07, seed=1)
    assert len(sub) == 7 and set(sub) <= set(idx) and len(set(sub)) == 7
    # quotas 3.5, 2.1, 1.4: floors 3, 2, 1, the jet left over to the largest remainder
    assert np.bincount(labels[sub]).tolist() == [4, 2, 1]
    np.testing.assert_array_equal(sub, subsample_stratified(idx, labels, 0.07, seed=1))
    assert not np.array_equal(subsample_stratified(idx, labels, 0.5, seed=1),
                              subsample_stratified(idx, labels, 0.5, seed=2))
    np.testing.assert_array_equal(subsample_stratified(idx, labels, 1.0), np.arange(100))
    with pytest.raises(ConfigError, match="fraction"):
        subsample_stratified(idx, labels, 1.5)


@pytest.mark.parametrize("text, key", [
    ("fractions: [0.01, 0.1, 1.5]", "fractions[2]"),
    ("fractions: [0.0, 1.0]", "fractions[0]"),
    ("fractions: [0.1, 0.1]", "fractions"),
    ("seeds: []", "seeds"),
    ("source: {pt_min: 700, pt_max: 500}", "source.pt_max"),
    ("source: {jets_per_class: 0}", "source.jets_per_class"),
    ("finetune_learning_rate: 0", "finetune_learning_rate"),
    ("source: {pt_lo: 1}", "source.pt_lo"),
])
def test_bad_transfer_keys_are_named_with_the_file(tmp_path, text, key):
    path = tmp_path / "t.yaml"
    path.write_text(f"name: t\nkind: transfer\n{text}\n")
    with pytest.raises(ConfigError) as err:
        load_study_config(path, kind="transfer")
    assert str(path) in str(err.value) and f"'{key}'" in str(err.value)


def test_shipped_transfer_study_and_its_points():
    from fpgakd.studies.transfer import study_points

    cfg = load_study_config("transfer", kind="transfer")
    assert cfg.fractions == (0.01, 0.1, 1.0) and (cfg.source.pt_min, cfg.source.pt_max) == (500.0, 700.0)
    points = study_points(cfg)
    assert len(points) == 2 * (3 + 3 + 1)
    assert [p for p in points if p[1] == 1.0] == [("fine-tuned", 1.0, 0), ("scratch", 1.0, 0)]


def _tiny_study(tmp_path, **over):
    teacher_yaml = dump_config(TeacherConfig(**{**_TINY, "epochs": 1}), tmp_path / "tiny_teacher.yaml")
    student_yaml = dump_config(_cfg(training={"epochs": 2}), tmp_path / "tiny_student.yaml")
    return TransferStudyConfig(name="t", teacher=str(teacher_yaml), student=str(student_yaml),
                               fractions=(0.5, 1.0), seeds=(0,), **over)


@pytest.mark.slow
def test_transfer_study_end_to_end(pretrained, tmp_path, monkeypatch):
    from fpgakd.studies.transfer import run_transfer_study
    from fpgakd.studies.transfer_plot import format_transfer_table

    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    source, _, target = pretrained
    out = tmp_path / "study"
    results = run_transfer_study(_tiny_study(tmp_path), target, out, source_jets=source, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "results.json", "student", "transfer.png"]
    saved = json.loads((out / "results.json").read_text())
    assert [(p["mode"], p["fraction"], p["n_train_used"]) for p in saved["points"]] == [
        ("fine-tuned", 0.5, 60), ("scratch", 0.5, 60), ("fine-tuned", 1.0, 120), ("scratch", 1.0, 120)]
    assert saved["target"]["n_test"] == 40 and saved["source"]["pt_range"] == [600.0, 600.0]
    tuned = [p for p in saved["points"] if p["mode"] == "fine-tuned"]
    assert all(p["initial_val_accuracy"] is not None for p in tuned)
    assert saved["student"]["teacher"] == tuned[-1]["teacher"]
    assert json.loads((out / "student" / "metrics.json").read_text())["kd"]["accuracy"] == \
        saved["student"]["kd"]["accuracy"]
    assert saved["summary"]["scratch"]["0.5"]["accuracy"]["n"] == 1
    assert "zero-shot" in format_transfer_table(results)


def test_transfer_study_refuses_overlapping_windows(target, tmp_path, monkeypatch):
    from fpgakd.studies.transfer import run_transfer_study

    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    overlapping = _with_pt(write_synthetic_jets(tmp_path / "s.h5", n_per_class=5, n_particles=8), 1000.0)
    with pytest.raises(ConfigError, match="--source-jets.*overlaps"):
        run_transfer_study(_tiny_study(tmp_path), target, tmp_path / "out", source_jets=overlapping,
                           progress=False)
    cfg = _tiny_study(tmp_path, source=SourceWindowConfig(pt_min=950.0, pt_max=1200.0))
    with pytest.raises(ConfigError, match="source.pt_min/pt_max"):
        run_transfer_study(cfg, target, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_cli_names_a_bad_fraction_and_exits_1(tmp_path, capsys):
    from fpgakd.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nkind: transfer\nfractions: [0.01, 0.1, 2]\n")
    assert main(["-q", "study", "transfer", "--config", str(bad), "--jets", str(tmp_path / "none.h5")]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "'fractions[2]'" in err and "(0, 1]" in err
