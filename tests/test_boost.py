"""Tests of fpgakd.studies.boost (and fpgakd.studies.models): the boost study end to end on tiny data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fpgakd.config import config_from_dict
from fpgakd.errors import DataError
from fpgakd.studies.spec import BoostStudyConfig
from helpers.jets import write_synthetic_jets


@pytest.mark.slow
def test_boost_study_writes_results_and_beta_zero_matches_the_file(distill_run, tmp_path):
    from fpgakd.studies.boost import format_boost_table, run_boost_study

    jets, run, teacher = distill_run
    cfg = config_from_dict(BoostStudyConfig, {"name": "b", "beta_max": [0.0, 0.8]})
    out = tmp_path / "study"
    results = run_boost_study(cfg, jets, [run], out, teacher_path=teacher, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["boost.png", "config.yaml", "results.json"]
    saved = json.loads((out / "results.json").read_text())
    assert saved["models"] == ["teacher", "tiny kd", "tiny scratch"]
    assert saved["data"]["n_test_jets"] == 60
    file_point, zero, strong = saved["points"]
    assert [p["beta_max"] for p in saved["points"]] == ["file", 0.0, 0.8]
    for model in saved["models"]:
        assert zero["scores"][model]["accuracy"] == pytest.approx(file_point["scores"][model]["accuracy"])
    # the study's own test split is the run's: the KD student's file accuracy is the run's
    run_metrics = json.loads((run / "metrics.json").read_text())
    assert file_point["scores"]["tiny kd"]["accuracy"] == pytest.approx(run_metrics["kd"]["accuracy"])
    assert 0.0 < strong["mean_beta"] < 0.8
    assert "tiny scratch" in format_boost_table(results)


@pytest.mark.slow
def test_augmented_teacher_joins_every_point(distill_run, tmp_path, monkeypatch):
    import numpy as np

    from fpgakd.jets.loading import load_jets
    from fpgakd.jets.preprocessing import split_indices
    from fpgakd.studies.boost import format_boost_table, run_boost_study

    jets, run, teacher = distill_run
    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    cfg = config_from_dict(BoostStudyConfig, {"name": "b", "beta_max": [0.0, 0.8],
                                              "augmented_teacher": {"beta_max": 0.7}})
    out = tmp_path / "study"
    results = run_boost_study(cfg, jets, [run], out, teacher_path=teacher, augmented_teacher=True, progress=False)
    new = ["teacher (boost-augmented)", "tiny alpha0 (teacher)", "tiny alpha0 (boost-augmented teacher)"]
    assert results["models"] == ["teacher", new[0], "tiny kd", "tiny scratch", *new[1:]]
    assert all(set(p["scores"]) == set(results["models"]) for p in results["points"])
    assert results["study"]["augmented_teacher"]["enabled"] is True
    aug = results["augmented_teacher"]
    assert aug["student"] == "tiny" and aug["transfer"]["to_beta_max"] == 0.8
    # the augmented teacher: the baseline's config, the runs' split, never a test jet in training
    aug_teacher = Path(aug["teacher"])
    assert aug_teacher.parent == tmp_path / "cache" / "teachers"
    meta = json.loads((aug_teacher / "teacher.json").read_text())
    base = json.loads((teacher / "teacher.json").read_text())
    assert meta["config"] == base["config"] and meta["split_seed"] == base["split_seed"]
    assert meta["data_fingerprint"] != base["data_fingerprint"] == load_jets(jets).fingerprint()
    folds = np.load(aug_teacher / "folds.npy")
    ds = load_jets(jets)
    train, _, test = split_indices(ds.n_jets, seed=base["split_seed"], labels=ds.labels)
    assert np.all(folds[test] == -1) and np.all(folds[train] >= 0)
    table = format_boost_table(results)
    assert "share of the teacher's robustness gain" in table and "tiny alpha=0" in table
    assert (out / "boost.png").stat().st_size > 0


@pytest.mark.slow
def test_boost_study_refuses_other_data(distill_run, tmp_path):
    from fpgakd.studies.boost import run_boost_study

    _, run, teacher = distill_run
    other = write_synthetic_jets(tmp_path / "other.h5", n_per_class=20, n_particles=16, seed=5)
    cfg = BoostStudyConfig(name="b", beta_max=(0.1,))
    with pytest.raises(DataError, match="fingerprints differ"):
        run_boost_study(cfg, other, [run], tmp_path / "s", teacher_path=teacher, progress=False)
    assert not (tmp_path / "s").exists()


def test_cli_names_the_bad_key(tmp_path, capsys):
    from fpgakd.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nkind: boost\nbeta_max: [0.5, 1.0]\n")
    assert main(["-q", "study", "boost", "--config", str(bad), "--run", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "'beta_max[1]'" in err and "[0, 1)" in err


def test_cli_without_a_run_says_what_to_do(tmp_path, capsys, monkeypatch):
    from fpgakd.cli import main

    jets = write_synthetic_jets(tmp_path / "j.h5", n_per_class=4, n_particles=8)
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "study", "boost", "--jets", str(jets)]) == 1
    assert "fpgakd distill" in capsys.readouterr().err
