"""The jets in memory: :class:`JetDataset`, one contract whatever file the jets came from.

==================== ================= ===============================================
field                shape, dtype      content
==================== ================= ===============================================
``hlf``              (N, 16) float32   the 16 high-level features, order ``HLF_NAMES``
                                       (None where the source has none)
``constituents``     (N, P, F) f32     per-particle features named ``constituent_names``
                                       (fpgakd's canonical names, ``CONSTITUENT_NAMES``),
                                       pT-ordered, zero-padded (None where absent)
``mask``             (N, P) bool       True where a real particle sits
``labels``           (N,) int64        index into ``class_names``
``jets``             (N, 4) float32    jet pt [GeV], eta, phi, mass [GeV] (or None)
==================== ================= ===============================================

Every reader of :mod:`fpgakd.jets.formats` returns one; :func:`concat_datasets` joins datasets
of one layout. A violation of the contract raises :class:`~fpgakd.errors.DataError`
naming the source and the field. The small shared checks (``_check_finite``,
``_shape_text``) and ``_safe_log`` live here so that :mod:`fpgakd.jets.formats` and
:mod:`fpgakd.jets.preprocessing` use one copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.errors import DataError
from fpgakd.jets.jetfile import CLASS_NAMES, CONSTITUENT_NAMES, HLF_NAMES, JET_NAMES

__all__ = ["JetDataset", "concat_datasets"]


# ===================================================================== the dataset
def _shape_text(shape: Sequence[Any]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class JetDataset:
    """Jets in memory, in fpgakd's contract whatever file they came from (see module doc).

    Arrays are converted to the contract's dtypes and checked for consistent shapes on
    construction; a violation raises :class:`DataError` naming ``source`` and the field.

    >>> ds = JetDataset(hlf=np.ones((2, 16)), labels=np.array([0, 4]))
    >>> ds.n_jets, ds.class_names[4]
    (2, 't')
    """

    hlf: np.ndarray | None = None
    #: column names of ``hlf`` (empty when ``hlf`` is None)
    hlf_names: tuple[str, ...] = HLF_NAMES
    constituents: np.ndarray | None = None
    #: feature names of ``constituents`` (empty when ``constituents`` is None)
    constituent_names: tuple[str, ...] = CONSTITUENT_NAMES
    mask: np.ndarray | None = None
    labels: np.ndarray
    class_names: tuple[str, ...] = CLASS_NAMES
    jets: np.ndarray | None = None
    source: str = "<memory>"
    format: str = "fpgakd"
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        src = self.source

        def setf(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("hlf_names", "constituent_names", "class_names"):
            setf(name, tuple(str(n) for n in getattr(self, name)))
        # Names describe columns that exist: none without their array.
        if self.hlf is None:
            setf("hlf_names", ())
        if self.constituents is None:
            setf("constituent_names", ())
        labels = np.asarray(self.labels)
        if labels.ndim != 1:
            raise DataError(f"{src}: field 'labels': expected shape (N,), got {_shape_text(labels.shape)}")
        if labels.size == 0:
            raise DataError(f"{src}: field 'labels' is empty (0 jets)")
        if labels.dtype.kind not in "iu":
            raise DataError(f"{src}: field 'labels': expected integer class indices, got dtype {labels.dtype}")
        n_classes = len(self.class_names)
        if n_classes == 0:
            raise DataError(f"{src}: field 'class_names' is empty")
        bad = (labels < 0) | (labels >= n_classes)
        if bad.any():
            raise DataError(f"{src}: field 'labels': {int(bad.sum())} labels out of range "
                            f"[0, {n_classes - 1}] (min {labels.min()}, max {labels.max()}; "
                            f"classes {', '.join(self.class_names)})")
        setf("labels", labels.astype(np.int64, copy=False))
        n = labels.shape[0]

        def check(name: str, expected: tuple, dtype: Any) -> None:
            value = getattr(self, name)
            if value is None:
                return
            arr = np.asarray(value)
            want = _shape_text(["N" if e is None else e for e in expected])
            if arr.ndim != len(expected) or any(e is not None and e != g for e, g in zip(expected, arr.shape)):
                raise DataError(f"{src}: field '{name}': expected shape {want}, got {_shape_text(arr.shape)}")
            if arr.shape[0] != n:
                raise DataError(f"{src}: field '{name}' has {arr.shape[0]} jets but 'labels' has {n}")
            if arr.size == 0:
                raise DataError(f"{src}: field '{name}' is empty (shape {_shape_text(arr.shape)})")
            setf(name, arr.astype(dtype, copy=False))

        if self.hlf is None and self.constituents is None:
            raise DataError(f"{src}: neither 'hlf' nor 'constituents' is present: nothing to train on")
        check("hlf", (None, len(self.hlf_names)), np.float32)
        if self.constituents is not None:
            if self.mask is None:
                raise DataError(f"{src}: field 'mask' is missing (required with 'constituents')")
            check("constituents", (None, None, len(self.constituent_names)), np.float32)
            check("mask", (None, self.constituents.shape[1]), bool)
        elif self.mask is not None:
            raise DataError(f"{src}: field 'mask' is present without 'constituents'")
        check("jets", (None, len(JET_NAMES)), np.float32)

    def __repr__(self) -> str:
        parts = [f"n_jets={self.n_jets}", f"format={self.format!r}", f"source={self.source!r}",
                 f"classes={self.class_names}"]
        if self.hlf is not None:
            parts.append(f"hlf={_shape_text(self.hlf.shape)}")
        if self.constituents is not None:
            parts.append(f"constituents={_shape_text(self.constituents.shape)}")
        return f"JetDataset({', '.join(parts)})"

    @property
    def n_jets(self) -> int:
        """Number of jets N."""
        return int(self.labels.shape[0])

    def subset(self, indices: Sequence[int] | np.ndarray) -> "JetDataset":
        """The jets at ``indices`` (integer indices or a boolean mask), in that order.

        >>> ds = JetDataset(hlf=np.arange(48.0).reshape(3, 16), labels=np.array([0, 1, 2]))
        >>> ds.subset([2, 0]).labels.tolist()
        [2, 0]
        """
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (self.n_jets,):
                raise IndexError(f"boolean subset mask has shape {idx.shape}, expected ({self.n_jets},)")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64, copy=False).reshape(-1)
        if idx.size and (idx.min() < -self.n_jets or idx.max() >= self.n_jets):
            raise IndexError(f"subset index out of range for {self.n_jets} jets")

        def take(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[idx]

        return dataclasses.replace(
            self, labels=self.labels[idx], hlf=take(self.hlf), constituents=take(self.constituents),
            mask=take(self.mask), jets=take(self.jets), attrs=dict(self.attrs))

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the arrays' bytes, shapes and dtypes plus all names.

        Depends only on the data, not on ``source``, ``format`` or ``attrs``: the same jets
        give the same fingerprint wherever the file lives, so it can key a cache of soft
        targets.

        >>> a = JetDataset(hlf=np.ones((2, 16)), labels=np.array([0, 1]))
        >>> a.fingerprint() == JetDataset(hlf=np.ones((2, 16)), labels=np.array([0, 1])).fingerprint()
        True
        """
        h = hashlib.sha256(b"fpgakd.JetDataset/1\n")
        names = {"hlf_names": self.hlf_names, "constituent_names": self.constituent_names,
                 "class_names": self.class_names}
        h.update(json.dumps(names, sort_keys=True).encode())
        for name in ("labels", "hlf", "constituents", "mask", "jets"):
            arr = getattr(self, name)
            if arr is None:
                h.update(f"\n{name}:none".encode())
                continue
            arr = np.ascontiguousarray(arr)
            h.update(f"\n{name}:{arr.dtype.str}:{arr.shape}\n".encode())
            h.update(arr.view(np.uint8).reshape(-1) if arr.size else b"")
        return h.hexdigest()


def concat_datasets(datasets: Sequence[JetDataset], *, source: str | None = None) -> JetDataset:
    """Concatenate datasets of one layout (same names, classes, particle slots) along N.

    >>> a = JetDataset(hlf=np.ones((2, 16)), labels=np.array([0, 1]))
    >>> concat_datasets([a, a]).n_jets
    4
    """
    if not datasets:
        raise DataError(f"{source or '<concat>'}: no datasets to concatenate")
    first = datasets[0]
    for ds in datasets[1:]:
        for name in ("format", "hlf_names", "constituent_names", "class_names"):
            if getattr(ds, name) != getattr(first, name):
                raise DataError(f"{ds.source}: field '{name}' is {getattr(ds, name)!r}, but "
                                f"{first.source} has {getattr(first, name)!r}; cannot concatenate")
        for name in ("hlf", "constituents", "jets"):
            a, b = getattr(first, name), getattr(ds, name)
            if (a is None) != (b is None) or (a is not None and a.shape[1:] != b.shape[1:]):
                got = "absent" if b is None else _shape_text(b.shape)
                want = "absent" if a is None else _shape_text(("N",) + a.shape[1:])
                raise DataError(f"{ds.source}: field '{name}' is {got}, but {first.source} has "
                                f"{want}; cannot concatenate")

    def cat(name: str) -> np.ndarray | None:
        arrays = [getattr(ds, name) for ds in datasets]
        return None if arrays[0] is None else np.concatenate(arrays)

    return JetDataset(
        labels=cat("labels"), hlf=cat("hlf"), hlf_names=first.hlf_names,
        constituents=cat("constituents"), constituent_names=first.constituent_names,
        mask=cat("mask"), class_names=first.class_names, jets=cat("jets"),
        source=source or first.source, format=first.format,
        attrs={**first.attrs, "files": [ds.source for ds in datasets]})


# ===================================================================== helpers
def _check_finite(values: np.ndarray, source: Path | str, field_name: str) -> None:
    if values.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(values)
    n_bad = int(np.count_nonzero(bad))
    if n_bad:
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{source}: field '{field_name}' holds {n_bad} NaN/inf value(s) "
                        f"(first at index {first})")


def _safe_log(values: np.ndarray, real: np.ndarray) -> np.ndarray:
    """log(values) where ``real`` (and values > 0), 0 elsewhere (padding); values' float dtype."""
    ok = real & (values > 0)
    out = np.zeros(values.shape, dtype=np.result_type(values.dtype, np.float32))
    np.log(values, out=out, where=ok)
    return out
