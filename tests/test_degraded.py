"""Tests of fpgakd.studies.degraded_distillation: the degraded-data study end to end on tiny data."""

from __future__ import annotations

import json

import pytest

from fpgakd.errors import ConfigError
from fpgakd.studies.degraded_distillation import recovery_summary
from fpgakd.studies.spec import DegradedStudyConfig


def test_recovery_by_hand():
    r = recovery_summary({"kd": 0.62, "scratch": 0.60}, {"kd": 0.56, "scratch": 0.50})
    assert r["lost"] == pytest.approx(0.10) and r["kd_gain_degraded"] == pytest.approx(0.06)
    assert r["recovered_fraction"] == pytest.approx(0.6) and r["kd_gain_full"] == pytest.approx(0.02)
    assert recovery_summary({"kd": 0.5, "scratch": 0.5}, {"kd": 0.6, "scratch": 0.6})["recovered_fraction"] is None


@pytest.mark.slow
def test_degraded_study_end_to_end(distill_run, tmp_path):
    from fpgakd.studies.degraded_distillation import format_degraded_table, run_degraded_study

    jets, run, teacher = distill_run
    cfg = DegradedStudyConfig(name="d", pt_smearing=0.3, n_constituents=4, angle_step=0.2)
    out = tmp_path / "d"
    results = run_degraded_study(cfg, jets, run, out, teacher_path=teacher, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "degraded.png", "results.json"]
    saved = json.loads((out / "results.json").read_text())
    run_metrics = json.loads((run / "metrics.json").read_text())
    assert saved["accuracy"]["scratch (full)"] == run_metrics["scratch"]["accuracy"]
    assert set(saved["accuracy"]) == {"teacher (full)", "kd (full)", "scratch (full)", "kd (degraded)",
                                      "scratch (degraded)", "teacher (degraded inputs)"}
    assert saved["n_test_jets"] == 60 and saved["study"]["n_constituents"] == 4
    assert "recovered" in format_degraded_table(results)


@pytest.mark.slow
def test_degraded_n_beyond_stored_names_the_key(distill_run, tmp_path):
    from fpgakd.studies.degraded_distillation import run_degraded_study

    jets, run, teacher = distill_run
    with pytest.raises(ConfigError, match="'n_constituents'"):
        run_degraded_study(DegradedStudyConfig(name="d", n_constituents=17), jets, run, tmp_path / "d",
                           teacher_path=teacher, progress=False)
    assert not (tmp_path / "d").exists()
