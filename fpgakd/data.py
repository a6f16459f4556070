"""Loading jets: fpgakd's own files and three public formats, behind one entry point.

Every loader returns a :class:`JetDataset` with the same contract, whatever the source:

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

Formats (:data:`SUPPORTED_FORMATS`), detected from the file's content:

- ``fpgakd``: fpgakd's HDF5 layout (:mod:`fpgakd.jetfile`).
- ``hls4ml-hlf``: OpenML 42468 ``hls4ml_lhc_jets_hlf`` as ARFF or CSV (optionally
  gzipped): the 16 feature columns, mapped by name, and ``class`` in {g, q, t, w, z},
  mapped onto ``CLASS_NAMES`` (g, q, W, Z, t).
- ``hls4ml-150p``: the Zenodo 3602260 HDF5 files: ``jetConstituentList`` (N, 150, 16),
  ``jets`` (N, 59) named by ``jetFeatureNames`` (one-hot ``j_g .. j_t`` then ``j_undef``),
  ``particleFeatureNames`` (``j1_*``; the real files list a 17th name, ``j1_pdgid``,
  without a column). Particle features are mapped by name (deta = etarel, dphi = phirel,
  pt_frac = ptrel, e_frac = erel, delta_r = deltaR), a particle is real where pt > 0.
- ``toptagging``: the top-tagging reference set (Kasieczka et al. 2019), a pandas HDF5
  frame (key ``table``) with ``E_i, PX_i, PY_i, PZ_i`` and ``is_signal_new``; the
  canonical features are computed relative to the axis of the summed constituent
  4-vector; classes (QCD, top); no high-level features.

A directory is loaded as the concatenation of its files (sorted by name), all of one
format. Any problem raises :class:`~fpgakd.errors.DataError` naming the file and field.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import HLF_INPUT, InputConfig
from fpgakd.errors import ConfigError, DataError
from fpgakd.jetfile import CLASS_NAMES, CONSTITUENT_NAMES, FORMAT_NAME, FORMAT_VERSION, HLF_NAMES, JET_NAMES

__all__ = [
    "JetDataset", "SUPPORTED_FORMATS", "load_jets", "detect_format", "concat_datasets",
    "student_inputs", "DERIVED_FEATURES", "split_indices", "Standardizer",
    "DEFAULT_JETS_PER_CLASS", "DEFAULT_SEED", "cache_dir", "default_jets_path",
]

log = logging.getLogger(__name__)

SUPPORTED_FORMATS: tuple[str, ...] = ("fpgakd", "hls4ml-hlf", "hls4ml-150p", "toptagging")

#: Per-particle features computed on demand: name -> (stored feature, function of it).
#: Padding slots read 0 for every feature, derived ones included.
DERIVED_FEATURES: dict[str, str] = {"log_pt_frac": "pt_frac", "log_e_frac": "e_frac"}

#: The embedded default dataset (``default_jets_path``).
DEFAULT_JETS_PER_CLASS = 6000
DEFAULT_SEED = 20241122

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_GZIP_SIGNATURE = b"\x1f\x8b"
#: How much of a text file is read to recognise its layout.
_SNIFF_BYTES = 1 << 16

# hls4ml public sets: class flags/values in the order of CLASS_NAMES (g, q, W, Z, t).
_HLS4ML_CLASS_COLUMNS = ("j_g", "j_q", "j_w", "j_z", "j_t")
_HLS4ML_CLASS_VALUES = {"g": 0, "q": 1, "w": 2, "z": 3, "t": 4}
_HLS4ML_PARTICLE_PREFIX = "j1_"
# particleFeatureNames of the real 150p files lists one name more than there are columns.
_HLS4ML_DATALESS_PARTICLE_NAMES = ("j1_pdgid",)
# canonical name -> 150p particle feature (without the j1_ prefix); log_pt/log_e derived.
_HLS4ML_PARTICLE_MAP = {
    "deta": "etarel", "dphi": "phirel", "pt_frac": "ptrel", "e_frac": "erel",
    "delta_r": "deltaR", "pt": "pt", "eta": "eta", "phi": "phi", "e": "e",
}
_HLS4ML_JET_COLUMNS = {"pt": "j_pt", "eta": "j_eta", "mass": "j_mass"}

_TOPTAG_KEY = "table"
_TOPTAG_LABEL = "is_signal_new"
_TOPTAG_CLASSES = ("QCD", "top")
_TOPTAG_COMPONENTS = ("E", "PX", "PY", "PZ")


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


def _decode_names(values: Any) -> tuple[str, ...]:
    out = []
    for v in np.asarray(values).reshape(-1):
        if isinstance(v, (bytes, np.bytes_)):
            v = v.decode("utf-8", errors="replace")
        out.append(str(v).strip())
    return tuple(out)


def _plain(value: Any) -> Any:
    """An HDF5 attribute as a plain JSON-able Python value (JSON strings parsed)."""
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _wrap_phi(dphi: np.ndarray) -> np.ndarray:
    """Azimuth difference wrapped to [-pi, pi)."""
    return np.mod(dphi + np.pi, 2.0 * np.pi) - np.pi


def _safe_log(values: np.ndarray, real: np.ndarray) -> np.ndarray:
    """log(values) where ``real`` (and values > 0), 0 elsewhere (padding); values' float dtype."""
    ok = real & (values > 0)
    out = np.zeros(values.shape, dtype=np.result_type(values.dtype, np.float32))
    np.log(values, out=out, where=ok)
    return out


def _require(names: Sequence[str], wanted: Sequence[str], source: Path | str, field_name: str) -> dict[str, int]:
    index = {n: i for i, n in enumerate(names)}
    missing = [w for w in wanted if w not in index]
    if missing:
        raise DataError(f"{source}: field '{field_name}' lacks {', '.join(missing)} "
                        f"(found: {', '.join(names) or 'nothing'})")
    return {w: index[w] for w in wanted}


def _open_h5(path: Path):  # -> h5py.File
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise DataError(f"{path}: cannot read HDF5 file ({err})") from None


def _h5_dataset(f: Any, name: str, path: Path, ndim: int | None = None) -> Any:
    import h5py

    if name not in f or not isinstance(f[name], h5py.Dataset):
        raise DataError(f"{path}: dataset '{name}' is missing (found: {', '.join(sorted(f.keys()))})")
    ds = f[name]
    if ndim is not None and ds.ndim != ndim:
        raise DataError(f"{path}: dataset '{name}': expected {ndim} dimensions, "
                        f"got shape {_shape_text(ds.shape)}")
    return ds


# ===================================================================== detection
def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == _GZIP_SIGNATURE:
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _text_kind(path: Path) -> str | None:
    """'arff' or 'csv' for an HLF table, None if the text is neither."""
    try:
        with _open_text(path) as fh:
            head = fh.read(_SNIFF_BYTES)
    except (UnicodeDecodeError, EOFError, OSError, gzip.BadGzipFile):
        return None
    for line in head.splitlines():
        line = line.strip()
        if not line or line.startswith("%"):
            continue
        if line.lower().startswith("@relation"):
            return "arff"
        columns = [c.strip().strip("'\"").lower() for c in line.split(",")]
        return "csv" if len(columns) > 1 and "class" in columns else None
    return None


def _hdf5_kind(path: Path) -> str | None:
    import h5py

    with _open_h5(path) as f:
        fmt = _plain(f.attrs.get("format", ""))
        if fmt == FORMAT_NAME or ("labels" in f and "class_names" in f):
            return "fpgakd"
        if "jetConstituentList" in f or ("jets" in f and "jetFeatureNames" in f):
            return "hls4ml-150p"
        if any(isinstance(obj, h5py.Group) and "pandas_type" in obj.attrs for obj in f.values()):
            return "toptagging"
    return None


def _describe_hdf5(path: Path) -> str:
    try:
        with _open_h5(path) as f:
            return ", ".join(sorted(f.keys())) or "nothing"
    except DataError:
        return "unreadable"


def detect_format(path: str | os.PathLike) -> str:
    """The format of the file at ``path``, recognised from its content (not its name).

    >>> detect_format("jetImage_0_150p_0_10000.h5")          # doctest: +SKIP
    'hls4ml-150p'
    """
    path = Path(path)
    _check_readable(path)
    with open(path, "rb") as fh:
        head = fh.read(len(_HDF5_SIGNATURE))
    import h5py

    if head == _HDF5_SIGNATURE or h5py.is_hdf5(path):
        kind = _hdf5_kind(path)
        if kind is None:
            raise DataError(f"{path}: HDF5 file (holding {_describe_hdf5(path)}) matches none of the "
                            f"supported layouts: {', '.join(SUPPORTED_FORMATS)}")
        return kind
    if _text_kind(path) is not None:
        return "hls4ml-hlf"
    raise DataError(f"{path}: unknown data format: neither an HDF5 jet file nor an ARFF/CSV table "
                    f"with a 'class' column; supported formats: {', '.join(SUPPORTED_FORMATS)}")


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: data file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: data file is not readable (permission denied)")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: data file is empty (0 bytes)")


# ===================================================================== loaders
def _load_fpgakd(path: Path) -> JetDataset:
    with _open_h5(path) as f:
        attrs = {k: _plain(v) for k, v in f.attrs.items()}
        version = attrs.get("format_version", FORMAT_VERSION)
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise DataError(f"{path}: attribute 'format_version' is {version}; this fpgakd reads "
                            f"up to {FORMAT_VERSION} (upgrade fpgakd)")
        labels = _h5_dataset(f, "labels", path, ndim=1)[()]
        class_names = _decode_names(_h5_dataset(f, "class_names", path, ndim=1)[()])
        arrays: dict[str, Any] = {}
        names: dict[str, tuple[str, ...]] = {}
        if "hlf" in f:
            hlf = _h5_dataset(f, "hlf", path, ndim=2)[()]
            names["hlf_names"] = _decode_names(_h5_dataset(f, "hlf_names", path, ndim=1)[()])
            if len(names["hlf_names"]) != hlf.shape[1]:
                raise DataError(f"{path}: dataset 'hlf': expected one column per name in 'hlf_names' "
                                f"({len(names['hlf_names'])}), got shape {_shape_text(hlf.shape)}")
            _check_finite(hlf, path, "hlf")
            order = _require(names["hlf_names"], HLF_NAMES, path, "hlf_names")
            arrays["hlf"] = hlf[:, [order[n] for n in HLF_NAMES]]
            names["hlf_names"] = HLF_NAMES
        if "constituents" in f:
            arrays["constituents"] = _h5_dataset(f, "constituents", path, ndim=3)[()]
            names["constituent_names"] = _decode_names(
                _h5_dataset(f, "constituent_names", path, ndim=1)[()])
            arrays["mask"] = _h5_dataset(f, "mask", path, ndim=2)[()]
            _check_finite(arrays["constituents"], path, "constituents")
        if "jets" in f:
            arrays["jets"] = _h5_dataset(f, "jets", path, ndim=2)[()]
            _check_finite(arrays["jets"], path, "jets")
    return JetDataset(labels=labels, class_names=class_names, source=str(path), format="fpgakd",
                      attrs=attrs, **arrays, **names)


def _read_hlf_table(path: Path, kind: str):  # -> pandas.DataFrame
    import pandas as pd

    try:
        with _open_text(path) as fh:
            if kind == "csv":
                return pd.read_csv(fh, skipinitialspace=True, na_values=["?"])
            names, relation = [], None
            for line in fh:
                text = line.strip()
                low = text.lower()
                if not text or text.startswith("%"):
                    continue
                if low.startswith("@relation"):
                    relation = text.split(None, 1)[1:] or [""]
                elif low.startswith("@attribute"):
                    match = re.match(r"@attribute\s+(?:'([^']*)'|\"([^\"]*)\"|(\S+))\s+(.+)$", text,
                                     flags=re.IGNORECASE)
                    if not match:
                        raise DataError(f"{path}: malformed ARFF attribute line: {text!r}")
                    names.append(next(g for g in match.groups()[:3] if g is not None))
                elif low.startswith("@data"):
                    break
            else:
                raise DataError(f"{path}: ARFF header has no '@data' section")
            if relation is None or not names:
                raise DataError(f"{path}: ARFF header lacks '@relation' or '@attribute' lines")
            # Read the data rows after the header from the same handle (C parser: fast on 830k rows).
            data = fh.read()
            if data.lstrip().startswith("{"):
                raise DataError(f"{path}: sparse ARFF data is not supported; export a dense ARFF or CSV")
            return pd.read_csv(io.StringIO(data), header=None, names=names, comment="%",
                               skipinitialspace=True, quotechar="'", na_values=["?"], skip_blank_lines=True)
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{path}: cannot read {kind.upper()} text ({err})") from None
    except pd.errors.ParserError as err:
        raise DataError(f"{path}: malformed {kind.upper()} table ({err})") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: {kind.upper()} table is empty") from None


def _load_hls4ml_hlf(path: Path) -> JetDataset:
    kind = _text_kind(path)
    if kind is None:
        raise DataError(f"{path}: not an ARFF file or a CSV table with a 'class' column "
                        "(format 'hls4ml-hlf')")
    df = _read_hlf_table(path, kind)
    df.columns = [str(c).strip().strip("'\"") for c in df.columns]
    lower = {c.lower(): c for c in df.columns}
    if "class" not in lower:
        raise DataError(f"{path}: column 'class' is missing (found: {', '.join(df.columns)})")
    if len(df) == 0:
        raise DataError(f"{path}: table has no rows (0 jets)")
    order = _require(list(df.columns), HLF_NAMES, path, "columns")
    hlf = np.empty((len(df), len(HLF_NAMES)), dtype=np.float32)
    for j, name in enumerate(HLF_NAMES):
        column = _to_float(df.iloc[:, order[name]], path, name)
        _check_finite(column, path, name)
        hlf[:, j] = column
    raw = df[lower["class"]].astype(str).str.strip().str.strip("'\"").str.lower()
    labels = raw.map(_HLS4ML_CLASS_VALUES)
    unknown = labels.isna()
    if unknown.any():
        values = sorted(set(raw[unknown]))[:5]
        raise DataError(f"{path}: column 'class': {int(unknown.sum())} label(s) out of range, "
                        f"e.g. {', '.join(map(repr, values))}; allowed: g, q, t, w, z")
    return JetDataset(labels=labels.to_numpy(np.int64), hlf=hlf, source=str(path),
                      format="hls4ml-hlf", attrs={"source_format": "hls4ml-hlf", "table": kind})


def _to_float(column: Any, path: Path, name: str) -> np.ndarray:
    # A DataError naming the column beats pandas' own message on a stray string.
    import pandas as pd

    try:
        return pd.to_numeric(column, errors="raise").to_numpy(np.float64)
    except (ValueError, TypeError) as err:
        raise DataError(f"{path}: column '{name}' is not numeric ({err})") from None


def _load_hls4ml_150p(path: Path) -> JetDataset:
    with _open_h5(path) as f:
        cl_ds = _h5_dataset(f, "jetConstituentList", path, ndim=3)
        jets_ds = _h5_dataset(f, "jets", path, ndim=2)
        jet_names = _decode_names(_h5_dataset(f, "jetFeatureNames", path, ndim=1)[()])
        particle_names = _decode_names(_h5_dataset(f, "particleFeatureNames", path, ndim=1)[()])
        n, n_slots, n_feat = cl_ds.shape
        if n == 0 or n_slots == 0:
            raise DataError(f"{path}: dataset 'jetConstituentList' is empty (shape {_shape_text(cl_ds.shape)})")
        if jets_ds.shape[0] != n:
            raise DataError(f"{path}: dataset 'jets' has {jets_ds.shape[0]} rows but "
                            f"'jetConstituentList' has {n} jets")
        if len(jet_names) != jets_ds.shape[1]:
            raise DataError(f"{path}: dataset 'jetFeatureNames' has {len(jet_names)} names for "
                            f"{jets_ds.shape[1]} columns of 'jets'")
        if len(particle_names) != n_feat:
            particle_names = tuple(p for p in particle_names if p not in _HLS4ML_DATALESS_PARTICLE_NAMES)
        if len(particle_names) != n_feat:
            raise DataError(f"{path}: dataset 'particleFeatureNames' has {len(particle_names)} names for "
                            f"{n_feat} features of 'jetConstituentList' (shape {_shape_text(cl_ds.shape)})")
        short = tuple(p[len(_HLS4ML_PARTICLE_PREFIX):] if p.startswith(_HLS4ML_PARTICLE_PREFIX) else p
                      for p in particle_names)
        wanted = sorted(set(_HLS4ML_PARTICLE_MAP.values()) | {"px", "py"})
        found = _require(short, wanted, path, "particleFeatureNames")
        # Keep only the columns used, as float32: the public values are float32-representable.
        particles = cl_ds[()][:, :, [found[w] for w in wanted]].astype(np.float32)
        pcol = {w: i for i, w in enumerate(wanted)}
        table = jets_ds[()]

    _check_finite(particles, path, "jetConstituentList")
    jcol = _require(jet_names, HLF_NAMES + _HLS4ML_CLASS_COLUMNS, path, "jetFeatureNames")
    used = [jcol[c] for c in HLF_NAMES + _HLS4ML_CLASS_COLUMNS]
    _check_finite(table[:, used], path, "jets")

    flags = table[:, [jcol[c] for c in _HLS4ML_CLASS_COLUMNS]]
    one_hot = np.all((flags == 0) | (flags == 1), axis=1) & (flags.sum(axis=1) == 1)
    if not one_hot.all():
        bad = np.flatnonzero(~one_hot)
        raise DataError(f"{path}: dataset 'jets': {bad.size} jet(s) without exactly one class flag among "
                        f"{', '.join(_HLS4ML_CLASS_COLUMNS)} (first: row {bad[0]})")
    labels = np.argmax(flags, axis=1)

    pt = particles[:, :, pcol["pt"]]
    mask = pt > 0
    values = {canon: particles[:, :, pcol[raw]] for canon, raw in _HLS4ML_PARTICLE_MAP.items()}
    values["log_pt"] = _safe_log(pt, mask)
    values["log_e"] = _safe_log(values["e"], mask)
    constituents = np.stack([values[name] for name in CONSTITUENT_NAMES], axis=-1).astype(np.float32)
    constituents[~mask] = 0

    jets = None
    if all(c in jet_names for c in _HLS4ML_JET_COLUMNS.values()):
        # The table has no jet phi: take the azimuth of the summed constituent momenta.
        px = np.where(mask, particles[:, :, pcol["px"]], 0.0).sum(axis=1, dtype=np.float64)
        py = np.where(mask, particles[:, :, pcol["py"]], 0.0).sum(axis=1, dtype=np.float64)
        col = {k: table[:, jet_names.index(v)] for k, v in _HLS4ML_JET_COLUMNS.items()}
        jets = np.stack([col["pt"], col["eta"], np.arctan2(py, px), col["mass"]], axis=1)
        _check_finite(jets, path, "jets")
    return JetDataset(
        labels=labels, hlf=table[:, [jcol[c] for c in HLF_NAMES]], constituents=constituents,
        mask=mask, jets=jets, source=str(path), format="hls4ml-150p",
        attrs={"source_format": "hls4ml-150p", "particle_feature_names": list(particle_names)})


def _load_toptagging(path: Path) -> JetDataset:
    import pandas as pd

    try:
        with pd.HDFStore(path, mode="r") as store:
            keys = [k.lstrip("/") for k in store.keys() if k.strip("/")]
            if _TOPTAG_KEY in keys:
                key = _TOPTAG_KEY
            elif len(keys) == 1:
                key = keys[0]
            else:
                raise DataError(f"{path}: expected a pandas table under key '{_TOPTAG_KEY}', "
                                f"found keys: {', '.join(keys) or 'none'}")
            df = store.get(key)
    except DataError:
        raise
    except Exception as err:  # PyTables raises many types for foreign or broken files
        raise DataError(f"{path}: cannot read the pandas HDF5 table ({type(err).__name__}: {err})") from None
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{path}: key '{key}' holds a {type(df).__name__}, expected a DataFrame")
    columns = {str(c) for c in df.columns}
    if _TOPTAG_LABEL not in columns:
        raise DataError(f"{path}: column '{_TOPTAG_LABEL}' is missing (key '{key}')")
    indices = sorted(int(m.group(1)) for c in columns if (m := re.fullmatch(r"E_(\d+)", c)))
    if not indices:
        raise DataError(f"{path}: no constituent columns E_0, PX_0, PY_0, PZ_0, ... (key '{key}')")
    n_slots = indices[-1] + 1
    missing = [f"{c}_{i}" for i in range(n_slots) for c in _TOPTAG_COMPONENTS if f"{c}_{i}" not in columns]
    if missing:
        raise DataError(f"{path}: {len(missing)} constituent column(s) missing, e.g. "
                        f"{', '.join(missing[:4])} (key '{key}')")
    if len(df) == 0:
        raise DataError(f"{path}: table '{key}' has no rows (0 jets)")

    comp = {}
    for c in _TOPTAG_COMPONENTS:
        block = df[[f"{c}_{i}" for i in range(n_slots)]].to_numpy(np.float64)
        _check_finite(block, path, f"{c}_*")
        comp[c] = block
    raw_labels = _to_float(df[_TOPTAG_LABEL], path, _TOPTAG_LABEL)
    _check_finite(raw_labels, path, _TOPTAG_LABEL)
    bad = (raw_labels != 0) & (raw_labels != 1)
    if bad.any():
        raise DataError(f"{path}: column '{_TOPTAG_LABEL}': {int(bad.sum())} label(s) out of range "
                        f"(allowed 0 = QCD, 1 = top; got e.g. {raw_labels[bad][0]})")
    labels = raw_labels.astype(np.int64)
    del df
    constituents, mask, jets = _kinematics_from_p4(comp["E"], comp["PX"], comp["PY"], comp["PZ"], path)
    return JetDataset(labels=labels, hlf=None, constituents=constituents, mask=mask, jets=jets,
                      class_names=_TOPTAG_CLASSES, source=str(path), format="toptagging",
                      attrs={"source_format": "toptagging", "key": key})


def _kinematics_from_p4(e: np.ndarray, px: np.ndarray, py: np.ndarray, pz: np.ndarray,
                        path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical per-particle features relative to the summed 4-vector's axis, pT-sorted.

    Inputs are (N, P) in GeV with zero padding; returns constituents (N, P, 11),
    mask (N, P) and jets (N, 4) = pt, eta, phi, mass.
    """
    pt = np.hypot(px, py)
    mask = (e > 0) & (pt > 0)
    e, px, py, pz, pt = (np.where(mask, a, 0.0) for a in (e, px, py, pz, pt))
    jet_e, jet_px, jet_py, jet_pz = (a.sum(axis=1) for a in (e, px, py, pz))
    jet_pt = np.hypot(jet_px, jet_py)
    empty = jet_pt <= 0
    if empty.any():
        raise DataError(f"{path}: {int(empty.sum())} jet(s) without any constituent "
                        f"(first: row {np.flatnonzero(empty)[0]})")
    jet_eta = np.arcsinh(jet_pz / jet_pt)
    jet_phi = np.arctan2(jet_py, jet_px)
    jet_mass = np.sqrt(np.maximum(jet_e**2 - jet_px**2 - jet_py**2 - jet_pz**2, 0.0))
    safe_pt = np.where(mask, pt, 1.0)
    eta = np.where(mask, np.arcsinh(pz / safe_pt), 0.0)
    phi = np.where(mask, np.arctan2(py, px), 0.0)
    deta = eta - jet_eta[:, None]
    dphi = _wrap_phi(phi - jet_phi[:, None])
    values = {
        "deta": deta, "dphi": dphi, "log_pt": _safe_log(pt, mask), "log_e": _safe_log(e, mask),
        "pt_frac": pt / jet_pt[:, None], "e_frac": e / jet_e[:, None], "delta_r": np.hypot(deta, dphi),
        "pt": pt, "eta": eta, "phi": phi, "e": e,
    }
    constituents = np.stack([values[name] for name in CONSTITUENT_NAMES], axis=-1)
    constituents = np.where(mask[:, :, None], constituents, 0.0)
    # Highest pT first, padding last, ties kept in file order.
    order = np.argsort(np.where(mask, -pt, np.inf), axis=1, kind="stable")
    constituents = np.take_along_axis(constituents, order[:, :, None], axis=1).astype(np.float32)
    mask = np.take_along_axis(mask, order, axis=1)
    jets = np.stack([jet_pt, jet_eta, jet_phi, jet_mass], axis=1)
    return constituents, mask, jets


_LOADERS = {
    "fpgakd": _load_fpgakd,
    "hls4ml-hlf": _load_hls4ml_hlf,
    "hls4ml-150p": _load_hls4ml_150p,
    "toptagging": _load_toptagging,
}


def load_jets(path: str | os.PathLike, *, format: str | None = None) -> JetDataset:
    """Load jets from ``path`` in any supported format (detected from the content if None).

    ``path`` may be a directory: its files (sorted by name, hidden ones skipped) are
    loaded and concatenated; they must share one format and layout.

    >>> ds = load_jets("jets.h5")                              # doctest: +SKIP
    >>> ds.format, ds.hlf.shape                                # doctest: +SKIP
    ('fpgakd', (30000, 16))
    """
    path = Path(path)
    if format is not None and format not in SUPPORTED_FORMATS:
        raise DataError(f"{path}: unknown data format {format!r}; supported formats: "
                        f"{', '.join(SUPPORTED_FORMATS)}")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise DataError(f"{path}: directory holds no data files")
        datasets = [load_jets(p, format=format) for p in files]
        log.info("loaded %d files from %s", len(files), path)
        return concat_datasets(datasets, source=str(path))
    _check_readable(path)
    fmt = format or detect_format(path)
    dataset = _LOADERS[fmt](path)
    log.info("loaded %d jets (%s) from %s", dataset.n_jets, fmt, path)
    return dataset


# ===================================================================== student inputs
def student_inputs(dataset: JetDataset, inputs: InputConfig) -> tuple[np.ndarray, tuple[str, ...]]:
    """The flat (N, n_features) float32 matrix a student reads, and its feature names.

    ``type: hlf``: the 16 high-level features. ``type: constituents``: the first
    ``n_constituents`` particles (pT order as stored), each with ``constituent_features``,
    flattened particle-major (``p0_deta, p0_dphi, ..., p1_deta, ...``); padding is 0.
    Derived features (:data:`DERIVED_FEATURES`) are logs of the stored fractions.

    >>> x, names = student_inputs(ds, InputConfig(type="constituents", n_constituents=8))  # doctest: +SKIP
    >>> x.shape, names[:2]                                     # doctest: +SKIP
    ((30000, 24), ('p0_deta', 'p0_dphi'))
    """
    if inputs.type == HLF_INPUT:
        if dataset.hlf is None:
            raise DataError(f"{dataset.source}: the student reads the high-level features ('hlf'), "
                            f"but this {dataset.format} data has none; use a constituent student")
        return np.array(dataset.hlf, dtype=np.float32), tuple(dataset.hlf_names)
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
    if inputs.n_constituents > n_slots:
        log.warning("%s: student reads %d constituents but the data has %d slots; the rest are zero",
                    dataset.source, inputs.n_constituents, n_slots)
    mask = dataset.mask[:, :n_read]
    features = inputs.constituent_features
    out = np.zeros((n_jets, inputs.n_constituents, len(features)), dtype=np.float32)
    for j, name in enumerate(features):
        if name in stored:
            values = dataset.constituents[:, :n_read, stored[name]]
            out[:, :n_read, j] = np.where(mask, values, 0.0)
        else:
            base = dataset.constituents[:, :n_read, stored[DERIVED_FEATURES[name]]].astype(np.float64)
            out[:, :n_read, j] = _safe_log(base, mask)
    names = tuple(f"p{p}_{name}" for p in range(inputs.n_constituents) for name in features)
    return out.reshape(n_jets, -1), names


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


# ===================================================================== standardization
class Standardizer:
    """Per-feature (x - mean) / scale, fitted on training data and stored with the model.

    ``scale`` is the standard deviation; a constant feature gets scale 1. The fitted
    parameters travel with a trained student (JSON) and are never recomputed at inference.

    >>> s = Standardizer().fit(np.array([[0.0, 5.0], [2.0, 5.0]]), ("a", "b"))
    >>> s.transform(np.array([[1.0, 5.0]])).tolist()
    [[0.0, 0.0]]
    """

    _KIND = "fpgakd.Standardizer"
    _VERSION = 1

    def __init__(self) -> None:
        """Nothing is learned here; see :meth:`fit`."""

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
        return ((x - self.mean_) / self.scale_).astype(np.float32)

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
        return {"kind": self._KIND, "version": self._VERSION, "feature_names": list(self.feature_names_),
                "mean": [float(v) for v in self.mean_], "scale": [float(v) for v in self.scale_]}

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
        out = cls()
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


# ===================================================================== default dataset
def cache_dir() -> Path:
    """Where fpgakd caches generated data: ``$FPGAKD_CACHE``, else ``~/.cache/fpgakd``.

    >>> cache_dir().name                                          # doctest: +SKIP
    'fpgakd'
    """
    env = os.environ.get("FPGAKD_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fpgakd"


def _options_hash(options: Any) -> str:
    settings = dataclasses.asdict(options)
    # The number of worker processes does not change the jets (seeded per task).
    settings.pop("workers", None)
    text = json.dumps({"options": settings, "format_version": FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def default_jets_path(*, progress: bool = True) -> Path:
    """Path of the embedded default dataset, generating it on first use (minutes).

    ``DEFAULT_JETS_PER_CLASS`` jets per class with ``DEFAULT_SEED``; the file name holds a
    hash of the generation options, so changing a default regenerates. An existing file
    is reused if it loads; a broken one is regenerated.

    >>> default_jets_path(progress=False).suffix                # doctest: +SKIP
    '.h5'
    """
    from fpgakd.generate import GenerationOptions, generate_jets

    options = GenerationOptions(jets_per_class=DEFAULT_JETS_PER_CLASS, seed=DEFAULT_SEED)
    target = cache_dir() / f"default_jets_{_options_hash(options)}.h5"
    if target.exists():
        try:
            load_jets(target, format="fpgakd")
            return target
        except DataError as err:
            log.warning("regenerating the default dataset: cached file is unusable (%s)", err)
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("generating the default dataset (%d jets per class) into %s", DEFAULT_JETS_PER_CLASS, target)
    workdir = Path(tempfile.mkdtemp(prefix=".default_jets.", dir=target.parent))
    try:
        staged = workdir / target.name
        generate_jets(staged, options, progress=progress)
        load_jets(staged, format="fpgakd")
        os.replace(staged, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return target
