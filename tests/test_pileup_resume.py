"""The pileup teacher resumes an interrupted training from its last completed epoch."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from helpers.events import TINY_TEACHER, fake_puppi, pileup_events


class _Interrupt(KeyboardInterrupt):
    """Ctrl-C at the end of an epoch, before that epoch's checkpoint is written."""


def _interrupting_callbacks(original, at_epoch: int):
    import tensorflow as tf

    class Interrupt(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == at_epoch:
                raise _Interrupt

    return lambda *args: original(*args) + [Interrupt()]


def _counting_callbacks(original, epochs: list[int]):
    import tensorflow as tf

    class Count(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs.append(epoch)

    return lambda *args: original(*args) + [Count()]


def _weights(directory):
    from fpgakd.learn.pileup.teacher import load_pileup_teacher

    return load_pileup_teacher(directory).load_model().get_weights()


@pytest.mark.slow
def test_an_interrupted_teacher_resumes_and_ends_as_an_uninterrupted_one(tmp_path, monkeypatch):
    import fpgakd.learn.teacher_folds as jet_teacher
    from fpgakd.learn.pileup.events import pileup_data
    from fpgakd.learn.pileup.teacher import fit_pileup_teacher

    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    events = pileup_events(30, seed=3)
    data = pileup_data(events, fake_puppi(events))
    # patience 4: the learning rate is halved (after 2 flat epochs) within the 6 epochs
    cfg = dataclasses.replace(TINY_TEACHER, epochs=6, patience=4, batch_size=150)
    whole = fit_pileup_teacher(data, tmp_path / "whole", config=cfg, cache_dir=tmp_path / "soft", progress=False)

    original = jet_teacher.teacher_callbacks
    monkeypatch.setattr(jet_teacher, "teacher_callbacks", _interrupting_callbacks(original, at_epoch=3))
    with pytest.raises(_Interrupt):
        fit_pileup_teacher(data, tmp_path / "resumed", config=cfg, cache_dir=tmp_path / "soft", progress=False)
    assert not (tmp_path / "resumed").exists()            # nothing half-written
    checkpoints = list((tmp_path / "cache" / "checkpoints").rglob("epoch.npz"))
    assert len(checkpoints) == 1
    from fpgakd.learn.pileup.resume import read_epoch_checkpoint
    assert read_epoch_checkpoint(checkpoints[0])["epoch"] == 2   # epochs 0-2 completed

    trained: list[int] = []
    monkeypatch.setattr(jet_teacher, "teacher_callbacks", _counting_callbacks(original, trained))
    resumed = fit_pileup_teacher(data, tmp_path / "resumed", config=cfg, cache_dir=tmp_path / "soft",
                                 progress=False)
    assert trained and trained[0] == 3                    # not trained again from the start
    for a, b in zip(_weights(whole), _weights(resumed), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    metas = [json.loads((d / "pileup_teacher.json").read_text()) for d in (whole, resumed)]
    history = [meta["history"] for meta in metas]
    assert len(metas[1]["epoch_seconds"]) == len(history[1]["loss"])     # the epochs before the stop too
    assert history[0].keys() == history[1].keys() and len(history[0]["loss"]) == len(history[1]["loss"])
    np.testing.assert_allclose(history[0]["val_loss"], history[1]["val_loss"], rtol=1e-6)
    assert not list((tmp_path / "cache" / "checkpoints").rglob("epoch.npz"))   # removed once written


def test_a_missing_checkpoint_reads_as_none_and_a_broken_one_is_named(tmp_path):
    from fpgakd.errors import DataError
    from fpgakd.learn.pileup.resume import read_epoch_checkpoint

    assert read_epoch_checkpoint(tmp_path / "epoch.npz") is None
    (tmp_path / "epoch.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="epoch.npz: not a readable teacher checkpoint"):
        read_epoch_checkpoint(tmp_path / "epoch.npz")
