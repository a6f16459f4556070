"""DistillNet's event-level teacher: trained on the truth flags, it labels every particle with a
soft pileup weight (1 = hard scatter), the students' only target.

A pileup teacher is a directory::

    pileup_teacher/
        pileup_teacher.json   format, config, the 16 inputs' names and standardization (fitted
                              on the training events), the event file and its fingerprint, the
                              split seed, test metrics of the teacher and of PUPPI against the
                              truth flags, training time (and seconds per epoch) and the identity hash
        teacher.h5            the Keras model (custom layers: fpgakd.learn.pileup.layers)
        training_curves.png

The split is over events (:meth:`fpgakd.learn.pileup.events.PileupData.split`), so no event
is partly trained on. Soft labels on every event of a file are cached in HDF5
(:mod:`fpgakd.learn.logit_cache`, as the teacher's logits) under a hash of the teacher's
identity and of the inputs: students never rerun the teacher.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import PileupTeacherConfig, config_from_stored, config_to_dict, replace_given
from fpgakd.errors import DataError
from fpgakd.learn.logit_cache import cache_file, logits_key, read_cached_logits, write_cached_logits
from fpgakd.learn.pileup.events import PileupData
from fpgakd.learn.pileup.graph import all_event_neighbours, data_batches, data_feed
from fpgakd.learn.rundir import PILEUP_TEACHER_JSON as TEACHER_JSON
from fpgakd.learn.rundir import PILEUP_TEACHER_MODEL as MODEL_FILE
from fpgakd.learn.rundir import TRAINING_CURVES_FILE, write_teacher_meta
from fpgakd.learn.runtime import configure_tensorflow

__all__ = ["PileupTeacher", "train_pileup_teacher", "fit_pileup_teacher", "load_pileup_teacher",
           "pileup_teacher_logits", "pileup_soft_labels", "TEACHER_JSON"]

log = logging.getLogger(__name__)

TEACHER_FORMAT = "fpgakd-pileup-teacher"
#: particles per inference step (whole events): bounds memory, does not change the outputs
_PREDICT_PARTICLES = 32768


@dataclass(frozen=True)
class PileupTeacher:
    """A trained pileup teacher: its directory, config, input scaling and identity hash."""

    directory: Path
    config: PileupTeacherConfig
    standardizer: Any
    identity: str
    meta: dict[str, Any]

    @property
    def model_path(self) -> Path:
        return self.directory / MODEL_FILE

    def load_model(self) -> Any:
        """The Keras model, with the custom layers it needs."""
        import tensorflow as tf

        from fpgakd.learn.pileup.layers import pileup_layers

        try:
            return tf.keras.models.load_model(self.model_path, custom_objects=pileup_layers(), compile=False)
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise DataError(f"{self.model_path}: not a loadable pileup teacher model ({err})") from None


# ---------------------------------------------------------------- batches
def _graph_sequence(xs: np.ndarray, data: PileupData, batches: list[np.ndarray], k: int,
                    y: np.ndarray, seed: int | None, neighbours: tuple[np.ndarray, np.ndarray]) -> Any:
    """A Keras ``Sequence`` of graph batches; with ``seed`` the batch order is reshuffled each epoch."""
    import tensorflow as tf

    class GraphSequence(tf.keras.utils.Sequence):
        def __init__(self) -> None:
            super().__init__()
            self.rng = None if seed is None else np.random.default_rng(seed)
            self.order = np.arange(len(batches))
            self.on_epoch_end()

        def __len__(self) -> int:
            return len(batches)

        def __getitem__(self, i: int):
            feed, rows = data_feed(data, xs, batches[self.order[i]], k, neighbours)
            return tuple(feed), y[rows]

        def on_epoch_end(self) -> None:
            if self.rng is not None:
                self.rng.shuffle(self.order)

        def rng_state(self) -> dict | None:
            return None if self.rng is None else self.rng.bit_generator.state

        def restore(self, order: np.ndarray, rng_state: dict | None) -> None:
            """Back to the end of a checkpointed epoch, then on to the next epoch's order."""
            self.order = np.array(order)
            if self.rng is not None:
                self.rng.bit_generator.state = rng_state
            self.on_epoch_end()

    return GraphSequence()


def pileup_teacher_logits(model: Any, cfg: PileupTeacherConfig, xs: np.ndarray, data: PileupData,
                          *, progress: bool = True,
                          neighbours: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The teacher's logit (N,) float32 for every particle of ``data``, from standardized inputs ``xs``.

    ``neighbours``: :func:`~fpgakd.learn.pileup.graph.all_event_neighbours` of ``data`` if
    already found.

    >>> z = pileup_teacher_logits(model, cfg, xs, data)             # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    out = np.zeros(data.n_particles, dtype=np.float32)
    batches = data_batches(data, np.arange(data.events.n_events), _PREDICT_PARTICLES)
    for events in tqdm(batches, desc="pileup teacher", unit="batch", disable=not progress):
        feed, rows = data_feed(data, xs, events, cfg.edge_k, neighbours)
        out[rows] = np.asarray(model(list(feed), training=False))[:, 0]
    return out


# ---------------------------------------------------------------- training
def _fit(cfg: PileupTeacherConfig, data: PileupData, xs: np.ndarray, split: tuple[np.ndarray, np.ndarray],
         neighbours: tuple[np.ndarray, np.ndarray], checkpoint: Path,
         progress: bool) -> tuple[Any, dict[str, list[float]], list[float]]:
    """The trained model, its history and seconds per epoch; resumed from ``checkpoint`` when
    an earlier run left one."""
    import tensorflow as tf

    from fpgakd.learn.pileup.layers import build_pileup_teacher
    from fpgakd.learn.pileup.resume import (epoch_checkpoint_callback, read_epoch_checkpoint,
                                            restore_training_state)
    from fpgakd.learn.teacher_folds import teacher_callbacks

    train, val = split
    tf.keras.utils.set_random_seed(cfg.seed)
    model = build_pileup_teacher(cfg, xs.shape[1])
    model.compile(optimizer=tf.keras.optimizers.Adam(cfg.learning_rate),
                  loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")])
    y = data.is_hard.astype(np.float32)[:, None]
    # events are grouped once (a seeded order); the groups' order is reshuffled every epoch
    grouped = data_batches(data, np.random.default_rng(cfg.seed).permutation(train), cfg.batch_size)
    train_seq = _graph_sequence(xs, data, grouped, cfg.edge_k, y, cfg.seed, neighbours)
    val_seq = _graph_sequence(xs, data, data_batches(data, val, cfg.batch_size), cfg.edge_k, y, None,
                              neighbours)
    saved = read_epoch_checkpoint(checkpoint)
    if saved is not None:
        restore_training_state(model, train_seq, saved)
        log.info("pileup teacher: resuming after epoch %d from %s", saved["epoch"] + 1, checkpoint)
        if saved["finished"] or saved["epoch"] + 1 >= cfg.epochs:
            return model, saved["history"], saved.get("epoch_seconds", [])
    callbacks = teacher_callbacks(cfg.patience, progress, "pileup teacher")
    stopper, reducer = callbacks[:2]
    callbacks.append(epoch_checkpoint_callback(checkpoint, train_seq, stopper, reducer, saved))
    model.fit(train_seq, validation_data=val_seq, epochs=cfg.epochs, shuffle=False, verbose=0,
              initial_epoch=0 if saved is None else saved["epoch"] + 1, callbacks=callbacks)
    return model, callbacks[-1].history, callbacks[-1].epoch_seconds


def _test_metrics(data: PileupData, soft: np.ndarray, test_rows: np.ndarray) -> dict[str, Any]:
    from fpgakd.learn.pileup.metrics import weight_metrics

    truth = data.is_hard[test_rows]
    return {"teacher": weight_metrics(truth, soft[test_rows]),
            "puppi": weight_metrics(truth, data.puppi[test_rows], soft[test_rows])}


def _checkpoint_file(cfg: PileupTeacherConfig, data: PileupData, out_dir: Path) -> Path:
    """Where a training of ``cfg`` on ``data`` into ``out_dir`` keeps its epoch checkpoint (the cache)."""
    from fpgakd.learn.training import checkpoint_dirs, run_digest

    key = run_digest(config_to_dict(cfg), data.fingerprint)
    return checkpoint_dirs(out_dir, key, ["pileup_teacher"])["pileup_teacher"] / "epoch.npz"


def fit_pileup_teacher(data: PileupData, out_dir: str | os.PathLike, *,
                       config: PileupTeacherConfig | None = None, events_path: str | os.PathLike = "",
                       cache_dir: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """Train the teacher on ``data``'s training events; write ``out_dir`` atomically.

    The soft labels of every event are cached on the way (``cache_dir``, default the fpgakd
    cache's ``soft_targets``), so a distillation on the same data does not rerun the teacher.

    >>> fit_pileup_teacher(load_pileup_data("events.h5"), "runs/pileup_teacher")  # doctest: +SKIP
    PosixPath('runs/pileup_teacher')
    """
    configure_tensorflow()
    from fpgakd.atomic import atomic_dir
    from fpgakd.jets.preprocessing import Standardizer
    from fpgakd.learn.metrics import plot_training_curves
    from fpgakd.learn.teacher import sha256_files

    started = time.time()
    cfg = config or PileupTeacherConfig()
    train, val, test = data.split(cfg.split_seed)
    if len(train) == 0 or len(val) == 0:
        raise DataError(f"{data.events.source or 'events'}: {data.events.n_events} events are too "
                        "few to split into training and validation events")
    standardizer = Standardizer().fit(data.x[data.rows(train)], data.names)
    xs = standardizer.transform(data.x, data.names)
    # every epoch reads the same events: their neighbour lists are found once
    neighbours = all_event_neighbours(*data.coords, data.offsets, cfg.edge_k)
    checkpoint = _checkpoint_file(cfg, data, Path(out_dir))
    model, history, epoch_seconds = _fit(cfg, data, xs, (train, val), neighbours, checkpoint, progress)
    logits = pileup_teacher_logits(model, cfg, xs, data, progress=progress, neighbours=neighbours)
    soft = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        model.save(tmp / MODEL_FILE, include_optimizer=False, save_format="h5")
        plot_training_curves({"pileup teacher": history}, tmp / TRAINING_CURVES_FILE)
        meta: dict[str, Any] = {
            "format": TEACHER_FORMAT, "format_version": 1, "config": config_to_dict(cfg),
            "inputs": list(data.names), "standardization": standardizer.to_dict(),
            "events_path": str(Path(events_path).resolve()) if events_path else data.events.source,
            "data_fingerprint": data.fingerprint, "split_seed": cfg.split_seed,
            "n_events": {"train": int(len(train)), "val": int(len(val)), "test": int(len(test))},
            "test": _test_metrics(data, soft, data.rows(test)) if len(test) else {},
            "train_seconds": time.time() - started, "epoch_seconds": epoch_seconds, "history": history,
        }
        meta["identity"] = sha256_files([tmp / MODEL_FILE], _identity_extra(meta))
        write_teacher_meta(tmp, meta, pileup=True)
    _cache_soft_labels(meta["identity"], data, logits, out_dir, cache_dir)
    shutil.rmtree(checkpoint.parent, ignore_errors=True)
    log.info("pileup teacher written to %s (test accuracy %s, %.0f s)", out_dir,
             meta["test"].get("teacher", {}).get("accuracy"), meta["train_seconds"])
    return out_dir


def train_pileup_teacher(events_path: str | os.PathLike, out_dir: str | os.PathLike, *,
                         config: PileupTeacherConfig | None = None, epochs: int | None = None,
                         seed: int | None = None, puppi: np.ndarray | None = None,
                         progress: bool = True) -> Path:
    """Train a pileup teacher on an event file (truth flags required); returns ``out_dir``.

    ``epochs`` and ``seed`` override the config; ``puppi`` gives the PUPPI weights (one per
    particle), else they are computed (:func:`fpgakd.learn.pileup.events.load_pileup_data`).

    >>> train_pileup_teacher("events.h5", "runs/pileup_teacher", epochs=5)   # doctest: +SKIP
    PosixPath('runs/pileup_teacher')
    """
    from fpgakd.learn.pileup.events import load_pileup_data

    cfg = replace_given(config or PileupTeacherConfig(), {"epochs": epochs, "seed": seed}, "train_pileup_teacher()")
    data = load_pileup_data(events_path, puppi)
    return fit_pileup_teacher(data, out_dir, config=cfg, events_path=events_path, progress=progress)


# ---------------------------------------------------------------- loading and soft labels
def _identity_extra(meta: dict[str, Any]) -> bytes:
    """What besides the model file changes the teacher's outputs."""
    return json.dumps({k: meta[k] for k in ("config", "inputs", "standardization")},
                      sort_keys=True).encode()


def load_pileup_teacher(path: str | os.PathLike) -> PileupTeacher:
    """Resolve a pileup teacher directory (or its ``pileup_teacher.json``), checking its files.

    >>> load_pileup_teacher("runs/pileup_teacher").config.edge_k     # doctest: +SKIP
    16
    """
    from fpgakd.jets.preprocessing import Standardizer
    from fpgakd.learn.rundir import TEACHER_JSON as JET_TEACHER_JSON
    from fpgakd.learn.teacher import sha256_files

    path = Path(path)
    directory = path.parent if path.name == TEACHER_JSON else path
    meta_path = directory / TEACHER_JSON
    if not meta_path.is_file():
        what = "a jet teacher" if (directory / JET_TEACHER_JSON).is_file() else "no pileup teacher"
        raise DataError(f"{path}: {what} ({TEACHER_JSON} missing); train one with "
                        "fpgakd teacher --events EVENTS.h5")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{meta_path}: not a readable teacher description ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != TEACHER_FORMAT:
        raise DataError(f"{meta_path}: key 'format': expected {TEACHER_FORMAT!r}")
    if not (directory / MODEL_FILE).is_file():
        raise DataError(f"{directory / MODEL_FILE}: teacher model file missing")
    # a teacher written before the training settings nested under training: stores them flat
    cfg = config_from_stored(PileupTeacherConfig, meta.get("config") or {}, str(meta_path))
    standardizer = Standardizer.from_dict(meta.get("standardization"), f"{meta_path}: standardization")
    scaled = list(standardizer.feature_names_ or ())
    if scaled != list(meta.get("inputs") or ()):
        raise DataError(f"{meta_path}: key 'standardization': fitted on {scaled}, "
                        f"not on the teacher's inputs {meta.get('inputs')}")
    identity = sha256_files([directory / MODEL_FILE], _identity_extra(meta))
    return PileupTeacher(directory, cfg, standardizer, identity, meta)


def _soft_label_cache(identity: str, data: PileupData, cache_dir: str | os.PathLike | None
                      ) -> tuple[Path, str]:
    from fpgakd.cache import cache_dir as default_cache

    key = logits_key(identity, data.fingerprint, out_of_fold=False)
    return cache_file(cache_dir or default_cache() / "soft_targets", key), key


def _cache_soft_labels(identity: str, data: PileupData, logits: np.ndarray, source: Path,
                       cache_dir: str | os.PathLike | None) -> Path:
    cache, key = _soft_label_cache(identity, data, cache_dir)
    return write_cached_logits(cache, key, logits[:, None], {
        "teacher": str(source), "teacher_identity": identity, "data_fingerprint": data.fingerprint,
        "out_of_fold": False, "kind": "pileup soft labels (logits)"})


def pileup_soft_labels(teacher_path: str | os.PathLike, data: PileupData, *,
                       cache_dir: str | os.PathLike | None = None, progress: bool = True) -> np.ndarray:
    """The teacher's soft weight in [0, 1] (N,) float32 on every particle of ``data``, cached.

    >>> w = pileup_soft_labels("runs/pileup_teacher", data)          # doctest: +SKIP
    """
    configure_tensorflow()
    teacher = load_pileup_teacher(teacher_path)
    if tuple(teacher.meta.get("inputs", ())) != tuple(data.names):
        raise DataError(f"{teacher.directory / TEACHER_JSON}: key 'inputs' {teacher.meta.get('inputs')} "
                        f"differs from the event inputs {list(data.names)}")
    cache, key = _soft_label_cache(teacher.identity, data, cache_dir)
    logits = read_cached_logits(cache, key, (data.n_particles, 1))
    if logits is None:
        xs = teacher.standardizer.transform(data.x, data.names)
        logits = pileup_teacher_logits(teacher.load_model(), teacher.config, xs, data,
                                       progress=progress)[:, None]
        _cache_soft_labels(teacher.identity, data, logits[:, 0], teacher.directory, cache_dir)
    return (1.0 / (1.0 + np.exp(-logits[:, 0].astype(np.float64)))).astype(np.float32)
