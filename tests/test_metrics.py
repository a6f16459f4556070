"""Tests of fpgakd.learn.metrics against hand-built scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fpgakd.errors import DataError
from fpgakd.learn.metrics import (binary_metrics, classification_metrics, format_summary_table, plot_roc,
                            plot_training_curves, softmax)

CLASSES = ["g", "q", "W", "Z", "t"]


def _logits_from_probs(p):
    return np.log(np.asarray(p, dtype=np.float64))


def test_accuracy_auc_and_rejection_by_hand():
    # 4 q jets and 4 W jets; W score p_W/(p_W+p_q+p_g) ranks them as listed
    labels = np.array([1, 1, 1, 1, 2, 2, 2, 2])
    p_w = np.array([0.1, 0.2, 0.3, 0.7, 0.4, 0.6, 0.8, 0.9])
    probs = np.zeros((8, 5)) + 1e-9
    probs[:, 2] = p_w
    probs[:, 1] = 1 - p_w
    m = classification_metrics(labels, _logits_from_probs(probs), CLASSES)
    assert m["accuracy"] == pytest.approx(6 / 8)        # q jet at 0.7 and W jet at 0.4 are wrong
    # W AUC: 16 pairs, the q jet at 0.7 outranks the W jets at 0.4 and 0.6 -> 14/16
    assert m["auc"]["W"] == pytest.approx(14 / 16)
    # 50% W efficiency keeps W jets at 0.9, 0.8 and lets no q jet through -> FPR 0 -> None
    assert m["rejection"]["W"]["eff50"] is None
    assert set(m["rejection"]) == {"W"}                 # Z and t have no jets here
    json.dumps(m)                                       # valid JSON, no infinities


def test_rejection_is_inverse_fpr():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 4], 1000)
    score = np.where(labels == 4, rng.normal(1, 1, 2000), rng.normal(0, 1, 2000))
    probs = np.full((2000, 5), 1e-6)
    probs[:, 4] = 1 / (1 + np.exp(-score))
    probs[:, 0] = 1 - probs[:, 4]
    m = classification_metrics(labels, np.log(probs), CLASSES)
    s = (probs[:, 4] / (probs[:, 4] + probs[:, 0]))
    cut = np.quantile(s[labels == 4], 0.5)
    fpr = np.mean(s[labels == 0] >= cut)
    assert m["rejection"]["t"]["eff50"] == pytest.approx(1 / fpr, rel=0.05)
    b = binary_metrics(labels == 4, s)
    assert b["auc"] == pytest.approx(m["auc"]["t"], abs=1e-6)
    assert b["rejection"]["eff50"] == pytest.approx(m["rejection"]["t"]["eff50"], rel=1e-6)


def test_shape_errors_name_the_field():
    with pytest.raises(DataError, match=r"logits: expected shape \(N, 5\)"):
        classification_metrics(np.zeros(3, int), np.zeros((3, 4)), CLASSES)
    with pytest.raises(DataError, match="labels"):
        classification_metrics(np.zeros(2, int), np.zeros((3, 5)), CLASSES)


def test_softmax_rows_sum_to_one():
    p = softmax(np.array([[1000.0, 0.0], [1.0, 2.0]]))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0, 0] == pytest.approx(1.0)


def test_summary_table_side_by_side():
    metrics = {
        "teacher": {"accuracy": 0.70, "auc": {"t": 0.95}},
        "kd": {"accuracy": 0.57, "auc": {"t": 0.9}, "rejection": {"t": {"eff50": 20.0, "eff30": None}},
               "sparsity": {"fc1": 0.75}, "bits": {"weight": 8, "activation": 8},
               "parameters": 100, "nonzero": 25},
        "scratch": {"accuracy": 0.555, "auc": {"t": 0.88}},
    }
    table = format_summary_table(metrics)
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "teacher", "KD", "student", "scratch", "student"]
    assert lines[1].split() == ["accuracy", "0.700", "0.570", "0.555"]
    assert any(line.split()[:3] == ["sparsity", "fc1", "-"] and line.split()[3] == "75.0%" for line in lines)
    assert any("rej. t vs q+g @30%" in line for line in lines)


def test_plots_are_written(tmp_path):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, 200)
    logits = rng.normal(size=(200, 5)) + 2 * np.eye(5)[labels]
    roc = plot_roc({"KD student": (labels, logits), "teacher": (labels, logits * 2)}, CLASSES,
                   tmp_path / "roc.png")
    curves = plot_training_curves({"KD": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}},
                                  tmp_path / "curves.png")
    for path in (roc, curves):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_states_the_kd_gain():
    from fpgakd.learn.metrics import format_summary_table

    table = format_summary_table({"teacher": {"accuracy": 0.7}, "kd": {"accuracy": 0.61},
                                  "scratch": {"accuracy": 0.585}})
    assert table.splitlines()[-1].startswith("KD gain: +2.5 points of accuracy")
    regression = format_summary_table({"kd": {"auc": 0.90}, "scratch": {"auc": 0.93}})
    assert "KD gain: -3.0 points of AUC" in regression
    assert "KD gain" not in format_summary_table({"kd": {"accuracy": 0.5}})
