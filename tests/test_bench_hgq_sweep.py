"""The HGQ sweep benchmark: which epochs become designs, and one row per design over the seeds."""

import numpy as np

from helpers.benchmarks import load_benchmark


def _script():
    return load_benchmark("bench_hgq_sweep")


def _rows(*points: tuple[int, float, float]) -> list[dict]:
    return [{"epoch": e, "val_accuracy": a, "bops": b} for e, a, b in points]


def test_the_pareto_epochs_are_those_no_epoch_beats_on_both() -> None:
    pareto_epochs = _script().pareto_epochs
    rows = _rows((0, 0.9, 10), (1, 0.5, 100), (2, 0.7, 80), (3, 0.7, 60), (4, 0.6, 60), (5, 0.72, 90), (6, 0.4, 20))
    assert [r["epoch"] for r in pareto_epochs(rows)] == [0]
    # from epoch 1 on: 6 (cheapest), 3 (beats 2 and 4 on cost or accuracy, the earliest of equals), 5
    assert [r["epoch"] for r in pareto_epochs(rows, first_epoch=1)] == [6, 3, 5]
    assert [r["epoch"] for r in pareto_epochs(rows, first_epoch=1, cost="epoch")] == [1, 2, 5]


def test_the_designs_are_pareto_epochs_spread_in_log_ebops():
    script = _script()
    # accuracy falls as the EBOPs fall, but epoch 5 is beaten by epoch 6 (cheaper and as accurate)
    rows = [{"epoch": e, "val_accuracy": 0.7 - e / 100, "bops": 2.0 ** (20 - e)} for e in range(20)]
    rows[6]["val_accuracy"] = rows[5]["val_accuracy"]
    front = [r["epoch"] for r in script.design_epochs(rows, 100, first_epoch=3)]
    assert front == [19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 4, 3]
    picked = [r["epoch"] for r in script.design_epochs(rows, 4, first_epoch=3)]
    assert picked[0] == 19 and picked[-1] == 3 and len(picked) == 4 and set(picked) <= set(front)


def test_a_designs_accuracy_is_the_mean_over_the_seeds_and_its_firmware_the_first_seeds():
    script = _script()
    first = [{"epoch": 40, "beta": 1e-5, "accuracy": 0.68, "ebops": 5000.0, "LUT": 4800, "rej30_W": 900.0},
             {"epoch": 90, "beta": 4e-5, "accuracy": 0.66, "ebops": 2000.0, "LUT": 1900, "rej30_W": 700.0}]
    other = [{"epoch": 40, "beta": 1e-5, "accuracy": 0.70, "ebops": 5200.0, "rej30_W": 1100.0}]
    table = script.sweep_table("hybrid_hgq", {0: first, 1: other})
    assert list(table["model"]) == ["hybrid_hgq sweep"] * 2 and list(table["student.training.epochs"]) == [41, 91]
    assert list(table["seeds"]) == [2, 1] and list(table["LUT"]) == [4800, 1900]
    np.testing.assert_allclose(table["accuracy"], [0.69, 0.66])
    np.testing.assert_allclose(table["accuracy_std"].iloc[0], np.std([0.68, 0.70], ddof=1))
    np.testing.assert_allclose(table["rej30_W"], [1000.0, 700.0])
    assert np.isnan(table["accuracy_std"].iloc[1])
