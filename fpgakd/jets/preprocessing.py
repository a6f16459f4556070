"""From a dataset to a student's inputs: feature matrix, train/val/test split, standardization.

:func:`student_inputs` flattens the features a student reads (high-level or per-particle,
with derived ones, :data:`DERIVED_FEATURES`), :func:`split_indices` draws the reproducible,
stratified split, and :class:`Standardizer` scales the inputs with parameters fitted on the
training split and stored with the student.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import HLF_INPUT, HYBRID_INPUT, PARTICLE_INPUT, PARTICLE_SET_INPUT, InputConfig
from fpgakd.jets.events.particle_inputs import N_PARTICLE_INPUTS
from fpgakd.jets.jetfile import HLF_NAMES
from fpgakd.jets.dataset import JetDataset, _check_finite, _safe_log, _shape_text
from fpgakd.errors import ConfigError, DataError

__all__ = ["student_inputs", "fit_student_standardizer", "MASK_FEATURE", "DERIVED_FEATURES", "split_indices", "subsample_stratified", "Standardizer"]

log = logging.getLogger(__name__)

#: Per-particle features computed on demand: name -> (stored feature, function of it).
#: Padding slots read 0 for every feature, derived ones included.
DERIVED_FEATURES: dict[str, str] = {"log_pt_frac": "pt_frac", "log_e_frac": "e_frac"}

#: The last per-particle column of a ``particle_set`` student: 1 for a real particle, 0 for padding
MASK_FEATURE = "mask"
#: a particle column's name: p<index>_<feature> (:func:`student_inputs`)
_PARTICLE_COLUMN = re.compile(r"p\d+_")


# ===================================================================== student inputs
def student_inputs(dataset: JetDataset, inputs: InputConfig) -> tuple[np.ndarray, tuple[str, ...]]:
    """The flat (N, n_features) float32 matrix a student reads, and its feature names.

    ``type: hlf``: the 16 high-level features. ``type: constituents``: the first
    ``n_constituents`` particles (pT order as stored), each with ``constituent_features``,
    flattened particle-major (``p0_deta, p0_dphi, ..., p1_deta, ...``); padding is 0.
    ``type: hybrid``: the 16 features, then those constituent columns.
    ``type: particle_set`` (Deep Sets): the constituent columns with each particle's 0/1
    :data:`MASK_FEATURE` after its features, so a padded particle reads all zeros; the file
    must store at least ``n_constituents`` particles per jet. With ``hlf: true`` the 16
    features follow the particles.
    Derived features (:data:`DERIVED_FEATURES`) are logs of the stored fractions.

    >>> x, names = student_inputs(ds, InputConfig(type="constituents", n_constituents=8))  # doctest: +SKIP
    >>> x.shape, names[:2]                                     # doctest: +SKIP
    ((30000, 24), ('p0_deta', 'p0_dphi'))
    """
    if inputs.type == HLF_INPUT:
        return _hlf_inputs(dataset)
    if inputs.type == HYBRID_INPUT:
        hlf, hlf_names = _hlf_inputs(dataset)
        con, con_names = _constituent_inputs(dataset, inputs)
        return np.concatenate([hlf, con], axis=1), hlf_names + con_names
    particles = _constituent_inputs(dataset, inputs, with_mask=inputs.type == PARTICLE_SET_INPUT)
    if not inputs.hlf:
        return particles
    hlf, hlf_names = _hlf_inputs(dataset)
    return np.concatenate([particles[0], hlf], axis=1), particles[1] + hlf_names


def student_input_width(inputs: InputConfig) -> int:
    """How many numbers a student with ``inputs`` reads per jet (its first layer's width).

    >>> student_input_width(InputConfig(type="hybrid", n_constituents=4))
    28
    """
    if inputs.type == PARTICLE_INPUT:
        return N_PARTICLE_INPUTS + inputs.puppi_raw_weight
    per_particle = inputs.n_constituents * (len(inputs.constituent_features) + (inputs.type == PARTICLE_SET_INPUT))
    if inputs.hlf:
        return per_particle + len(HLF_NAMES)
    return {HLF_INPUT: len(HLF_NAMES), HYBRID_INPUT: len(HLF_NAMES) + per_particle}.get(inputs.type, per_particle)


def _hlf_inputs(dataset: JetDataset) -> tuple[np.ndarray, tuple[str, ...]]:
    if dataset.hlf is None:
        raise DataError(f"{dataset.source}: the student reads the high-level features ('hlf'), "
                        f"but this {dataset.format} data has none; use a constituent student")
    return np.array(dataset.hlf, dtype=np.float32), tuple(dataset.hlf_names)


def _constituent_inputs(dataset: JetDataset, inputs: InputConfig,
                        with_mask: bool = False) -> tuple[np.ndarray, tuple[str, ...]]:
    if dataset.constituents is None:
        raise DataError(f"{dataset.source}: the student reads constituents, but this {dataset.format} "
                        "data has no 'constituents'; use an hlf student")
    stored = {name: i for i, name in enumerate(dataset.constituent_names)}
    available = list(dataset.constituent_names) + [d for d, base in DERIVED_FEATURES.items() if base in stored]
    for name in inputs.constituent_features:
        if name not in available:
            raise ConfigError(f"inputs.constituent_features: unknown feature {name!r} for "
                              f"{dataset.source}; available: {', '.join(available)}")
    n_jets, n_slots, _ = dataset.constituents.shape
    n_read = min(inputs.n_constituents, n_slots)
    if with_mask and inputs.n_constituents > n_slots:
        # a Deep Sets student pools over n_constituents: slots the file never had are not padding
        raise ConfigError(f"inputs.n_constituents: {inputs.n_constituents} particles, but "
                          f"{dataset.source} stores {n_slots} per jet")
    if inputs.n_constituents > n_slots:
        log.warning("%s: student reads %d constituents but the data has %d slots; the rest are zero",
                    dataset.source, inputs.n_constituents, n_slots)
    mask = dataset.mask[:, :n_read]
    features = inputs.constituent_features + ((MASK_FEATURE,) if with_mask else ())
    out = np.zeros((n_jets, inputs.n_constituents, len(features)), dtype=np.float32)
    for j, name in enumerate(features):
        if with_mask and j == len(features) - 1:
            out[:, :n_read, j] = mask
        elif name in stored:
            values = dataset.constituents[:, :n_read, stored[name]]
            out[:, :n_read, j] = np.where(mask, values, 0.0)
        else:
            base = dataset.constituents[:, :n_read, stored[DERIVED_FEATURES[name]]].astype(np.float64)
            out[:, :n_read, j] = _safe_log(base, mask)
    names = tuple(f"p{p}_{name}" for p in range(inputs.n_constituents) for name in features)
    return out.reshape(n_jets, -1), names


def fit_student_standardizer(x: np.ndarray, names: Sequence[str], inputs: InputConfig) -> "Standardizer":
    """The :class:`Standardizer` of a student's inputs, fitted on ``x`` (the training split).

    A ``particle_set`` student's particle columns are only scaled (by their root mean square),
    never shifted, and its mask columns are kept as they are: a padded particle then still reads
    exactly zero, which is how its Deep Sets network leaves it out (bias-free per-particle layers).
    Its high-level features (``hlf: true``) are standardized as any student's.

    >>> x = np.array([[2.0, 1.0, 0.0, 0.0], [-2.0, 1.0, 0.0, 0.0]])
    >>> s = fit_student_standardizer(x, ("p0_a", "p0_mask", "p1_a", "p1_mask"),
    ...                              InputConfig(type="particle_set", n_constituents=2, constituent_features=("a",)))
    >>> s.transform(x).tolist()
    [[1.0, 1.0, 0.0, 0.0], [-1.0, 1.0, 0.0, 0.0]]
    """
    standardizer = Standardizer(clip=inputs.clip).fit(x, names)
    if inputs.type != PARTICLE_SET_INPUT:
        return standardizer
    values = np.asarray(x, dtype=np.float64)
    rms = np.sqrt(np.mean(values ** 2, axis=0))
    names = standardizer.feature_names_
    is_mask = np.array([name.endswith("_" + MASK_FEATURE) for name in names])
    is_particle = np.array([_PARTICLE_COLUMN.match(name) is not None for name in names])
    standardizer.mean_ = np.where(is_particle, 0.0, standardizer.mean_)
    standardizer.scale_ = np.where(is_particle, np.where(is_mask | (rms == 0), 1.0, rms), standardizer.scale_)
    return standardizer


# ===================================================================== splitting
def split_indices(n: int, fractions: Sequence[float] = (0.6, 0.2, 0.2), seed: int = 0,
                  labels: Sequence[int] | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint train/val/test index arrays covering ``range(n)``, reproducible from ``seed``.

    With ``labels``, every class is split in the same fractions (stratified). Each array
    is sorted. Fractions must be three non-negative numbers summing to 1.

    >>> [len(s) for s in split_indices(10, (0.6, 0.2, 0.2), seed=1)]
    [6, 2, 2]
    """
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or any(f < 0 or not math.isfinite(f) for f in fractions) \
            or not math.isclose(sum(fractions), 1.0, abs_tol=1e-9):
        raise ConfigError(f"split fractions: got {fractions}, expected three non-negative numbers "
                          "(train, val, test) summing to 1")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    if labels is None:
        groups = [np.arange(n)]
    else:
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {labels.shape}")
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    cumulative = np.cumsum(fractions)
    parts: list[list[np.ndarray]] = [[], [], []]
    for group in groups:
        shuffled = rng.permutation(group)
        bounds = np.floor(cumulative * len(group) + 0.5).astype(int)
        bounds[-1] = len(group)
        for k, chunk in enumerate(np.split(shuffled, bounds[:-1])):
            parts[k].append(chunk)
    train, val, test = (np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    return train, val, test


def subsample_stratified(indices: np.ndarray, labels: np.ndarray, fraction: float,
                         seed: int = 0) -> np.ndarray:
    """``round(fraction * len(indices))`` of ``indices``, drawn per class, sorted.

    Each class keeps its share of the subsample: the per-class quotas are rounded down and
    the jets left over go to the classes with the largest remainders (ties: lower class
    first), so the total is exact. ``labels`` is indexed by the values of ``indices``.

    >>> labels = np.repeat([0, 1], 50)
    >>> sub = subsample_stratified(np.arange(100), labels, 0.1, seed=3)
    >>> len(sub), int((labels[sub] == 0).sum())
    (10, 5)
    """
    indices = np.asarray(indices, dtype=np.int64)
    if not (0.0 < fraction <= 1.0):
        raise ConfigError(f"subsample fraction: got {fraction!r}, expected a number in (0, 1]")
    total = int(round(fraction * len(indices)))
    if total < 1:
        raise DataError(f"a fraction {fraction} of {len(indices)} jets keeps none of them")
    own = np.asarray(labels)[indices]
    classes, counts = np.unique(own, return_counts=True)
    quota = fraction * counts
    take = np.floor(quota).astype(np.int64)
    # largest remainder; a stable sort keeps ties in class order
    order = np.argsort(-(quota - take), kind="stable")
    take[order[:total - int(take.sum())]] += 1
    rng = np.random.default_rng(seed)
    picked = [rng.choice(indices[own == c], size=k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(picked)).astype(np.int64)


# ===================================================================== standardization
class Standardizer:
    """Per-feature (x - mean) / scale, fitted on training data and stored with the model;
    with ``clip``, the result saturates at +-clip.

    ``scale`` is the standard deviation; a constant feature gets scale 1. The fitted
    parameters travel with a trained student (JSON) and are never recomputed at inference.

    >>> s = Standardizer().fit(np.array([[0.0, 5.0], [2.0, 5.0]]), ("a", "b"))
    >>> s.transform(np.array([[1.0, 5.0]])).tolist()
    [[0.0, 0.0]]
    >>> Standardizer(clip=1.5).fit(np.array([[0.0], [2.0]])).transform(np.array([[9.0]])).tolist()
    [[1.5]]
    """

    _KIND = "fpgakd.Standardizer"
    _VERSION = 1

    def __init__(self, clip: float | None = None) -> None:
        """``clip``: the bound of the standardized values (None: none); the rest is learned by :meth:`fit`."""
        if clip is not None and not (math.isfinite(clip) and clip > 0):
            raise DataError(f"standardizer: clip must be a positive number or None, got {clip!r}")
        self.clip_ = None if clip is None else float(clip)

    def __repr__(self) -> str:
        if not hasattr(self, "mean_"):
            return "Standardizer(unfitted)"
        return f"Standardizer(n_features={self.n_features_in_})"

    @property
    def n_features_in_(self) -> int:
        """Number of features seen by :meth:`fit`."""
        self._check_fitted()
        return int(self.mean_.shape[0])

    def fit(self, x: np.ndarray, names: Sequence[str] | None = None) -> "Standardizer":
        """Learn mean_ and scale_ per column of ``x`` (N, F); ``names`` default x0, x1, ...

        >>> Standardizer().fit(np.array([[1.0], [3.0]])).scale_.tolist()
        [1.0]
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise DataError(f"standardizer fit: expected a non-empty (N, F) matrix, got shape {_shape_text(x.shape)}")
        _check_finite(x, "standardizer fit", "x")
        names = tuple(f"x{i}" for i in range(x.shape[1])) if names is None else tuple(map(str, names))
        if len(names) != x.shape[1]:
            raise DataError(f"standardizer fit: {len(names)} feature names for {x.shape[1]} columns")
        scale = x.std(axis=0)
        constant = np.ptp(x, axis=0) == 0
        self.mean_ = x.mean(axis=0)
        self.scale_ = np.where(constant, 1.0, scale)
        self.feature_names_ = names
        return self

    def transform(self, x: np.ndarray, names: Sequence[str] | None = None) -> np.ndarray:
        """(x - mean_) / scale_ as float32; ``names``, if given, must match the fitted ones.

        >>> Standardizer().fit(np.zeros((2, 3))).transform(np.ones((1, 3))).tolist()
        [[1.0, 1.0, 1.0]]
        """
        self._check_fitted()
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_features_in_:
            got = x.shape[1] if x.ndim == 2 else f"shape {_shape_text(x.shape)}"
            raise DataError(f"standardizer: fitted on {self.n_features_in_} features, got {got}")
        if names is not None and tuple(names) != self.feature_names_:
            diff = next(i for i, (a, b) in enumerate(zip(tuple(names) + ("",) * len(self.feature_names_),
                                                          self.feature_names_)) if a != b)
            got_name = tuple(names)[diff] if diff < len(tuple(names)) else "<none>"
            raise DataError(f"standardizer: feature {diff} is {got_name!r}, but it was fitted on "
                            f"{self.feature_names_[diff]!r}")
        z = (x - self.mean_) / self.scale_
        return (z if self.clip_ is None else np.clip(z, -self.clip_, self.clip_)).astype(np.float32)

    def fit_transform(self, x: np.ndarray, names: Sequence[str] | None = None) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same data.

        >>> Standardizer().fit_transform(np.array([[1.0], [3.0]])).ravel().tolist()
        [-1.0, 1.0]
        """
        return self.fit(x, names).transform(x)

    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise DataError("standardizer is not fitted: call fit() or load() first")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able parameters (float64 values, exact through JSON).

        >>> Standardizer().fit(np.array([[1.0], [3.0]]), ("a",)).to_dict()["mean"]
        [2.0]
        """
        self._check_fitted()
        data = {"kind": self._KIND, "version": self._VERSION, "feature_names": list(self.feature_names_),
                "mean": [float(v) for v in self.mean_], "scale": [float(v) for v in self.scale_]}
        # no clip, no key: the files of unclipped students stay as they were
        return data if self.clip_ is None else {**data, "clip": self.clip_}

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> "Standardizer":
        """Rebuild from :meth:`to_dict` output, checking every key.

        >>> s = Standardizer().fit(np.array([[1.0], [3.0]]))
        >>> Standardizer.from_dict(s.to_dict()).mean_.tolist()
        [2.0]
        """
        if not isinstance(data, dict):
            raise DataError(f"{source}: expected a JSON object, got {type(data).__name__}")
        if data.get("kind") != cls._KIND:
            raise DataError(f"{source}: key 'kind' is {data.get('kind')!r}, expected {cls._KIND!r}")
        for key in ("feature_names", "mean", "scale"):
            if not isinstance(data.get(key), list) or not data[key]:
                raise DataError(f"{source}: key '{key}' is missing or not a non-empty list")
        n = len(data["feature_names"])
        clip = data.get("clip")
        if clip is not None and (isinstance(clip, bool) or not isinstance(clip, (int, float))
                                 or not math.isfinite(clip) or clip <= 0):
            raise DataError(f"{source}: key 'clip' is {clip!r}, expected a positive number")
        out = cls(clip=clip)
        for key in ("mean", "scale"):
            if len(data[key]) != n:
                raise DataError(f"{source}: key '{key}' has {len(data[key])} values for {n} features")
            try:
                values = np.array(data[key], dtype=np.float64)
            except (TypeError, ValueError):
                raise DataError(f"{source}: key '{key}' holds non-numeric values") from None
            if not np.all(np.isfinite(values)) or (key == "scale" and np.any(values <= 0)):
                raise DataError(f"{source}: key '{key}' holds non-finite{' or non-positive' if key == 'scale' else ''} values")
            setattr(out, f"{key}_", values)
        out.feature_names_ = tuple(str(v) for v in data["feature_names"])
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write the parameters as JSON, atomically; returns the path.

        >>> Standardizer().fit(x_train, names).save("runs/hlf_mlp/standardizer.json")  # doctest: +SKIP
        PosixPath('runs/hlf_mlp/standardizer.json')
        """
        from fpgakd.atomic import write_text_atomic

        return write_text_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Standardizer":
        """Read parameters written by :meth:`save`.

        >>> Standardizer.load("runs/hlf_mlp/standardizer.json")      # doctest: +SKIP
        Standardizer(n_features=16)
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise DataError(f"{path}: standardizer file not found") from None
        except OSError as err:
            raise DataError(f"{path}: cannot read standardizer file ({err.strerror})") from None
        except ValueError as err:
            raise DataError(f"{path}: not valid JSON ({err})") from None
        return cls.from_dict(data, source=str(path))

