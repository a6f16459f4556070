"""Tests of fpgakd.studies.spec: study YAML with defaults declared once, errors naming the key."""

from __future__ import annotations

import pytest

from fpgakd.errors import ConfigError
from fpgakd.studies.spec import BoostStudyConfig, load_study_config


def test_shipped_boost_study_loads_with_defaults():
    cfg = load_study_config("boost")
    assert isinstance(cfg, BoostStudyConfig)
    assert cfg.beta_max == (0.0, 0.1, 0.3, 0.5, 0.7, 0.9) and cfg.n_jets is None


@pytest.mark.parametrize("text, key", [
    ("name: b\nkind: boost\nbeta_max: [0.1, 1.0]\n", "beta_max[1]"),
    ("name: b\nkind: boost\nbeta_max: [-0.1]\n", "beta_max[0]"),
    ("name: b\nkind: boost\nn_jets: 0\n", "n_jets"),
    ("name: b\nkind: boost\nbeta: [0.1]\n", "beta"),
    ("name: b\nkind: bost\n", "kind"),
])
def test_bad_keys_are_named_with_the_file(tmp_path, text, key):
    path = tmp_path / "study.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_study_config(path)
    assert str(path) in str(err.value) and f"'{key}'" in str(err.value)


def test_kind_must_match(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: b\nkind: boost\n")
    with pytest.raises(ConfigError, match="kind"):
        load_study_config(path, kind="degraded")


def test_shipped_degraded_study_and_its_bad_keys(tmp_path):
    from fpgakd.studies.spec import DegradedStudyConfig

    cfg = load_study_config("degraded", kind="degraded")
    assert isinstance(cfg, DegradedStudyConfig) and cfg.n_constituents == 8
    for text, key in (("n_constituents: 0", "n_constituents"), ("pt_smearing: -0.1", "pt_smearing"),
                      ("angle_step: -1", "angle_step")):
        path = tmp_path / "d.yaml"
        path.write_text(f"name: d\nkind: degraded\n{text}\n")
        with pytest.raises(ConfigError) as err:
            load_study_config(path)
        assert str(path) in str(err.value) and f"'{key}'" in str(err.value)
