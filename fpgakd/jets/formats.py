"""Reading each file layout into a :class:`~fpgakd.jets.dataset.JetDataset`, and recognising it.

Formats (:data:`SUPPORTED_FORMATS`), detected from the file's content by
:func:`detect_format`; :data:`READERS` maps each name to its reader, a plain function of
the path (hls4ml style: readers registered by name):

- ``fpgakd``: fpgakd's HDF5 layout (:mod:`fpgakd.jets.jetfile`).
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

Any problem raises :class:`~fpgakd.errors.DataError` naming the file and field. Most
callers want :func:`fpgakd.jets.loading.load_jets`, which detects, dispatches and reads directories.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from fpgakd.jets.dataset import JetDataset, _check_finite, _safe_log, _shape_text
from fpgakd.errors import DataError
from fpgakd.jets.jetfile import CONSTITUENT_NAMES, FORMAT_NAME, FORMAT_VERSION, HLF_NAMES

__all__ = ["SUPPORTED_FORMATS", "READERS", "detect_format"]

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


# ===================================================================== helpers
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


def _checked_150p_particle_names(path: Path, cl_shape: tuple[int, ...], jets_shape: tuple[int, ...],
                                 jet_names: tuple[str, ...], particle_names: tuple[str, ...]
                                 ) -> tuple[str, ...]:
    """The particle feature names, one per column, once the datasets' shapes agree."""
    n, n_slots, n_feat = cl_shape
    if n == 0 or n_slots == 0:
        raise DataError(f"{path}: dataset 'jetConstituentList' is empty (shape {_shape_text(cl_shape)})")
    if jets_shape[0] != n:
        raise DataError(f"{path}: dataset 'jets' has {jets_shape[0]} rows but "
                        f"'jetConstituentList' has {n} jets")
    if len(jet_names) != jets_shape[1]:
        raise DataError(f"{path}: dataset 'jetFeatureNames' has {len(jet_names)} names for "
                        f"{jets_shape[1]} columns of 'jets'")
    if len(particle_names) != n_feat:
        particle_names = tuple(p for p in particle_names if p not in _HLS4ML_DATALESS_PARTICLE_NAMES)
    if len(particle_names) != n_feat:
        raise DataError(f"{path}: dataset 'particleFeatureNames' has {len(particle_names)} names for "
                        f"{n_feat} features of 'jetConstituentList' (shape {_shape_text(cl_shape)})")
    return particle_names


def _read_150p(path: Path) -> tuple[np.ndarray, dict[str, int], np.ndarray, tuple[str, ...],
                                    tuple[str, ...]]:
    """(the particle features used (N, 150, k), their column by short name, the jets table,
    jet feature names, particle feature names) of a 150p file."""
    with _open_h5(path) as f:
        cl_ds = _h5_dataset(f, "jetConstituentList", path, ndim=3)
        jets_ds = _h5_dataset(f, "jets", path, ndim=2)
        jet_names = _decode_names(_h5_dataset(f, "jetFeatureNames", path, ndim=1)[()])
        particle_names = _checked_150p_particle_names(
            path, cl_ds.shape, jets_ds.shape, jet_names,
            _decode_names(_h5_dataset(f, "particleFeatureNames", path, ndim=1)[()]))
        short = tuple(p[len(_HLS4ML_PARTICLE_PREFIX):] if p.startswith(_HLS4ML_PARTICLE_PREFIX) else p
                      for p in particle_names)
        wanted = sorted(set(_HLS4ML_PARTICLE_MAP.values()) | {"px", "py"})
        found = _require(short, wanted, path, "particleFeatureNames")
        # Keep only the columns used, as float32: the public values are float32-representable.
        particles = cl_ds[()][:, :, [found[w] for w in wanted]].astype(np.float32)
        pcol = {w: i for i, w in enumerate(wanted)}
        return particles, pcol, jets_ds[()], jet_names, particle_names


def _labels_from_class_flags(table: np.ndarray, jcol: dict[str, int], path: Path) -> np.ndarray:
    flags = table[:, [jcol[c] for c in _HLS4ML_CLASS_COLUMNS]]
    one_hot = np.all((flags == 0) | (flags == 1), axis=1) & (flags.sum(axis=1) == 1)
    if not one_hot.all():
        bad = np.flatnonzero(~one_hot)
        raise DataError(f"{path}: dataset 'jets': {bad.size} jet(s) without exactly one class flag among "
                        f"{', '.join(_HLS4ML_CLASS_COLUMNS)} (first: row {bad[0]})")
    return np.argmax(flags, axis=1)


def _constituents_from_150p(particles: np.ndarray, pcol: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """The canonical constituent table and the mask of real particles (pt > 0)."""
    pt = particles[:, :, pcol["pt"]]
    mask = pt > 0
    values = {canon: particles[:, :, pcol[raw]] for canon, raw in _HLS4ML_PARTICLE_MAP.items()}
    values["log_pt"] = _safe_log(pt, mask)
    values["log_e"] = _safe_log(values["e"], mask)
    constituents = np.stack([values[name] for name in CONSTITUENT_NAMES], axis=-1).astype(np.float32)
    constituents[~mask] = 0
    return constituents, mask


def _jets_from_150p(particles: np.ndarray, pcol: dict[str, int], mask: np.ndarray, table: np.ndarray,
               jet_names: tuple[str, ...], path: Path) -> np.ndarray | None:
    """Jet (pt, eta, phi, mass) rows, or None when the table lacks pt, eta or mass."""
    if not all(c in jet_names for c in _HLS4ML_JET_COLUMNS.values()):
        return None
    # The table has no jet phi: take the azimuth of the summed constituent momenta.
    px = np.where(mask, particles[:, :, pcol["px"]], 0.0).sum(axis=1, dtype=np.float64)
    py = np.where(mask, particles[:, :, pcol["py"]], 0.0).sum(axis=1, dtype=np.float64)
    col = {k: table[:, jet_names.index(v)] for k, v in _HLS4ML_JET_COLUMNS.items()}
    jets = np.stack([col["pt"], col["eta"], np.arctan2(py, px), col["mass"]], axis=1)
    _check_finite(jets, path, "jets")
    return jets


def _load_hls4ml_150p(path: Path) -> JetDataset:
    particles, pcol, table, jet_names, particle_names = _read_150p(path)
    _check_finite(particles, path, "jetConstituentList")
    jcol = _require(jet_names, HLF_NAMES + _HLS4ML_CLASS_COLUMNS, path, "jetFeatureNames")
    used = [jcol[c] for c in HLF_NAMES + _HLS4ML_CLASS_COLUMNS]
    _check_finite(table[:, used], path, "jets")
    labels = _labels_from_class_flags(table, jcol, path)
    constituents, mask = _constituents_from_150p(particles, pcol)
    return JetDataset(
        labels=labels, hlf=table[:, [jcol[c] for c in HLF_NAMES]], constituents=constituents,
        mask=mask, jets=_jets_from_150p(particles, pcol, mask, table, jet_names, path),
        source=str(path), format="hls4ml-150p",
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


#: The reader of each format by name: ``READERS[name](path)`` reads one file of that format
#: (no detection, no directories) into a :class:`~fpgakd.jets.dataset.JetDataset`.
READERS: Mapping[str, Callable[[Path], JetDataset]] = MappingProxyType({
    "fpgakd": _load_fpgakd,
    "hls4ml-hlf": _load_hls4ml_hlf,
    "hls4ml-150p": _load_hls4ml_150p,
    "toptagging": _load_toptagging,
})

#: Names of the formats :func:`fpgakd.jets.loading.load_jets` reads, in the order errors list them.
SUPPORTED_FORMATS: tuple[str, ...] = tuple(READERS)
