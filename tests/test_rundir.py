"""The run directory contract (fpgakd.learn.rundir): its names spelled nowhere else, runs load."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

import fpgakd
from fpgakd.errors import DataError
from fpgakd.learn import rundir

PACKAGE = Path(fpgakd.__file__).parent
CONTRACT = PACKAGE / "learn" / "rundir.py"
#: the file names of run and teacher directories (and the stem of a student's file name)
RUN_FILE_NAMES = ("config.yaml", "standardization.json", "metrics.json", "test_inputs.npy", "test_labels.npy",
                  "heldout_inputs.npy", "weights_test.npz", "roc.png", "training_curves.png", "student_kd.h5",
                  "student_scratch.h5", "teacher.json", "pileup_teacher.json", "folds.npy", "teacher.h5",
                  "teacher_fold")
_NAME = re.compile("|".join(rf"(?<![\w.]){re.escape(n)}(?![\w])" for n in RUN_FILE_NAMES)
                   + r"|(?<![\w.])student_$")


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (prose may name files)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _run_file_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    docs = _docstring_nodes(tree)
    return [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
            and _NAME.search(node.value)]


def test_no_module_but_the_contract_spells_a_run_file_name():
    # the benchmark scripts read runs too: they go through the contract as the stages do
    sources = [*sorted(PACKAGE.rglob("*.py")), *sorted((PACKAGE.parent / "benchmarks").glob("*.py"))]
    found = [hit for path in sources if path != CONTRACT for hit in _run_file_literals(path)]
    assert found == [], "run file names belong to fpgakd.learn.rundir:\n" + "\n".join(found)


def test_the_check_finds_a_spelled_name(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""Writes metrics.json (prose is fine)."""\nNAME = "run/metrics.json"\nF = f"student_{1}.h5"\n')
    assert len([h for h in _run_file_literals_at(module)]) == 2


def _run_file_literals_at(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    docs = _docstring_nodes(tree)
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and id(node) not in docs and _NAME.search(node.value)]


# ---------------------------------------------------------------- runs as written before the contract
def _old_layout_jet_run(run_dir: Path, *, heldout: bool = True, scratch: bool = True) -> Path:
    """A jet run directory spelled out file by file, as ``fpgakd distill`` wrote it before
    the contract module (the models are tiny Keras files)."""
    import tensorflow as tf

    from fpgakd.config import config_to_dict, load_model_config
    from fpgakd.jets.preprocessing import Standardizer

    run_dir.mkdir(parents=True)
    cfg = load_model_config("hlf_mlp")
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    Standardizer().fit(np.array([[0.0, 1.0], [2.0, 5.0]]), ["f0", "f1"]).save(run_dir / "standardization.json")
    model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(5)])
    for mode in ("kd", "scratch") if scratch else ("kd",):
        model.save(run_dir / f"student_{mode}.h5", include_optimizer=False, save_format="h5")
    np.save(run_dir / "test_inputs.npy", np.zeros((4, 2), np.float32))
    np.save(run_dir / "test_labels.npy", np.zeros(4, np.int64))
    if heldout:
        np.save(run_dir / "heldout_inputs.npy", np.zeros((6, 2), np.float32))
    (run_dir / "metrics.json").write_text(json.dumps({"model": cfg.name, "kd": {"accuracy": 0.5},
                                                      "data": {"fingerprint": "x", "split_seed": 0}}))
    return run_dir


@pytest.fixture
def old_run(tmp_path):
    return _old_layout_jet_run(tmp_path / "run")


def test_an_old_layout_run_loads(old_run):
    run = rundir.load_run(old_run)
    assert run.config.name == "hlf_mlp"
    assert list(run.students) == ["kd", "scratch"]
    assert run.inputs == old_run / "heldout_inputs.npy"
    assert run.metrics["kd"]["accuracy"] == 0.5
    assert run.kind == "jets" and run.weights is None
    assert rundir.find_student_file(old_run).name == "student_kd.h5"
    assert rundir.read_run_standardizer(old_run).feature_names_ == ("f0", "f1")


def test_an_older_run_without_heldout_inputs_or_metrics_loads(tmp_path):
    run_dir = _old_layout_jet_run(tmp_path / "run", heldout=False, scratch=False)
    (run_dir / "metrics.json").unlink()
    run = rundir.load_run(run_dir)
    assert run.inputs == run_dir / "test_inputs.npy"
    assert run.metrics == {} and list(run.students) == ["kd"]


def test_a_directory_without_a_student_is_refused(tmp_path):
    run_dir = _old_layout_jet_run(tmp_path / "run", scratch=False)
    (run_dir / "student_kd.h5").unlink()
    with pytest.raises(DataError, match="no student"):
        rundir.load_run(run_dir)
    with pytest.raises(DataError, match="not a distill run directory"):
        rundir.load_run(tmp_path)


def test_old_layout_particle_weights_load(tmp_path):
    np.savez(tmp_path / "weights_test.npz", event_indices=np.array([3, 5]),
             teacher=np.ones(4, np.float32), puppi=np.zeros(4, np.float32), student=np.ones(4, np.float32))
    indices, weights = rundir.read_particle_weights(tmp_path, ("teacher", "puppi", "student"))
    assert indices.tolist() == [3, 5] and sorted(weights) == ["puppi", "student", "teacher"]
    with pytest.raises(DataError, match="missing"):
        rundir.read_particle_weights(tmp_path, ("kd",))


def test_the_writers_give_the_old_layout(tmp_path):
    from fpgakd.config import load_model_config
    from fpgakd.jets.preprocessing import Standardizer

    std = Standardizer().fit(np.array([[0.0, 1.0], [2.0, 3.0]]), ["a", "b"])
    rundir.write_run_inputs(tmp_path, load_model_config("hlf_mlp"), std, test_inputs=np.zeros((2, 2)),
                            test_labels=np.zeros(2), heldout_inputs=np.zeros((3, 2)))
    rundir.write_particle_weights(tmp_path, np.arange(2), {"student": np.ones(3)})
    rundir.write_run_metrics(tmp_path, {"model": "hlf_mlp"})
    rundir.write_teacher_meta(tmp_path, {"models": []})
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["config.yaml", "heldout_inputs.npy", "metrics.json", "standardization.json",
                       "teacher.json", "test_inputs.npy", "test_labels.npy", "weights_test.npz"]


# ---------------------------------------------------------------- a run written by distill
@pytest.mark.slow
def test_a_run_written_by_distill_loads_and_serves_every_reader(jets_8, teacher_8, tmp_path):
    from fpgakd.config import ModelConfig, config_from_dict
    from fpgakd.learn.assistant import load_student_run
    from fpgakd.learn.distillation import distill
    from fpgakd.studies.models import check_run_data, load_run_students

    jets, teacher = jets_8, teacher_8
    cfg = config_from_dict(ModelConfig, {
        "name": "tiny", "hidden": [8],
        "inputs": {"type": "constituents", "n_constituents": 8, "constituent_features": ["deta", "dphi"]},
        "training": {"epochs": 1, "batch_size": 64, "patience": 1}}, "test")
    run_dir = tmp_path / "run"
    metrics = distill(cfg, jets, run_dir, teacher_path=teacher, progress=False)
    run = rundir.load_run(run_dir)
    assert run.config == cfg and run.metrics == json.loads(json.dumps(metrics))
    assert list(run.students) == ["kd", "scratch"] and run.kind == "jets"
    assert run.inputs == run_dir / "heldout_inputs.npy"
    assert np.load(run.inputs).shape[1] == rundir.read_run_standardizer(run_dir).n_features_in_
    assert rundir.is_student_run(run_dir) and load_student_run(run_dir).models == (run_dir / "student_kd.h5",)
    assert list(load_run_students(run_dir).models) == ["kd", "scratch"]
    from fpgakd.jets.loading import load_jets
    assert check_run_data(run_dir, load_jets(jets)) == cfg.training.split_seed


def test_a_scan_keeps_the_heldout_jets_its_firmware_check_used(tmp_path):
    heldout = np.arange(40, dtype=np.float32).reshape(10, 4)
    np.save(tmp_path / "heldout_inputs.npy", heldout)
    np.save(tmp_path / "test_inputs.npy", heldout[:6])
    np.save(tmp_path / "test_labels.npy", np.zeros(6))
    rundir.remove_bulky_files(tmp_path, keep_heldout=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heldout_inputs.npy"]
    np.testing.assert_array_equal(np.load(tmp_path / "heldout_inputs.npy"), heldout[:3])
    assert rundir.run_inputs_file(tmp_path) == tmp_path / "heldout_inputs.npy"
    rundir.remove_bulky_files(tmp_path)
    assert not any(tmp_path.iterdir())
