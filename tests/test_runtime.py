"""Same seed, same numbers: trainings repeat bit for bit, whatever the number of cores."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fpgakd.config import ModelConfig, config_from_dict
from fpgakd.learn.runtime import ONEDNN_ISA, TF_THREADS
from helpers.jets import write_synthetic_jets

_TEACHER_SCRIPT = """
import hashlib, json, os, sys
cpus = json.loads(sys.argv[3])
os.sched_setaffinity(0, cpus)
from fpgakd.config import TeacherConfig
from fpgakd.learn.teacher import train_teacher
import h5py
from pathlib import Path
out = train_teacher(sys.argv[1], sys.argv[2], progress=False,
                    config=TeacherConfig(n_constituents=8, width=8, epochs=2, n_folds=1))
digest = hashlib.sha256()
for path in sorted(Path(out).glob("*.h5")):
    with h5py.File(path) as f:
        f["model_weights"].visititems(
            lambda name, obj: digest.update(name.encode() + obj[()].tobytes())
            if isinstance(obj, h5py.Dataset) else None)
import tensorflow as tf
from tensorflow.python.framework import config as tf_config
print(json.dumps({"weights": digest.hexdigest(), "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                  "isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
                  "intra": tf.config.threading.get_intra_op_parallelism_threads(),
                  "inter": tf.config.threading.get_inter_op_parallelism_threads(),
                  "deterministic": tf_config.is_op_determinism_enabled()}))
"""


def _student_weights(x, y, train, val, tmp_path, tag):
    from fpgakd.learn.training import train_student

    cfg = config_from_dict(ModelConfig, {"name": "tiny", "hidden": [8], "inputs": {"type": "hlf"},
                                         "training": {"epochs": 3, "batch_size": 32, "seed": 7},
                                         "pruning": {"enabled": False}}, "test")
    model, _, _ = train_student(cfg, "kd", x, y, train, val, 5, tmp_path / tag, progress=False)
    return [w.numpy() for w in model.weights]


@pytest.mark.slow
def test_two_trainings_with_the_same_seed_give_identical_weights(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 16)).astype(np.float32)
    labels = rng.integers(0, 5, size=400)
    y = np.concatenate([np.eye(5, dtype=np.float32)[labels], rng.normal(size=(400, 5)).astype(np.float32)], 1)
    train, val = np.arange(300), np.arange(300, 400)
    first = _student_weights(x, y, train, val, tmp_path, "a")
    second = _student_weights(x, y, train, val, tmp_path, "b")
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    # a different seed must give different weights, or the check above proves nothing
    from fpgakd.learn.training import train_student
    cfg = config_from_dict(ModelConfig, {"name": "tiny", "hidden": [8], "inputs": {"type": "hlf"},
                                         "training": {"epochs": 3, "batch_size": 32, "seed": 8},
                                         "pruning": {"enabled": False}}, "test")
    other, _, _ = train_student(cfg, "kd", x, y, train, val, 5, tmp_path / "c", progress=False)
    assert any(not np.array_equal(a, w.numpy()) for a, w in zip(first, other.weights))


@pytest.mark.slow
def test_teacher_trainings_are_pinned_and_repeat_bit_for_bit(tmp_path):
    """Two fresh processes (one restricted to a single core) train the same teacher: the
    settings that make numbers machine-independent are applied, and the weights agree."""
    jets = write_synthetic_jets(tmp_path / "jets.h5", n_per_class=60, n_particles=8)
    cpus = sorted(os.sched_getaffinity(0))
    weights = [_train_tiny_teacher(jets, tmp_path / tag, allowed)
               for tag, allowed in (("one core", cpus[:1]), ("all cores", cpus))]
    for run in weights:
        assert run["onednn"] == "0" and run["deterministic"] and run["isa"] == ONEDNN_ISA
        assert run["intra"] == run["inter"] == TF_THREADS
    assert weights[0]["weights"] == weights[1]["weights"]


def _train_tiny_teacher(jets, out, cpus, isa=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_ENABLE_ONEDNN_OPTS", "FPGAKD_TF_THREADS", "ONEDNN_MAX_CPU_ISA")}
    if isa is not None:
        env["ONEDNN_MAX_CPU_ISA"] = isa
    out = subprocess.run([sys.executable, "-c", _TEACHER_SCRIPT, str(jets), str(out), json.dumps(cpus)],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_instruction_set_cap_is_what_makes_processors_agree(tmp_path):
    """oneDNN's products follow the instruction set even with its graph rewrites off: a
    training capped at an older set gets other weights, so the cap fpgakd sets is doing the
    work (on an AVX-512 processor, uncapped would differ from capped as AVX differs here)."""
    jets = write_synthetic_jets(tmp_path / "jets.h5", n_per_class=60, n_particles=8)
    cpus = sorted(os.sched_getaffinity(0))
    capped = _train_tiny_teacher(jets, tmp_path / "capped", cpus)
    explicit = _train_tiny_teacher(jets, tmp_path / "explicit", cpus, isa=ONEDNN_ISA)
    older = _train_tiny_teacher(jets, tmp_path / "older", cpus, isa="AVX")
    assert capped["isa"] == ONEDNN_ISA and older["isa"] == "AVX"
    assert capped["weights"] == explicit["weights"]
    assert older["weights"] != capped["weights"]
