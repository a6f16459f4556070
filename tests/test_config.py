"""Config loading: defaults declared once, every bad key or value named with its file."""

from pathlib import Path

import pytest
import yaml

from fpgakd.config import (FirmwareConfig, ModelConfig, config_from_dict, config_to_dict,
                           dump_config, load_firmware_config, load_model_config, repo_dir)
from fpgakd.errors import ConfigError

MODEL_FILES = sorted((repo_dir() / "models").glob("*.yaml"))


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_every_shipped_model_config_loads(path: Path) -> None:
    cfg = load_model_config(path)
    assert cfg.name == path.stem
    assert cfg.quantization.weight_bits == 8
    assert cfg.pruning.target_sparsity >= 0.75


def test_default_firmware_config_is_vu13p_at_240mhz() -> None:
    fw = load_firmware_config()
    assert fw.part == "xcvu13p-flga2577-2-e"
    assert fw.resolve_part("xcvu13p") == "xcvu13p-flga2577-2-e"
    assert fw.resolve_part(None) == fw.part
    assert fw.clock_period_ns == pytest.approx(4.1667, abs=1e-3)
    assert fw.resources_of(fw.part)["LUT"] == 1_728_000


def test_defaults_fill_missing_keys() -> None:
    cfg = config_from_dict(ModelConfig, {"name": "tiny"})
    assert cfg.pruning.target_sparsity == 0.75
    assert cfg.quantization.weight_bits == 8
    assert cfg.inputs.type == "hlf"


@pytest.mark.parametrize("data, fragment", [
    ({"name": "x", "trainig": {}}, "unknown key 'trainig'"),
    ({"name": "x", "pruning": {"sparsity": 0.5}}, "unknown key 'pruning.sparsity'"),
    ({"name": "x", "pruning": {"target_sparsity": 1.2}}, "'pruning.target_sparsity': got 1.2"),
    ({"name": "x", "quantization": {"weight_bits": 8, "weight_integer": 8}}, "'quantization.weight_integer'"),
    ({"name": "x", "hidden": [64, 0]}, "'hidden'"),
    ({"name": "x", "inputs": {"type": "particle_set"}, "particle_hidden": [8], "hidden": []},
     "'hidden': got (), allowed: a non-empty list for a particle_set student"),
    ({"name": "x", "hidden": "64"}, "'hidden': got '64', expected a list"),
    ({"name": "x", "task": "segmenter"}, "'task': got 'segmenter'"),
    ({"name": "x", "training": {"epochs": "ten"}}, "'training.epochs': got 'ten', expected an integer"),
    ({"name": "x", "pruning": {"enabled": "yes"}}, "'pruning.enabled'"),
    ({"hidden": [8]}, "required key 'name' is missing"),
    ({"name": "x", "inputs": {"clip": 0.5}}, "'inputs.clip': got 0.5, allowed: null or a number >= 1"),
    ({"name": "x", "inputs": {"clip": "wide"}}, "'inputs.clip': got 'wide', expected a number"),
    ({"name": "x", "inputs": {"puppi_raw_weight": True}},
     "'inputs.puppi_raw_weight': got True, allowed: false unless type is 'particles'"),
    ({"name": "x", "training": {"learning_rate_schedule": "step"}}, "'training.learning_rate_schedule': got 'step'"),
    ({"name": "x", "training": {"train_fraction": 0}}, "'training.train_fraction': got 0.0, allowed: a number in (0, 1]"),
    ({"name": "x", "training": {"train_fraction": 1.5}}, "'training.train_fraction': got 1.5"),
    ({"name": "x", "task": "particle_weight", "inputs": {"type": "particles"}, "training": {"train_fraction": 0.5}},
     "'training.train_fraction': got 0.5, allowed: 1 for a particle_weight student"),
])
def test_bad_model_config_names_file_and_key(data: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(ModelConfig, data, "models/bad.yaml")
    assert "models/bad.yaml" in str(info.value)
    assert fragment in str(info.value)


def test_bad_firmware_value_is_named(tmp_path: Path) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(yaml.safe_dump({"name": "fw", "clock_mhz": -5}))
    with pytest.raises(ConfigError, match=r"fw\.yaml: key 'clock_mhz': got -5"):
        load_firmware_config(path)


def test_missing_and_malformed_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml: config file not found"):
        load_model_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_model_config(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="scalar.yaml: expected a mapping"):
        load_model_config(scalar)


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    cfg = load_model_config("constituent_mlp")
    out = dump_config(cfg, tmp_path / "config.yaml")
    assert load_model_config(out) == cfg
    plain = config_to_dict(cfg)                                     # defaults of newer keys: as before
    assert "clip" not in plain["inputs"] and "learning_rate_schedule" not in plain["training"]
    assert "puppi_raw_weight" not in plain["inputs"]
    raw = config_from_dict(ModelConfig, {"name": "r", "task": "particle_weight", "output": "sigmoid",
                                         "inputs": {"type": "particles", "puppi_raw_weight": True}}, "r.yaml")
    assert load_model_config(dump_config(raw, tmp_path / "raw.yaml")).inputs.puppi_raw_weight is True
    assert "train_fraction" not in plain["training"]
    part = config_from_dict(ModelConfig, {"name": "p", "training": {"train_fraction": 0.25}}, "p.yaml")
    assert load_model_config(dump_config(part, tmp_path / "part.yaml")).training.train_fraction == 0.25
    clipped = config_from_dict(ModelConfig, {"name": "c", "inputs": {"clip": 3.9}}, "c.yaml")
    assert load_model_config(dump_config(clipped, tmp_path / "clipped.yaml")).inputs.clip == 3.9
    fw = FirmwareConfig(name="fw")
    assert config_from_dict(FirmwareConfig, config_to_dict(fw)) == fw


@pytest.mark.parametrize("path", sorted((repo_dir() / "teachers").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_teacher_config_loads(path: Path) -> None:
    from fpgakd.config import load_pileup_teacher_config, load_teacher_config

    if yaml.safe_load(path.read_text()).get("task") == "particle_weight":
        assert load_pileup_teacher_config(path).edge_k >= 1
        with pytest.raises(ConfigError, match=f"{path.name}: key 'task'.*--events"):
            load_teacher_config(path)
    else:
        assert load_teacher_config(path).arch in ("deepsets", "attention", "edgeconv")


@pytest.mark.parametrize("path", sorted((repo_dir() / "scans").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_point_of_every_shipped_scan_resolves(path: Path) -> None:
    """Each point's student and firmware configs validate (values, not only the keys the scan
    file's own check sees): every shipped scan gets past ``fpgakd scan``'s first step."""
    from fpgakd.scan.points import resolve_point
    from fpgakd.scan.sampling import sample_choices
    from fpgakd.scan.spec import load_scan_config

    scan = load_scan_config(path)
    points = [resolve_point(scan, choice, str(path)) for choice in sample_choices(scan, str(path))]
    assert points and {p.mode for p in points} <= {"kd", "scratch"}


@pytest.mark.parametrize("data, fragment", [
    ({"arch": "edgeconv", "pair_features": ["ln_kt"]}, r"key 'pair_features\[0\]': got 'ln_kt'"),
    ({"pair_features": ["ln_m2"]}, r"key 'pair_features'.*empty for arch deepsets"),
    ({"arch": "attention", "width": 30, "attention_heads": 4}, r"key 'attention_heads'.*divisor of width"),
    ({"arch": "edgeconv", "edge_k": 0}, r"key 'edge_k'"),
])
def test_bad_teacher_config_names_file_and_key(tmp_path: Path, data: dict, fragment: str) -> None:
    from fpgakd.config import load_teacher_config

    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=rf"t\.yaml: {fragment}"):
        load_teacher_config(path)


def test_distillation_teachers_and_ensemble_mean() -> None:
    cfg = config_from_dict(ModelConfig, {"name": "m", "distillation": {
        "teachers": ["runs/a", "runs/b"], "ensemble_mean": "probabilities"}})
    assert cfg.distillation.teachers == ("runs/a", "runs/b")
    with pytest.raises(ConfigError, match=r"key 'distillation.ensemble_mean': got 'median'"):
        config_from_dict(ModelConfig, {"name": "m", "distillation": {"ensemble_mean": "median"}})


def test_exponent_numbers_without_a_dot_are_numbers(tmp_path: Path) -> None:
    # YAML 1.1 (PyYAML) reads 1e-5 as a string; a float key takes it as the number it means
    path = tmp_path / "hgq.yaml"
    path.write_text("name: x\nquantization: {kind: hgq, beta: 1e-5}\ntraining: {learning_rate: 2E-3}\n")
    cfg = load_model_config(path)
    assert cfg.quantization.beta == pytest.approx(1e-5)
    assert cfg.training.learning_rate == pytest.approx(2e-3)
    with pytest.raises(ConfigError, match="'quantization.beta': got '1e-5x', expected a number"):
        config_from_dict(ModelConfig, {"name": "x", "quantization": {"kind": "hgq", "beta": "1e-5x"}}, "m.yaml")
    with pytest.raises(ConfigError, match="'training.epochs': got '1e2', expected an integer"):
        config_from_dict(ModelConfig, {"name": "x", "training": {"epochs": "1e2"}}, "m.yaml")
