"""Per-class feature plots of a jet sample."""

from pathlib import Path

import numpy as np
import pytest

from fpgakd.jets.dataset import JetDataset
from fpgakd.errors import ConfigError, DataError
from fpgakd.jets.jetfile import HLF_NAMES
from fpgakd.jets.jetplots import plot_feature_distributions


def small_dataset(with_hlf: bool = True) -> JetDataset:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 20)
    if with_hlf:
        hlf = rng.uniform(0, 1, size=(100, 16)).astype(np.float32)
        return JetDataset(labels=labels, hlf=hlf, source="small.h5", format="fpgakd")
    constituents = rng.uniform(0.1, 1, size=(100, 4, 11)).astype(np.float32)
    return JetDataset(labels=labels, constituents=constituents, mask=np.ones((100, 4), bool),
                      source="small.h5", format="fpgakd")


def test_writes_one_png(tmp_path: Path) -> None:
    out = plot_feature_distributions(small_dataset(), tmp_path / "f.png",
                                     features=("j_mass_mmdt", "j_zlogz", "j_d2_b1_mmdt"))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png"]


def test_unknown_feature_and_missing_hlf_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="j_tau21.*small.h5"):
        plot_feature_distributions(small_dataset(), tmp_path / "f.png", features=("j_tau21",))
    with pytest.raises(DataError, match="small.h5: no high-level features"):
        plot_feature_distributions(small_dataset(with_hlf=False), tmp_path / "f.png")
    assert not (tmp_path / "f.png").exists()
    assert "j_mass_mmdt" in HLF_NAMES
