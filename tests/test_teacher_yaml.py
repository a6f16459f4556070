"""Teacher YAML nests its training settings under ``training:``, as a student's; teacher
directories written with them at the top level still load."""

from __future__ import annotations

import json

import pytest

from fpgakd.config import (PileupTeacherConfig, TeacherConfig, config_from_stored, config_to_dict, dump_config,
                           load_pileup_teacher_config, load_teacher_config, replace_config, repo_dir)
from fpgakd.errors import ConfigError


@pytest.mark.parametrize("path", sorted((repo_dir() / "teachers").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_teacher_yaml_loads(path):
    loader = load_pileup_teacher_config if "task: particle_weight" in path.read_text() else load_teacher_config
    assert loader(path) is not None


def test_pileup_teacher_training_settings_come_from_the_training_section():
    cfg = load_pileup_teacher_config("pileup_edgeconv")
    assert (cfg.epochs, cfg.batch_size, cfg.patience) == (30, 8192, 6)


@pytest.mark.parametrize("key, value", [("epochs", 5), ("seed", 1), ("split_seed", 2), ("learning_rate", 0.1)])
def test_a_top_level_training_key_is_refused_naming_its_new_place(tmp_path, key, value):
    path = tmp_path / "x.yaml"
    path.write_text(f"arch: deepsets\n{key}: {value}\n")
    with pytest.raises(ConfigError, match=rf"x\.yaml: key '{key}' moved to 'training\.{key}'"):
        load_teacher_config(path)
    path.write_text(f"task: particle_weight\n{key}: {value}\n")
    with pytest.raises(ConfigError, match=rf"x\.yaml: key '{key}' moved to 'training\.{key}'"):
        load_pileup_teacher_config(path)


def test_errors_inside_the_training_section_name_its_key_path(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("training:\n  epochs: 0\n")
    with pytest.raises(ConfigError, match=r"x\.yaml: key 'training\.epochs': got 0"):
        load_teacher_config(path)
    path.write_text("training:\n  epoch: 3\n")
    with pytest.raises(ConfigError, match=r"unknown key 'training\.epoch'; allowed here: batch_size, epochs"):
        load_teacher_config(path)
    path.write_text("n_folds: 2\nfolds: 3\n")
    with pytest.raises(ConfigError, match=r"unknown key 'folds'; allowed here: arch, .*training"):
        load_teacher_config(path)


def test_the_resolved_config_nests_and_reloads(tmp_path):
    cfg = TeacherConfig(arch="edgeconv", epochs=7, seed=3, n_folds=1)
    data = config_to_dict(cfg)
    assert data["training"]["epochs"] == 7 and "epochs" not in data and data["n_folds"] == 1
    assert load_teacher_config(dump_config(cfg, tmp_path / "t.yaml")) == cfg


def test_overrides_are_validated_naming_the_caller():
    assert replace_config(PileupTeacherConfig(), {"epochs": 2}, "f()").epochs == 2
    with pytest.raises(ConfigError, match=r"f\(\): key 'training\.epochs': got 0"):
        replace_config(TeacherConfig(), {"epochs": 0}, "f()")


def test_a_config_stored_flat_by_an_older_fpgakd_loads():
    old = {"arch": "deepsets", "n_constituents": 16, "epochs": 4, "batch_size": 64, "seed": 2, "split_seed": 1}
    cfg = config_from_stored(TeacherConfig, old, "teacher.json")
    assert (cfg.epochs, cfg.batch_size, cfg.seed, cfg.split_seed, cfg.n_constituents) == (4, 64, 2, 1, 16)
    assert config_from_stored(TeacherConfig, config_to_dict(cfg), "teacher.json") == cfg


def test_an_old_teacher_directory_gives_its_training_config(tmp_path):
    from fpgakd.studies.augmented_teacher import baseline_teacher_config

    old_config = {"arch": "deepsets", "width": 8, "n_folds": 1, "epochs": 3, "patience": 2, "seed": 5}
    (tmp_path / "teacher.h5").write_bytes(b"model bytes")
    (tmp_path / "teacher.json").write_text(json.dumps({"format": "fpgakd-teacher", "models": ["teacher.h5"],
                                                       "class_names": ["g", "q"], "config": old_config}))
    cfg = baseline_teacher_config(tmp_path)
    assert (cfg.width, cfg.epochs, cfg.patience, cfg.seed) == (8, 3, 2, 5)


def test_an_old_pileup_teacher_directory_loads(tmp_path):
    import numpy as np

    from fpgakd.jets.preprocessing import Standardizer
    from fpgakd.learn.pileup.teacher import load_pileup_teacher

    old_config = {"task": "particle_weight", "width": 8, "edge_k": 4, "epochs": 2, "batch_size": 512,
                  "learning_rate": 0.01, "patience": 2, "seed": 0, "split_seed": 0}
    (tmp_path / "teacher.h5").write_bytes(b"model bytes")
    (tmp_path / "pileup_teacher.json").write_text(json.dumps({
        "format": "fpgakd-pileup-teacher", "format_version": 1, "config": old_config, "inputs": ["a"],
        "standardization": Standardizer().fit(np.array([[0.0], [1.0]]), ["a"]).to_dict()}))
    teacher = load_pileup_teacher(tmp_path)
    assert (teacher.config.width, teacher.config.epochs, teacher.config.batch_size) == (8, 2, 512)
