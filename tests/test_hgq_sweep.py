"""The HGQ sweep (fpgakd.learn.hgq_sweep): the exponential beta schedule, the epochs' snapshots
and log, and a snapshot made back into the student's proxy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fpgakd.config import ModelConfig, config_from_dict
from fpgakd.errors import DataError

N_IN, N_OUT, EPOCHS = 16, 5, 4


def test_the_epoch_log_keeps_the_last_row_of_a_repeated_epoch(tmp_path: Path) -> None:
    from fpgakd.learn.hgq_sweep import EPOCH_LOG, read_epoch_log

    # a resumed training repeats the epochs after its last backup
    lines = [{"epoch": 0, "bops": 9.0}, {"epoch": 1, "bops": 8.0}, {"epoch": 1, "bops": 7.0}, {"epoch": 2, "bops": 6.0}]
    (tmp_path / EPOCH_LOG).write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert [(r["epoch"], r["bops"]) for r in read_epoch_log(tmp_path)] == [(0, 9.0), (1, 7.0), (2, 6.0)]


@pytest.mark.parametrize("text, problem", [(None, "no epoch log"), ('{"epoch": 0}\nnot json\n', "line 2"),
                                           ('{"bops": 1}\n', "line 1")])
def test_a_missing_or_bad_epoch_log_is_named(tmp_path: Path, text: str | None, problem: str) -> None:
    from fpgakd.learn.hgq_sweep import EPOCH_LOG, read_epoch_log

    if text is not None:
        (tmp_path / EPOCH_LOG).write_text(text)
    with pytest.raises(DataError, match=rf"{EPOCH_LOG}: {problem}"):
        read_epoch_log(tmp_path)


def _sweep_cfg() -> ModelConfig:
    q = {"kind": "hgq", "weight_init_bits": 4, "activation_init_bits": 4, "beta": 1e-3, "beta_start": 1e-6,
         "beta_schedule": "exponential", "beta_ramp_epochs": EPOCHS - 1}
    return config_from_dict(ModelConfig, {"name": "tiny_sweep", "hidden": [8], "quantization": q,
                                          "training": {"epochs": EPOCHS, "batch_size": 32, "learning_rate": 0.05,
                                                       "patience": EPOCHS}})


@pytest.mark.slow
def test_a_sweep_keeps_every_epoch_and_a_snapshot_is_the_trained_students_proxy(tmp_path: Path) -> None:
    pytest.importorskip("HGQ")
    from fpgakd.learn.hgq_students import hgq_proxy
    from fpgakd.learn.hgq_sweep import epoch_snapshots, read_epoch_log, snapshot_file, snapshot_proxy
    from fpgakd.learn.losses import pack_classifier_targets
    from fpgakd.learn.training import train_student

    rng = np.random.default_rng(0)
    x = rng.standard_normal((480, N_IN)).astype(np.float32)
    labels = np.argmax(x[:, :N_OUT], axis=1)
    y = pack_classifier_targets(labels, (3.0 * x[:, :N_OUT]).astype(np.float32), N_OUT)
    cfg = _sweep_cfg()
    folder = tmp_path / "epochs"
    # no early stop: the sweep's last epoch is the model returned
    model, hist, _ = train_student(cfg, "kd", x, y, np.arange(400), np.arange(400, 480), N_OUT, tmp_path / "ckpt",
                                   progress=False, extra_callbacks=[epoch_snapshots(folder, cfg)])
    rows = read_epoch_log(folder)
    assert [r["epoch"] for r in rows] == list(range(EPOCHS))
    betas = np.array([r["beta"] for r in rows])
    np.testing.assert_allclose(betas[[0, -1]], [1e-6, 1e-3])
    np.testing.assert_allclose(betas[1:] / betas[:-1], 10.0, rtol=1e-9)   # one decade an epoch
    assert [r["bops"] for r in rows] == hist["bops"] and all(snapshot_file(folder, e).is_file() for e in range(EPOCHS))
    proxy, ebops = hgq_proxy(model, x[:400])
    again, ebops_again = snapshot_proxy(cfg, snapshot_file(folder, EPOCHS - 1), N_IN, N_OUT, x[:400])
    assert ebops_again == ebops
    np.testing.assert_array_equal(again.predict(x, verbose=0), proxy.predict(x, verbose=0))
