"""The KD-against-data benchmark's report: per fraction, the seeds' mean and spread of each
accuracy, each student's train - test gap and KD's gain, read from the runs' own files."""

from __future__ import annotations

import dataclasses

import pytest

from fpgakd.config import dump_config, load_model_config
from fpgakd.learn.rundir import CONFIG_FILE, write_run_metrics
from helpers.benchmarks import load_benchmark


def _fake_run(root, fraction: float, seed: int, kd: tuple[float, float], scratch: tuple[float, float]):
    """A finished point: its config and metrics, (test, train) accuracy per twin."""
    base = load_model_config("deepsets_hgq_16")
    cfg = dataclasses.replace(base, training=dataclasses.replace(base.training, train_fraction=fraction, seed=seed))
    run = root / "runs" / f"f{fraction:g}_s{seed}"
    run.mkdir(parents=True)
    dump_config(cfg, run / CONFIG_FILE)
    students = {mode: {"accuracy": test, "train_accuracy": train, "ebops": 1000.0 * (i + 1)}
                for i, (mode, (test, train)) in enumerate((("kd", kd), ("scratch", scratch)))}
    write_run_metrics(run, {"data": {"n_train": int(90_000 * fraction)},
                            "teacher": {"accuracy": 0.71, "train_accuracy": 0.75}, **students})


def test_the_report_averages_seeds_and_takes_each_gap_from_the_students_own_jets(tmp_path):
    script = load_benchmark("bench_kd_data")
    _fake_run(tmp_path, 0.1, 0, kd=(0.70, 0.72), scratch=(0.68, 0.74))
    _fake_run(tmp_path, 0.1, 1, kd=(0.69, 0.72), scratch=(0.68, 0.72))
    _fake_run(tmp_path, 1.0, 0, kd=(0.713, 0.714), scratch=(0.714, 0.714))
    rows = script.report(tmp_path)
    assert [(r["fraction"], r["seeds"], r["n_train"]) for r in rows] == [(0.1, 2, 9000), (1.0, 1, 90000)]
    small = rows[0]
    assert small["kd"] == pytest.approx((69.5, 0.5))
    assert small["kd gap"] == pytest.approx((2.5, 0.5))          # train - test, seed by seed
    assert small["scratch gap"] == pytest.approx((5.0, 1.0))
    assert small["kd - scratch"] == pytest.approx((1.5, 0.5))
    lines = script.format_rows(rows)
    assert lines[1].startswith('"9,000 (10%)",2,71.0 ± 0.0,69.5 ± 0.5,+2.5 ± 0.5,68.0 ± 0.0,+5.0 ± 1.0,+1.5 ± 0.5')
    assert lines[2].endswith('-0.1 (1 seed),"1,000 / 2,000"')


def test_a_fraction_outside_the_training_split_is_refused(capsys):
    with pytest.raises(SystemExit):
        load_benchmark("bench_kd_data").main(["--fractions", "0", "--report-only"])
    assert "--fractions: [0.0] not in (0, 1]" in capsys.readouterr().err
