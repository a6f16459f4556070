"""The data stage's entry point: load jets from any supported file, or the default dataset.

:func:`load_jets` checks the path, detects its format and dispatches to the reader of
:mod:`fpgakd.jets.formats`; a directory is loaded as the concatenation of its files (sorted by
name), all of one format. :func:`default_jets_path` generates (once, into
:func:`cache_dir`) the embedded default dataset, :func:`generated_jets_path` any other
generated set, cached the same way. The rest of the stage lives in:

- :mod:`fpgakd.jets.dataset`: :class:`~fpgakd.jets.dataset.JetDataset`, the in-memory contract
  every reader returns, and :func:`~fpgakd.jets.dataset.concat_datasets`.
- :mod:`fpgakd.jets.formats`: the file layouts (fpgakd, hls4ml-hlf, hls4ml-150p, toptagging),
  :func:`~fpgakd.jets.formats.detect_format` and the readers by format name.
- :mod:`fpgakd.jets.preprocessing`: a student's inputs, the train/val/test split and the
  :class:`~fpgakd.jets.preprocessing.Standardizer`.

Any problem raises :class:`~fpgakd.errors.DataError` naming the file and field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fpgakd.jets.dataset import JetDataset, concat_datasets
from fpgakd.cache import cache_dir
from fpgakd.errors import DataError
from fpgakd.jets.formats import READERS, SUPPORTED_FORMATS, _check_readable, detect_format
from fpgakd.jets.jetfile import FORMAT_VERSION

__all__ = ["load_jets", "DEFAULT_JETS_PER_CLASS", "DEFAULT_SEED", "cache_dir", "default_jets_path",
           "generated_jets_path"]

log = logging.getLogger(__name__)

#: The embedded default dataset (``default_jets_path``).
DEFAULT_JETS_PER_CLASS = 6000
DEFAULT_SEED = 20241122


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
    dataset = READERS[fmt](path)
    log.info("loaded %d jets (%s) from %s", dataset.n_jets, fmt, path)
    return dataset


# ===================================================================== default dataset
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
    from fpgakd.jets.options import GenerationOptions

    options = GenerationOptions(jets_per_class=DEFAULT_JETS_PER_CLASS, seed=DEFAULT_SEED)
    return generated_jets_path(options, "default_jets", progress=progress)


def generated_jets_path(options: Any, stem: str, *, progress: bool = True) -> Path:
    """``cache_dir()/<stem>_<options hash>.h5``, generated with ``options`` unless cached.

    An existing file is reused if it loads; a broken one is regenerated. The file is
    staged in a temporary folder next to its final name and renamed when it loads, so an
    interrupted generation leaves nothing under that name.

    >>> generated_jets_path(GenerationOptions(jets_per_class=2000, seed=1, pt_min=500,
    ...                                       pt_max=700), "transfer_source")  # doctest: +SKIP
    PosixPath('/home/me/.cache/fpgakd/transfer_source_1c2d3e4f5a6b.h5')
    """
    from fpgakd.jets.generate import generate_jets

    target = cache_dir() / f"{stem}_{_options_hash(options)}.h5"
    if target.exists():
        try:
            load_jets(target, format="fpgakd")
            return target
        except DataError as err:
            log.warning("regenerating %s: cached file is unusable (%s)", target, err)
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("generating %d jets per class into %s", options.jets_per_class, target)
    workdir = Path(tempfile.mkdtemp(prefix=f".{stem}.", dir=target.parent))
    try:
        staged = workdir / target.name
        generate_jets(staged, options, progress=progress)
        load_jets(staged, format="fpgakd")
        os.replace(staged, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return target
