"""The per-class recall benchmark: confusion matrices of a run's students on its own test jets."""

import numpy as np
import pytest

from helpers.benchmarks import load_benchmark


def test_the_confusion_matrix_is_each_true_class_shared_out():
    script = load_benchmark("bench_class_recall")
    matrix = script.confusion(np.array([0, 0, 0, 2, 2]), np.array([0, 2, 2, 2, 0]), 3)
    np.testing.assert_allclose(matrix, [[1 / 3, 0, 2 / 3], [0, 0, 0], [0.5, 0, 0.5]])   # class 1: no jets


def test_a_directory_that_is_no_run_is_named_in_one_line(tmp_path, capsys):
    assert load_benchmark("bench_class_recall").main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(str(tmp_path)) and len(err.splitlines()) == 1


@pytest.mark.slow
def test_the_recall_of_each_class_agrees_with_the_runs_accuracy(distill_run, capsys):
    _, run, _ = distill_run
    script = load_benchmark("bench_class_recall")
    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.rundir import read_run_metrics

    metrics = read_run_metrics(run)
    dataset = load_jets(metrics["data"]["path"])
    rows = {row["mode"]: row for row in script.recall_rows(run, dataset)}
    assert set(rows) == {"kd", "scratch"}
    for mode, row in rows.items():
        assert row["accuracy"] == pytest.approx(metrics[mode]["accuracy"], abs=1e-9)
        np.testing.assert_allclose(row["matrix"].sum(axis=1), 1.0)
        assert [row[f"recall {c}"] for c in dataset.class_names] == list(np.diag(row["matrix"]))
    assert script.main([str(run), "--matrix"]) == 0
    assert "recall W" in capsys.readouterr().out
