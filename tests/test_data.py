"""The data stage's entry point: load_jets dispatch (directories, explicit format), default dataset."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fpgakd.jets import loading as data
from fpgakd.jets.loading import load_jets
from fpgakd.errors import DataError
from helpers.formats import write_150p, write_fpgakd


# ------------------------------------------------------------------ load_jets dispatch
def test_directory_of_150p_files_is_concatenated(tmp_path: Path) -> None:
    write_150p(tmp_path / "f1.h5", [0, 1], n_slots=10)
    write_150p(tmp_path / "f2.h5", [3], n_slots=10)
    ds = load_jets(tmp_path)
    assert ds.labels.tolist() == [0, 1, 3] and ds.source == str(tmp_path)
    assert ds.attrs["files"] == [str(tmp_path / "f1.h5"), str(tmp_path / "f2.h5")]
    write_150p(tmp_path / "f3.h5", [3], n_slots=12)
    with pytest.raises(DataError, match="f3.h5.*'constituents'"):
        load_jets(tmp_path)


def test_explicit_format_must_fit_the_file(tmp_path: Path) -> None:
    path = write_fpgakd(tmp_path / "jets.h5")
    assert load_jets(path, format="fpgakd").n_jets == 10
    with pytest.raises(DataError, match=r"jets\.h5.*'jetConstituentList' is missing"):
        load_jets(path, format="hls4ml-150p")


def test_unknown_format_name_lists_supported(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"x\.h5: unknown data format 'root'.*hls4ml-150p"):
        load_jets(tmp_path / "x.h5", format="root")


# ------------------------------------------------------------------ default dataset
@pytest.mark.slow
def test_default_jets_path_generates_once_and_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate = pytest.importorskip("fpgakd.jets.generate")
    pytest.importorskip("fpgakd.jets.observables")            # generation computes the features
    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    calls = []
    real = generate.generate_jets

    def small(output, options, *, progress=True):
        calls.append(options)
        return real(output, dataclasses.replace(options, jets_per_class=2, n_constituents=8, workers=1),
                    progress=False)

    monkeypatch.setattr(generate, "generate_jets", small)
    path = data.default_jets_path(progress=False)
    assert path.parent == tmp_path / "cache" and path.exists()
    assert calls[0].jets_per_class == data.DEFAULT_JETS_PER_CLASS and calls[0].seed == data.DEFAULT_SEED
    assert load_jets(path).n_jets == 10
    assert data.default_jets_path(progress=False) == path and len(calls) == 1
    path.write_bytes(b"truncated")                                   # a broken cache is regenerated
    assert data.default_jets_path(progress=False) == path and len(calls) == 2
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
