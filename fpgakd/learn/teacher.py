"""The constituent-level teacher and its cached soft targets.

A teacher reads the pT-ordered constituents of a jet, ``x`` of shape (N, P, F), and their
``mask`` (N, P) (1 for a real particle), and outputs one logit per class; some also read
the raw ``kinematics`` (N, P, 3) and the standardized ``hlf`` (N, 16) (the input names are
listed under ``inputs`` in ``teacher.json``). Every built-in architecture
(:mod:`fpgakd.learn.teacher_archs`) is permutation invariant: per-particle or pairwise
layers, then a pooling over the particles that ignores the padding.

A teacher trained here is a directory::

    teacher/
        teacher.json          what it reads (inputs, features, P, standardizations, classes),
                              its split, accuracies, training time and identity hash
        teacher_fold0.h5 ...  one Keras model per fold (one file when n_folds = 1)
        folds.npy             (N,) int8: the fold of each training jet, -1 elsewhere

A user may instead give a Keras model file (``.h5`` or ``.keras``) whose single input
is the raw constituents (N, P, 11) in ``fpgakd.jets.jetfile.CONSTITUENT_NAMES`` order, or two
inputs (constituents, mask); a sidecar ``<model>.json`` with the same keys as
``teacher.json`` (``class_names``, ``constituent_features``, ``n_constituents``,
``standardization``) describes other inputs.

Soft targets (teacher logits on every jet of a data file) are cached in HDF5 under
``sha256(teacher identity, data fingerprint, out-of-fold flag)``: students never rerun
the teacher, and a changed teacher file gives a new key, never stale targets.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import TeacherConfig, config_from_dict, config_to_dict, replace_given
from fpgakd.errors import ConfigError, DataError
from fpgakd.learn.logit_cache import cache_file, logits_key, read_cached_logits, write_cached_logits
from fpgakd.learn.pairs import KINEMATIC_FEATURES
from fpgakd.learn.rundir import FOLDS_FILE, TEACHER_JSON, write_teacher_meta
from fpgakd.learn.runtime import configure_tensorflow
from fpgakd.learn.teacher_archs import (CONSTITUENTS, HLF, KINEMATICS, MASK, build_teacher, load_teacher_model,
                                        teacher_custom_objects, teacher_input_names)
from fpgakd.learn.teacher_folds import fit_folds

__all__ = ["TEACHER_FORMAT", "TeacherSpec", "build_teacher", "train_teacher", "load_teacher",
           "teacher_inputs", "teacher_extra_inputs", "teacher_logits", "teacher_custom_objects", "soft_target_key"]

log = logging.getLogger(__name__)

TEACHER_FORMAT = "fpgakd-teacher"
#: probabilities of a softmax teacher are clipped here before the log (log 0 is -inf)
_PROB_FLOOR = 1e-12
_HASH_CHUNK = 1 << 20


# ---------------------------------------------------------------- inputs
def teacher_inputs(dataset: Any, features: tuple[str, ...] | list[str], n_particles: int,
                   standardization: dict[str, list[float]] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Constituent features (N, P, F) float32 and mask (N, P) float32 for a teacher.

    Features are picked by name from ``dataset.constituent_names``; with
    ``standardization`` (``{"mean": [...], "std": [...]}``) they are standardized, and
    padded particles are set to zero either way.

    >>> x, m = teacher_inputs(ds, ("deta", "dphi"), 16)             # doctest: +SKIP
    """
    names = list(dataset.constituent_names)
    missing = [f for f in features if f not in names]
    if missing:
        raise DataError(f"{dataset.source}: constituent features {missing} needed by the teacher "
                        f"are not in the file (it has {names})")
    have = dataset.constituents.shape[1]
    if n_particles > have:
        raise DataError(f"{dataset.source}: the teacher reads {n_particles} constituents per jet, "
                        f"the file holds only {have}")
    idx = [names.index(f) for f in features]
    x = np.asarray(dataset.constituents[:, :n_particles, :], dtype=np.float32)[..., idx]
    mask = np.asarray(dataset.mask[:, :n_particles], dtype=np.float32)
    if standardization is not None:
        mean = np.asarray(standardization["mean"], dtype=np.float32)
        std = np.asarray(standardization["std"], dtype=np.float32)
        if mean.shape != (len(idx),) or std.shape != (len(idx),):
            raise DataError(f"teacher standardization: expected {len(idx)} means and stds for "
                            f"features {list(features)}, got {mean.shape} and {std.shape}")
        x = (x - mean) / std
    x *= mask[..., None]
    return x, mask


def teacher_extra_inputs(dataset: Any, names: tuple[str, ...] | list[str], n_particles: int,
                         hlf_standardization: dict[str, list[float]] | None = None
                         ) -> dict[str, np.ndarray]:
    """The inputs a teacher reads besides constituents and mask, by input name.

    ``kinematics``: raw (deta, dphi, pt) per particle (:mod:`fpgakd.learn.pairs`), 0 on
    padding; ``hlf``: the 16 high-level features, standardized with ``hlf_standardization``.

    >>> teacher_extra_inputs(ds, ["kinematics"], 64)["kinematics"].shape   # doctest: +SKIP
    (30000, 64, 3)
    """
    out: dict[str, np.ndarray] = {}
    if KINEMATICS in names:
        out[KINEMATICS], _ = teacher_inputs(dataset, KINEMATIC_FEATURES, n_particles)
    if HLF in names:
        if dataset.hlf is None:
            raise DataError(f"{dataset.source}: the teacher reads the high-level features "
                            f"(global_hlf), but this {dataset.format} data has none")
        hlf = np.asarray(dataset.hlf, dtype=np.float32)
        if hlf_standardization is not None:
            hlf = (hlf - np.asarray(hlf_standardization["mean"], np.float32)) / \
                np.asarray(hlf_standardization["std"], np.float32)
        out[HLF] = hlf
    return out


def _fit_standardization(x: np.ndarray, mask: np.ndarray) -> dict[str, list[float]]:
    real = x[mask > 0]
    std = real.std(axis=0)
    return {"mean": real.mean(axis=0).tolist(), "std": np.where(std > 0, std, 1.0).tolist()}


# ---------------------------------------------------------------- identity
def sha256_files(paths: list[Path], extra: bytes = b"") -> str:
    """sha256 of the files' names and bytes, then ``extra``: a teacher's identity."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
                digest.update(chunk)
    digest.update(extra)
    return digest.hexdigest()


def identity_extra(meta: dict[str, Any]) -> bytes:
    """The parts of the description that change the teacher's outputs."""
    keys = ("class_names", "constituent_features", "n_constituents", "standardization",
            "models", "output")
    # keys added later count only where present, so older teachers keep their identity
    later = ("inputs", "hlf_standardization")
    described = {k: meta.get(k) for k in keys} | {k: meta[k] for k in later if k in meta}
    return json.dumps(described, sort_keys=True).encode()


@dataclass(frozen=True)
class TeacherSpec:
    """A resolved teacher: model files, what they read, and the identity hash of all of it."""

    source: Path
    models: tuple[Path, ...]
    class_names: tuple[str, ...] | None
    constituent_features: tuple[str, ...] | None
    n_constituents: int | None
    standardization: dict[str, list[float]] | None
    #: "logits" or "probabilities" (a softmax output layer)
    output: str
    identity: str
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    folds: Path | None = None


def load_teacher(teacher_path: str | os.PathLike) -> TeacherSpec:
    """Resolve a teacher directory, its ``teacher.json``, or a user Keras model file.

    >>> load_teacher("runs/teacher").identity[:8]                  # doctest: +SKIP
    '3f2a9c1e'
    """
    path = Path(teacher_path)
    if path.is_dir():
        path = path / TEACHER_JSON
    if not path.exists():
        raise DataError(f"{teacher_path}: teacher not found (expected a teacher directory, "
                        f"its {TEACHER_JSON}, or a .h5/.keras model file)")
    if path.suffix == ".json":
        meta = _read_json(path)
        models = tuple(path.parent / m for m in meta.get("models", []))
        if not models:
            raise DataError(f"{path}: key 'models' is missing or empty")
        for m in models:
            if not m.is_file():
                raise DataError(f"{path}: model file {m.name} listed under 'models' is missing")
        folds = path.parent / FOLDS_FILE
        source = path
    elif path.suffix in (".h5", ".keras", ".hdf5"):
        sidecar = path.with_suffix(".json")
        meta = _read_json(sidecar) if sidecar.is_file() else {}
        meta.setdefault("models", [path.name])
        models = (path,)
        folds = None
        source = path
    else:
        raise DataError(f"{path}: unknown teacher file type {path.suffix!r}; expected a teacher "
                        f"directory, {TEACHER_JSON}, .h5 or .keras")
    meta.setdefault("output", "logits" if "class_names" in meta else None)
    identity = sha256_files(list(models), identity_extra(meta))
    return TeacherSpec(
        source=source, models=models,
        class_names=tuple(meta["class_names"]) if "class_names" in meta else None,
        constituent_features=(tuple(meta["constituent_features"])
                              if "constituent_features" in meta else None),
        n_constituents=meta.get("n_constituents"),
        standardization=meta.get("standardization"),
        output=meta.get("output") or "auto", identity=identity, meta=meta,
        folds=folds if folds is not None and folds.is_file() else None)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not a readable teacher description ({err})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data


# ---------------------------------------------------------------- inference
def _model_input_names(model: Any) -> list[str]:
    """What the model's inputs are fed: one constituents input, (constituents, mask), or by name."""
    n = len(model.inputs)
    if n <= 2:
        return [CONSTITUENTS, MASK][:n]
    return list(model.input_names)


def _check_model(model: Any, spec: TeacherSpec, path: Path, dataset: Any,
                 inputs: dict[str, np.ndarray]) -> None:
    """Raise a DataError naming both sides when model and data do not fit together."""
    n_classes = len(dataset.class_names)
    out = model.output_shape
    if isinstance(out, list) or len(out) != 2 or out[-1] != n_classes:
        raise DataError(f"{path}: teacher outputs shape {out}, the data file {dataset.source} has "
                        f"{n_classes} classes {list(dataset.class_names)}")
    shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    names = _model_input_names(model)
    want = [(None, *inputs[n].shape[1:]) if n in inputs else None for n in names]
    if len(shapes) not in (1, 2) and len(shapes) != len(spec.meta.get("inputs", ())) or \
            any(tuple(s) != w for s, w in zip(shapes, want)):
        given = ", ".join(f"{n} {(None, *v.shape[1:])}" for n, v in inputs.items())
        raise DataError(f"{path}: teacher inputs {shapes}, but the data file {dataset.source} gives "
                        f"{given} (features {list(spec.constituent_features or [])})")


#: the soft targets come from a float64 forward pass, rounded to float32 once at the end: in
#: float32 the teacher's sums follow oneDNN's kernels, which the processor picks at run time
#: (other logits with the kernels capped at AVX than at AVX2), in float64 they come out the
#: same bits (benchmarks/bench_soft_target_isa.py)
SOFT_TARGET_PRECISION = "float64"


def _float64_copy(model: Any, spec: TeacherSpec) -> Any | None:
    """``model`` rebuilt from the teacher's config in float64 with its weights; None for a
    teacher fpgakd did not build (no config recorded, or other layers)."""
    import tensorflow as tf

    if not isinstance(spec.meta.get("config"), dict):
        return None
    cfg = config_from_dict(TeacherConfig, spec.meta["config"], f"{spec.source}: teacher config")
    shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    floatx = tf.keras.backend.floatx()
    tf.keras.backend.set_floatx(SOFT_TARGET_PRECISION)
    try:
        copy = build_teacher(cfg, shapes[0][1], shapes[0][2], model.output_shape[-1])
    finally:
        tf.keras.backend.set_floatx(floatx)
    weights = model.get_weights()
    if [w.shape for w in copy.get_weights()] != [w.shape for w in weights]:
        return None
    copy.set_weights([w.astype(SOFT_TARGET_PRECISION) for w in weights])
    return copy


def _model_logits(model: Any, spec: TeacherSpec, inputs: dict[str, np.ndarray],
                  batch_size: int) -> np.ndarray:
    feed = [inputs[n] for n in _model_input_names(model)]
    copy = _float64_copy(model, spec)
    if copy is None:
        log.info("%s: not rebuilt in float64, its soft targets follow this processor's kernels", spec.source)
    else:
        model, feed = copy, [x.astype(SOFT_TARGET_PRECISION) for x in feed]
    pred = np.asarray(model.predict(feed if len(feed) > 1 else feed[0], batch_size=batch_size,
                                    verbose=0), dtype=np.float64)
    output = spec.output
    if output == "auto":
        act = getattr(model.layers[-1], "activation", None)
        output = "probabilities" if getattr(act, "__name__", "") == "softmax" else "logits"
    if output == "probabilities":
        # log p is a valid logit vector: softmax(log p) = p
        pred = np.log(np.clip(pred, _PROB_FLOOR, 1.0))
    return pred.astype(np.float32)


def soft_target_key(spec: TeacherSpec, dataset: Any, out_of_fold: bool) -> str:
    """The cache key: sha256 of teacher identity, data fingerprint and the out-of-fold flag.

    >>> soft_target_key(load_teacher("teacher"), ds, True)[:8]    # doctest: +SKIP
    'a91c03d2'
    """
    return logits_key(f"{spec.identity}\nforward pass: {SOFT_TARGET_PRECISION}", dataset.fingerprint(), out_of_fold)


def teacher_logits(teacher_path: str | os.PathLike, dataset: Any, *,
                   cache_dir: str | os.PathLike, out_of_fold: bool = True,
                   batch_size: int = 1024, progress: bool = True) -> np.ndarray:
    """Teacher logits (N, n_classes) float32 on every jet of ``dataset``, cached in HDF5.

    With ``out_of_fold`` and a teacher trained on this very data file with folds, each
    training jet gets the logits of the fold model that never saw it and every other jet
    the mean over fold models; otherwise every jet gets the mean over all model files.

    >>> z = teacher_logits("runs/teacher", load_jets("jets.h5"), cache_dir="cache")  # doctest: +SKIP
    """
    configure_tensorflow()
    spec = load_teacher(teacher_path)
    if spec.class_names is not None and tuple(spec.class_names) != tuple(dataset.class_names):
        raise DataError(f"{spec.source}: teacher classes {list(spec.class_names)} differ from "
                        f"{dataset.source} classes {list(dataset.class_names)}")
    use_oof = bool(out_of_fold and spec.folds is not None and len(spec.models) > 1
                   and spec.meta.get("data_fingerprint") == dataset.fingerprint())
    if out_of_fold and spec.folds is not None and len(spec.models) > 1 and not use_oof:
        log.info("teacher %s was trained on other data: soft targets are fold means, not out of fold",
                 spec.source)
    key = soft_target_key(spec, dataset, use_oof)
    cache = cache_file(cache_dir, key)
    n, n_classes = len(dataset.labels), len(dataset.class_names)
    cached = read_cached_logits(cache, key, (n, n_classes))
    if cached is not None:
        return cached
    first = load_teacher_model(spec.models[0])
    inputs = _spec_inputs(spec, first, dataset)
    folds = None
    if use_oof:
        folds = np.load(spec.folds)
        if folds.shape != (n,):
            raise DataError(f"{spec.folds}: {folds.shape[0]} fold entries for {n} jets")
    logits = np.zeros((n, n_classes), dtype=np.float64)
    counts = np.zeros(n, dtype=np.float64)
    from tqdm.auto import tqdm

    for k, model_path in enumerate(tqdm(spec.models, desc="teacher inference", disable=not progress)):
        model = first if k == 0 else load_teacher_model(model_path)
        _check_model(model, spec, model_path, dataset, inputs)
        z = _model_logits(model, spec, inputs, batch_size)
        # fold model k never saw fold k; it scores those jets alone, and votes on the rest
        use = slice(None) if folds is None else (folds == k) | (folds < 0)
        logits[use] += z[use]
        counts[use] += 1
    logits = (logits / counts[:, None]).astype(np.float32)
    write_cached_logits(cache, key, logits, {
        "teacher": str(spec.source), "teacher_identity": spec.identity,
        "data_fingerprint": dataset.fingerprint(), "out_of_fold": use_oof,
        "class_names": list(dataset.class_names)})
    return logits


def _spec_inputs(spec: TeacherSpec, first: Any, dataset: Any) -> dict[str, np.ndarray]:
    """Every input the teacher of ``spec`` reads, by name, computed from ``dataset``."""
    features = spec.constituent_features or tuple(dataset.constituent_names)
    n_particles = spec.n_constituents
    if n_particles is None:
        shapes = first.input_shape if isinstance(first.input_shape, list) else [first.input_shape]
        n_particles = shapes[0][1] if len(shapes[0]) == 3 and shapes[0][1] else None
        if n_particles is None:
            raise DataError(f"{spec.models[0]}: teacher input shape {shapes[0]} is not "
                            f"(None, P, F) constituents")
    x, mask = teacher_inputs(dataset, features, n_particles, spec.standardization)
    extras = teacher_extra_inputs(dataset, spec.meta.get("inputs", ()), n_particles,
                                  spec.meta.get("hlf_standardization"))
    return {CONSTITUENTS: x, MASK: mask, **extras}


# ---------------------------------------------------------------- training
def _training_inputs(cfg: TeacherConfig, dataset: Any, train: np.ndarray,
                     scaling: dict[str, Any] | None = None
                     ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The teacher's inputs, standardized on the train split (or with a given ``scaling``,
    that of a pre-trained teacher), and the standardizations."""
    n_particles = min(cfg.n_constituents, dataset.constituents.shape[1])
    if n_particles < cfg.n_constituents:
        log.warning("%s holds %d constituents per jet; the teacher reads %d instead of %d",
                    dataset.source, n_particles, n_particles, cfg.n_constituents)
    names = teacher_input_names(cfg)
    if scaling is None:
        x_raw, mask = teacher_inputs(dataset, cfg.constituent_features, n_particles)
        scaling = {"standardization": _fit_standardization(x_raw[train], mask[train])}
        del x_raw
        raw = teacher_extra_inputs(dataset, names, n_particles)
        if HLF in raw:
            # the HLF scaling travels in teacher.json, like the constituents'
            scaling["hlf_standardization"] = _fit_standardization(raw[HLF][train], np.ones(len(train)))
    x, mask = teacher_inputs(dataset, cfg.constituent_features, n_particles, scaling["standardization"])
    extras = teacher_extra_inputs(dataset, names, n_particles, scaling.get("hlf_standardization"))
    return {CONSTITUENTS: x, MASK: mask, **extras}, scaling


def _assign_folds(cfg: TeacherConfig, n: int, train: np.ndarray) -> np.ndarray:
    """(n,) int8: the fold of each training jet, -1 for jets outside the train split."""
    if cfg.n_folds > 1 and len(train) < cfg.n_folds:
        raise ConfigError(f"teacher n_folds={cfg.n_folds}: only {len(train)} training jets")
    folds = np.full(n, -1, dtype=np.int8)
    if cfg.n_folds > 1:
        order = np.random.default_rng(cfg.seed).permutation(train)
        for k, part in enumerate(np.array_split(order, cfg.n_folds)):
            folds[part] = k
    return folds


def _pretrained_start(initial_teacher: str | os.PathLike, cfg: TeacherConfig
                      ) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The model file a fine-tuning starts from, its input scaling, and its record.

    The scaling is the pre-trained teacher's own: its first layer learned on inputs scaled
    that way, so new data standardized afresh would reach it shifted.
    """
    spec = load_teacher(initial_teacher)
    if len(spec.models) != 1:
        raise DataError(f"{spec.source}: fine-tuning starts from one model, this teacher has "
                        f"{len(spec.models)} (train it with n_folds: 1)")
    expected = {"arch": cfg.arch, "constituent_features": list(cfg.constituent_features),
                "inputs": list(teacher_input_names(cfg))}
    for key, value in expected.items():
        if spec.meta.get(key) != value:
            raise ConfigError(f"{spec.source}: the pre-trained teacher has {key} {spec.meta.get(key)!r}, "
                              f"the fine-tuning config {value!r}")
    if spec.standardization is None:
        raise DataError(f"{spec.source}: key 'standardization' is missing: its input scaling is unknown")
    scaling = {k: spec.meta[k] for k in ("standardization", "hlf_standardization") if k in spec.meta}
    return spec.models[0], scaling, {"path": str(spec.source.parent), "identity": spec.identity,
                                     "n_constituents": spec.n_constituents}


def _initial_val_accuracy(cfg: TeacherConfig, start: Path, inputs: dict[str, np.ndarray],
                          y: np.ndarray, val: np.ndarray) -> float:
    """Validation accuracy of the pre-trained model before its first step (zero-shot)."""
    model = load_teacher_model(start)
    shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    if shapes[0][1] != inputs[CONSTITUENTS].shape[1]:
        raise DataError(f"{start}: the pre-trained teacher reads {shapes[0][1]} constituents, "
                        f"the fine-tuning {inputs[CONSTITUENTS].shape[1]}")
    z = model.predict([inputs[k][val] for k in teacher_input_names(cfg)], batch_size=1024, verbose=0)
    return float(np.mean(z.argmax(1) == y[val]))


def _teacher_meta(cfg: TeacherConfig, dataset: Any, jets_path: str | os.PathLike,
                  n_particles: int, scaling: dict[str, Any], files: list[str],
                  split: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                  pred: np.ndarray) -> dict[str, Any]:
    """``teacher.json`` but the identity, training time and histories; ``split`` is
    (train, val, test, the training jets actually used)."""
    y = np.asarray(dataset.labels)
    train, val, test, used = split
    return {
        "format": TEACHER_FORMAT, "format_version": 1,
        "arch": cfg.arch, "config": config_to_dict(cfg),
        "class_names": list(dataset.class_names),
        "constituent_features": list(cfg.constituent_features),
        "n_constituents": int(n_particles),
        **scaling, "inputs": list(teacher_input_names(cfg)),
        "output": "logits",
        "models": files,
        "jets_path": str(Path(jets_path).resolve()),
        "data_fingerprint": dataset.fingerprint(),
        "split_seed": cfg.split_seed,
        "n_train": int(len(train)), "n_val": int(len(val)), "n_test": int(len(test)),
        "n_train_used": int(len(used)),
        "val_accuracy": float(np.mean(pred[val] == y[val])),
        "test_accuracy": float(np.mean(pred[test] == y[test])),
        "train_accuracy_out_of_fold" if cfg.n_folds > 1 else "train_accuracy":
            float(np.mean(pred[used] == y[used])),
    }


def train_teacher(jets_path: str | os.PathLike, out_dir: str | os.PathLike, *,
                  config: TeacherConfig | None = None, arch: str | None = None,
                  epochs: int | None = None, seed: int | None = None,
                  n_folds: int | None = None, train_fraction: float = 1.0,
                  fraction_seed: int = 0, initial_teacher: str | os.PathLike | None = None,
                  progress: bool = True, workers: int | None = None) -> Path:
    """Train a teacher on a jet file and write the teacher directory ``out_dir`` atomically.

    Keyword arguments other than ``config`` override its fields. The data are split with
    ``config.split_seed`` (:func:`fpgakd.jets.preprocessing.split_indices`); the teacher trains
    on the train split only, with early stopping on the validation split, and ``teacher.json``
    records its validation and test accuracy (of the fold-model mean), the out-of-fold
    accuracy on the training jets and the training wall time.

    ``train_fraction`` < 1 trains on ``round(train_fraction * n_train)`` jets of the train
    split, drawn per class with ``fraction_seed``
    (:func:`~fpgakd.jets.preprocessing.subsample_stratified`); validation and test splits stay
    whole. ``initial_teacher`` (a one-model teacher directory) fine-tunes that teacher
    instead of training a new one: every fold model starts from its weights and inputs are
    scaled with its standardization; ``teacher.json`` then names it under ``pretrained``,
    with its validation accuracy before the first step. The fold models train side by side
    on ``workers`` processes (default: one per fold, as the cores allow; see
    :mod:`fpgakd.learn.teacher_folds`), which changes the wall time, not the weights.

    >>> train_teacher("jets.h5", "runs/teacher", epochs=5)         # doctest: +SKIP
    PosixPath('runs/teacher')
    """
    configure_tensorflow()
    from fpgakd.atomic import atomic_dir
    from fpgakd.jets.loading import load_jets
    from fpgakd.jets.preprocessing import split_indices, subsample_stratified

    started = time.time()
    cfg = replace_given(config or TeacherConfig(), {"arch": arch, "epochs": epochs, "seed": seed, "n_folds": n_folds},
                        "train_teacher()")
    dataset = load_jets(jets_path)
    y = np.asarray(dataset.labels, dtype=np.int64)
    n, n_classes = len(y), len(dataset.class_names)
    train, val, test = split_indices(n, seed=cfg.split_seed, labels=y)
    used = subsample_stratified(train, y, train_fraction, seed=fraction_seed)
    folds = _assign_folds(cfg, n, used)
    start, scaling, pretrained = (_pretrained_start(initial_teacher, cfg) if initial_teacher is not None
                                  else (None, None, None))
    inputs, scaling = _training_inputs(cfg, dataset, used, scaling)
    if start is not None:
        pretrained["initial_val_accuracy"] = _initial_val_accuracy(cfg, start, inputs, y, val)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        files, histories, pred = fit_folds(cfg, inputs, y, (used, val), folds, n_classes, tmp, progress,
                                           start, workers)
        np.save(tmp / FOLDS_FILE, folds)
        meta = _teacher_meta(cfg, dataset, jets_path, inputs[CONSTITUENTS].shape[1], scaling, files,
                             (train, val, test, used), pred)
        meta.update({"train_fraction": float(train_fraction), "fraction_seed": int(fraction_seed),
                     **({"pretrained": pretrained} if pretrained else {}),
                     "train_seconds": time.time() - started, "histories": histories})
        meta["identity"] = sha256_files([tmp / m for m in files], identity_extra(meta))
        write_teacher_meta(tmp, meta)
    log.info("teacher written to %s (val %.4f, test %.4f, %.0f s)", out_dir, meta["val_accuracy"],
             meta["test_accuracy"], meta["train_seconds"])
    return out_dir
