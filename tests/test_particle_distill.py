"""Per-particle distillation (DistillNet): the run directory's contract, soft labels alone."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from fpgakd.config import ModelConfig, config_from_dict, config_to_dict, load_model_config
from fpgakd.errors import ConfigError
from fpgakd.jets.events.eventfile import load_events, write_events
from helpers.events import fake_puppi, pileup_events

#: both students, shrunk to a couple of quick epochs
_TRAINING = {"epochs": 2, "batch_size": 64, "patience": 2}


@pytest.fixture
def teacher(pileup_teacher):
    return pileup_teacher


@pytest.fixture(scope="module")
def untrained_teacher(tmp_path_factory):
    """The tiny teacher's directory (never written) and data: for errors raised before any training."""
    from fpgakd.learn.pileup.events import pileup_data

    events = pileup_events(40)
    return tmp_path_factory.mktemp("no_teacher") / "teacher", pileup_data(events, fake_puppi(events))


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Training checkpoints go to a cache of the test's own, not the user's."""
    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "fpgakd_cache"))


def tiny(name: str) -> ModelConfig:
    data = config_to_dict(load_model_config(name))
    data["training"].update(_TRAINING)
    data["pruning"]["frequency_steps"] = 2
    return config_from_dict(ModelConfig, data, f"tiny {name}")


def distill(cfg, events, teacher_dir, root, name):
    from fpgakd.learn.pileup.student import distill_particles

    path = write_events(root / f"{name}.h5", events)
    return distill_particles(cfg, path, root / name, teacher_path=teacher_dir, puppi=fake_puppi(events),
                             cache_dir=root / "cache", progress=False)


@pytest.mark.slow
def test_a_particle_run_writes_the_contract_aligned_with_its_test_events(teacher, tmp_path):
    from fpgakd.learn.pileup.teacher import pileup_soft_labels
    from fpgakd.learn.students import load_student

    directory, data = teacher
    metrics = distill(tiny("qdistillnet"), data.events, directory, tmp_path, "run")
    run = tmp_path / "run"
    assert json.loads((run / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    assert metrics["events"] == str(tmp_path / "run.h5") and metrics["task"] == "particle_weight"
    with np.load(run / "weights_test.npz") as saved:
        saved = {k: saved[k] for k in saved.files}
    assert saved["event_indices"].dtype == np.int64 and {"teacher", "puppi", "student"} <= set(saved)
    test_events = load_events(metrics["events"]).subset(saved["event_indices"])
    # each array follows the particles of events.subset(event_indices), in that order
    np.testing.assert_array_equal(saved["puppi"], fake_puppi(test_events))
    soft = pileup_soft_labels(directory, data, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(saved["teacher"], soft[data.rows(saved["event_indices"])])
    x_test = np.load(run / "test_inputs.npy")
    assert x_test.shape == (test_events.n_particles, 16)
    logits = load_student(run / "student_kd.h5").predict(x_test, verbose=0)[:, 0]
    np.testing.assert_allclose(saved["student"], 1 / (1 + np.exp(-logits)), rtol=1e-5)
    assert metrics["kd"]["mae_to_teacher"] == pytest.approx(np.mean(np.abs(saved["student"] - saved["teacher"])))
    assert (run / "config.yaml").is_file() and load_model_config(run / "config.yaml").name == "qdistillnet"


@pytest.mark.slow
def test_the_student_never_sees_the_truth_flags(teacher, tmp_path):
    from fpgakd.learn.students import load_student

    directory, data = teacher
    events = data.events
    flipped = dataclasses.replace(events, particles={**events.particles,
                                                     "is_pileup": ~events.particles["is_pileup"]})
    cfg = tiny("distillnet")
    runs = [distill(cfg, e, directory, tmp_path, name) for e, name in ((events, "true"), (flipped, "flipped"))]
    # the truth flags did reach the metrics ...
    assert runs[0]["kd"]["accuracy"] == pytest.approx(1 - runs[1]["kd"]["accuracy"])
    # ... but not the training: the same soft labels gave the same student, weight for weight
    weights = [load_student(tmp_path / name / "student_kd.h5").get_weights() for name in ("true", "flipped")]
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_a_pt_weighted_or_cross_entropy_student_trains_on_other_weights_and_says_so(teacher, tmp_path):
    from fpgakd.learn.students import load_student

    directory, data = teacher
    plain = tiny("distillnet")
    changed = {"weighted": {"particle_weighting": "pt"}, "bce": {"regression_loss": "bce"}}
    configs = {"plain": plain, **{name: dataclasses.replace(plain, distillation=dataclasses.replace(
        plain.distillation, **change)) for name, change in changed.items()}}
    for name, cfg in configs.items():
        distill(cfg, data.events, directory, tmp_path, name)
    recorded = {name: load_model_config(tmp_path / name / "config.yaml").distillation for name in configs}
    assert recorded["weighted"].particle_weighting == "pt" and recorded["bce"].regression_loss == "bce"
    students = {name: load_student(tmp_path / name / "student_kd.h5").get_weights() for name in configs}
    # same seed, same soft labels: only the loss tells each apart from the plain student
    for name in changed:
        assert any(not np.array_equal(a, b) for a, b in zip(students["plain"], students[name])), name


@pytest.mark.slow
def test_a_student_reading_the_raw_puppi_weight_trains_on_17_inputs_and_the_benchmark_reads_them(teacher,
                                                                                                   tmp_path):
    from fpgakd.jets.events.puppi import puppi_weights
    from fpgakd.learn.pileup.events import pileup_data
    from fpgakd.learn.pileup.student import distill_particles
    from fpgakd.learn.rundir import read_particle_weights, read_run_standardizer
    from helpers.benchmarks import load_benchmark

    directory, data = teacher
    cfg = tiny("qdistillnet")
    cfg = dataclasses.replace(cfg, inputs=dataclasses.replace(cfg.inputs, puppi_raw_weight=True))
    path = write_events(tmp_path / "events.h5", data.events)
    puppi = puppi_weights(data.events)
    distill_particles(cfg, path, tmp_path / "run", teacher_path=directory, puppi=puppi,
                      cache_dir=tmp_path / "cache", progress=False)
    run = tmp_path / "run"
    assert read_run_standardizer(run).feature_names_[-1] == "puppi_raw_weight"
    indices, saved = read_particle_weights(run, ("student",))
    test_events = data.events.subset(indices)
    assert np.load(run / "test_inputs.npy").shape == (test_events.n_particles, 17)
    # the benchmark applies the run's student to other events with the same 17 inputs
    bench = load_benchmark("bench_pileup")
    again = bench.student_weights(run, pileup_data(test_events, puppi_weights(test_events)))
    np.testing.assert_allclose(again, saved["student"], rtol=1e-5)


def test_a_jet_student_on_events_is_refused_by_name(untrained_teacher, tmp_path):
    directory, data = untrained_teacher
    with pytest.raises(ConfigError, match="model hlf_mlp: key 'task'.*particle_weight"):
        distill(load_model_config("hlf_mlp"), data.events, directory, tmp_path, "jet")


def _altered_teacher(teacher_dir, tmp_path, change):
    """A copy of the tiny teacher whose description ``change`` edits."""
    import shutil

    copy = tmp_path / "altered_teacher"
    shutil.copytree(teacher_dir, copy)
    meta = json.loads((copy / "pileup_teacher.json").read_text())
    change(meta)
    (copy / "pileup_teacher.json").write_text(json.dumps(meta))
    return copy


def _renamed_first(names):
    return ["not_" + names[0]] + list(names[1:])


@pytest.mark.slow
@pytest.mark.parametrize("key", ["inputs", "standardization"])
def test_a_teacher_trained_on_other_inputs_is_refused_before_anything_is_written(teacher, tmp_path, key, capsys):
    from fpgakd.cli import main

    directory, data = teacher

    def change(meta):
        # "inputs": a teacher consistently trained on another input list; "standardization":
        # the events' inputs, but a scaling fitted on others
        meta["standardization"]["feature_names"] = _renamed_first(meta["inputs"])
        if key == "inputs":
            meta["inputs"] = _renamed_first(meta["inputs"])

    altered = _altered_teacher(directory, tmp_path, change)
    events = write_events(tmp_path / "e.h5", data.events)
    rc = main(["distill", "--events", str(events), "--teacher", str(altered), "--model", "qdistillnet",
               "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1
    assert "pileup_teacher.json: key " + repr(key) in err
    assert not (tmp_path / "run").exists()


def test_the_teacher_command_refuses_events_without_truth_flags(tmp_path, capsys):
    import h5py

    from fpgakd.cli import main

    path = write_events(tmp_path / "e.h5", pileup_events(3))
    with h5py.File(path, "a") as f:
        del f["particles/is_pileup"]
    rc = main(["teacher", "--events", str(path), "-o", str(tmp_path / "teacher")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1
    assert "e.h5: particles/is_pileup" in err
    assert not (tmp_path / "teacher").exists()
