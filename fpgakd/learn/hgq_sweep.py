"""An HGQ sweep: one training through decades of beta, every Pareto-optimal epoch kept.

HGQ's own way to a resource frontier (Sun et al. 2024): instead of one training per beta,
train once while beta grows by the same factor every epoch (``beta_schedule: exponential``
from ``beta_start`` to ``beta`` over ``beta_ramp_epochs``), save the weights of every epoch
and keep those epochs no other epoch beats on both validation accuracy and EBOPs
(``benchmarks/bench_hgq_sweep.py``, with the scans' :func:`fpgakd.scan.pareto.pareto_mask`). Each
kept epoch is a design: rebuild the student, load its weights and make its proxy
(:func:`snapshot_proxy`), which the firmware stage converts, traces and checks as it does any
HGQ student's.

The epochs' weights and one JSON line per epoch (epoch, beta, Keras's logs: ``val_accuracy``,
and HGQ's ``bops``, its running EBOPs estimate) go to one folder (:func:`epoch_snapshots`); an
interrupted training resumes through Keras's ``BackupAndRestore`` and rewrites the epochs it
repeats, the last line of an epoch counting (:func:`read_epoch_log`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import ModelConfig
from fpgakd.errors import DataError

__all__ = ["EPOCH_LOG", "snapshot_file", "epoch_snapshots", "read_epoch_log", "snapshot_proxy"]

#: the per-epoch log in a snapshot folder: one JSON object per line
EPOCH_LOG = "epochs.jsonl"


def snapshot_file(directory: str | os.PathLike, epoch: int) -> Path:
    """The weights file of ``epoch`` (0-based) in a snapshot folder.

    >>> snapshot_file("sweep", 7).name
    'epoch_0007.weights.h5'
    """
    return Path(directory) / f"epoch_{epoch:04d}.weights.h5"


def epoch_snapshots(directory: str | os.PathLike, cfg: ModelConfig) -> Any:
    """A Keras callback that saves the weights of every epoch and appends its log line.

    >>> distill(cfg, jets, run, extra_callbacks={"kd": [epoch_snapshots("sweep", cfg)]})  # doctest: +SKIP
    """
    import tensorflow as tf

    from fpgakd.learn.hgq_students import beta_for_epoch

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)

    class _EpochSnapshots(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.model.save_weights(str(snapshot_file(folder, epoch)))
            row = {"epoch": epoch, "beta": beta_for_epoch(cfg.quantization, epoch),
                   **{k: float(v) for k, v in (logs or {}).items()}}
            with open(folder / EPOCH_LOG, "a") as fh:
                fh.write(json.dumps(row) + "\n")

    return _EpochSnapshots()


def read_epoch_log(directory: str | os.PathLike) -> list[dict[str, Any]]:
    """The epochs' rows of a snapshot folder, in epoch order; a repeated epoch's last row counts.

    >>> read_epoch_log("bench_runs/hgq_sweep/seed0/snapshots")[0]["epoch"]   # doctest: +SKIP
    0
    """
    path = Path(directory) / EPOCH_LOG
    if not path.is_file():
        raise DataError(f"{path}: no epoch log; was the student trained with epoch_snapshots?")
    rows: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows[int(row["epoch"])] = row
        except (ValueError, KeyError, TypeError):
            raise DataError(f"{path}: line {number} is not an epoch's JSON row") from None
    return [rows[e] for e in sorted(rows)]


def snapshot_proxy(cfg: ModelConfig, weights: str | os.PathLike, n_inputs: int, n_outputs: int,
                   x_calibration: np.ndarray) -> tuple[Any, float]:
    """(HGQ's proxy model of the student ``cfg`` with the saved ``weights``, its exact EBOPs),
    the activation ranges recorded on ``x_calibration`` (the training inputs).

    >>> proxy, ebops = snapshot_proxy(cfg, snapshot_file("sweep", 120), 28, 5, x[train])  # doctest: +SKIP
    """
    from fpgakd.learn.hgq_students import hgq_proxy
    from fpgakd.learn.students import build_student

    model = build_student(cfg, n_inputs, n_outputs)
    model.load_weights(str(weights))
    return hgq_proxy(model, x_calibration)
