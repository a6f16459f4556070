"""Tests of fpgakd.scan (and fpgakd.cluster): real Dask LocalClusters, tiny synthetic data.

The scans train real (tiny) students and write real HLS projects; the cluster tests kill a
real worker process. Data: 5 classes x 40 synthetic jets; teacher: 8 particles, width 8, one
epoch, one fold.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from fpgakd.errors import ConfigError, FpgakdError

#: epochs and C-sim jets small enough for 2 cores, large enough to train and check something
_TINY_STUDENT = {"name": "tiny", "inputs": {"type": "hlf"}, "hidden": [8],
                 "training": {"epochs": 2, "batch_size": 64, "patience": 2}}
_CSIM_JETS = 20
_KILL_WAIT_S = 120


@pytest.fixture(scope="module")
def scan_inputs(jets_8, tmp_path_factory) -> dict[str, Path]:
    """Jets, a teacher path (no teacher yet), a tiny student and a student that cannot fit the
    data: enough for the errors a scan raises before it reads the teacher."""

    root = tmp_path_factory.mktemp("scan")
    tiny = root / "tiny.yaml"
    tiny.write_text(yaml.safe_dump(_TINY_STUDENT))
    # a regressor of a class the data does not have: distill raises (a point that fails)
    bad = root / "bad.yaml"
    bad.write_text(yaml.safe_dump({**_TINY_STUDENT, "name": "bad", "task": "regressor",
                                   "signal_class": "H"}))
    return {"root": root, "jets": jets_8, "teacher": root / "teacher", "tiny": tiny, "bad": bad,
            "cache": root / "soft_targets"}


@pytest.fixture(scope="module")
def shared(scan_inputs, teacher_8) -> dict[str, Path]:
    """Jets, a tiny teacher, a tiny student and a student that cannot fit the data."""
    return {**scan_inputs, "teacher": teacher_8}


def _write_scan(path: Path, shared: dict[str, Path], **keys) -> Path:
    data = {"name": "t", "jets": str(shared["jets"]), "teacher": str(shared["teacher"]),
            "model": str(shared["tiny"]), "csim_jets": _CSIM_JETS, "retries": 0, "rtl": False, **keys}
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def cluster_address():
    """A separate 2-worker LocalCluster (fpgakd's settings) that scans reach with --scheduler."""
    from fpgakd.cluster import dask_client

    with dask_client(workers=2) as client:
        yield client.scheduler.address


@pytest.fixture(scope="module")
def finished(shared):
    """A scan on the default local cluster: KD and scratch twins of one student, plus the
    twins of a student that raises."""
    from fpgakd.scan.run import run_scan

    config = _write_scan(shared["root"] / "scan.yaml", shared,
                         grid={"model": [str(shared["tiny"]), str(shared["bad"])]})
    summary = run_scan(config, shared["root"] / "out", workers=2, cache_dir=shared["cache"],
                       progress=False)
    return config, summary


@pytest.mark.slow
def test_two_point_scan_writes_table_fronts_and_plot(finished, capsys):
    import pandas as pd

    from fpgakd.cli import main
    from fpgakd.scan.table import read_results

    _, summary = finished
    assert (summary.n_points, summary.n_skipped, summary.n_run, summary.n_failed) == (4, 0, 4, 2)
    table = read_results(summary.scan_dir)
    ok = table[table["status"] == "ok"].set_index("mode")
    assert sorted(ok.index) == ["kd", "scratch"]
    for mode in ("kd", "scratch"):
        row = ok.loc[mode]
        assert 0.0 <= row["accuracy"] <= 1.0 and row["LUT"] > 0 and row["latency_cycles"] >= 1
        assert 0.0 <= row["train_accuracy"] <= 1.0
        assert row["resource_source"] == "estimate" and row["csim"] == "bit-exact"
        assert row["lut_source"].startswith("da4ml cost model, calibrated on ")   # rtl: false
        assert row["student.hidden"] == "[8]" and row["student.training.epochs"] == 2
        assert {"auc_t", "rej30_W", "rej50_Z", "FF", "DSP", "wall_s"} <= set(row.index)
        assert row["worker"].startswith("tcp://") and row["wall_s"] > 0
    # the CSV holds the same rows; the plot exists; each point's run directory too
    csv = pd.read_csv(summary.scan_dir / "results.csv")
    assert sorted(csv["key"]) == sorted(table["key"])
    assert summary.plot.is_file() and summary.plot.stat().st_size > 0
    assert (summary.scan_dir / "runs" / ok.loc["kd", "key"] / "student_kd.h5").is_file()
    assert (summary.scan_dir / "runs" / ok.loc["scratch", "key"] / "student_scratch.h5").is_file()
    assert not (summary.scan_dir / "runs" / ok.loc["kd", "key"] / "student_scratch.h5").exists()
    # a point keeps the held-out jets its C-simulation checked, and no other input array
    run_files = {p.name for p in (summary.scan_dir / "runs" / ok.loc["kd", "key"]).iterdir()}
    assert "heldout_inputs.npy" in run_files and not {"test_inputs.npy", "test_labels.npy"} & run_files
    assert len(np.load(summary.scan_dir / "runs" / ok.loc["kd", "key"] / "heldout_inputs.npy")) == _CSIM_JETS
    assert main(["scan", "--show", str(summary.scan_dir)]) == 0
    out = capsys.readouterr().out
    assert "front: accuracy vs LUT" in out and ok.loc["kd", "key"] in out


@pytest.mark.slow
def test_a_point_that_raises_is_recorded(finished):
    from fpgakd.scan.table import read_results

    table = read_results(finished[1].scan_dir)
    failed = table[table["status"] == "error"]
    assert len(failed) == 2 and set(failed["model"]) == {"bad"}
    assert all("ConfigError" in e and "signal_class" in e for e in failed["error"])
    assert failed["accuracy"].isna().all()


@pytest.mark.slow
def test_resume_skips_done_points(finished, cluster_address, shared):
    from fpgakd.scan.run import run_scan
    from fpgakd.scan.table import read_results

    config, first = finished
    before = read_results(first.scan_dir).set_index("key")
    again = run_scan(config, first.scan_dir, scheduler=cluster_address, cache_dir=shared["cache"],
                     progress=False)
    # the two finished points are skipped; the two failed ones run again (and fail again)
    assert (again.n_points, again.n_skipped, again.n_run, again.n_failed) == (4, 2, 2, 2)
    after = read_results(first.scan_dir).set_index("key")
    assert sorted(after.index) == sorted(before.index)
    done = before.index[before["status"] == "ok"]
    assert (after.loc[done, "finished"] == before.loc[done, "finished"]).all()


def _kill_a_busy_worker(address: str, deadline: float) -> int:
    """SIGKILL the process of a worker that is running a scan point; return its pid."""
    from distributed import Client

    with Client(address) as client:
        while time.time() < deadline:
            busy = [w for w, keys in client.processing().items()
                    if any("scan-point" in str(k) for k in keys)]
            if busy:
                time.sleep(2.0)   # inside the point (TensorFlow importing or training)
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                return pid
            time.sleep(0.2)
    raise AssertionError("no worker started a scan point")


@pytest.mark.slow
def test_a_killed_worker_loses_only_its_attempt(shared, cluster_address):
    from fpgakd.scan.run import run_scan
    from fpgakd.scan.table import read_results

    config = _write_scan(shared["root"] / "kill.yaml", shared, name="kill")
    result: dict = {}
    scan = threading.Thread(target=lambda: result.update(summary=run_scan(
        config, shared["root"] / "kill", scheduler=cluster_address, cache_dir=shared["cache"],
        progress=False)))
    scan.start()
    pid = _kill_a_busy_worker(cluster_address, time.time() + _KILL_WAIT_S)
    scan.join(timeout=_KILL_WAIT_S * 2)
    assert not scan.is_alive()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)   # the worker really died
    summary = result["summary"]
    assert (summary.n_points, summary.n_run, summary.n_failed) == (2, 2, 0)
    table = read_results(summary.scan_dir)
    assert sorted(table["mode"]) == ["kd", "scratch"] and set(table["status"]) == {"ok"}


def test_bad_scan_yaml_names_file_and_key(tmp_path, scan_inputs):
    from fpgakd.cli import main
    from fpgakd.scan.spec import load_scan_config

    cases = {"grid": ({"pruning.sparsity": [0.5]}, r"'grid\.pruning\.sparsity'"),
             "csim_jets": (0, r"'csim_jets'.*got 0"),
             "random": ({"count": 2, "space": {"bits": {"low": 8, "high": 4}}},
                        r"'random\.space\.bits'"),
             "firmware": ("no_such_target", r"'firmware'.*no_such_target"),
             "colour": ("blue", r"unknown key 'colour'")}
    for key, (value, message) in cases.items():
        path = _write_scan(tmp_path / f"{key}.yaml", scan_inputs, **{key: value})
        with pytest.raises(ConfigError, match=rf"{key}\.yaml.*{message}"):
            load_scan_config(path)
    # a value a student rejects is reported when the point is resolved, before any work
    path = _write_scan(tmp_path / "bits.yaml", scan_inputs, grid={"bits": [1]})
    assert main(["scan", str(path), "-o", str(tmp_path / "never")]) == 1
    assert not (tmp_path / "never").exists()


def test_zero_points_is_an_error(tmp_path, scan_inputs):
    from fpgakd.scan.run import run_scan

    for name, keys, message in (("empty", {"grid": {"hidden": []}}, "key 'grid.hidden' is an empty list"),
                                ("none", {"random": {"count": 0, "space": {"bits": [4, 8]}}},
                                 "key 'random.count' is 0")):
        path = _write_scan(tmp_path / f"{name}.yaml", scan_inputs, **keys)
        with pytest.raises(ConfigError, match=rf"{name}\.yaml: the scan has no points: {message}"):
            run_scan(path, tmp_path / name, progress=False)
        assert not (tmp_path / name).exists()


@pytest.mark.slow
def test_unreachable_scheduler_fails_fast_and_writes_nothing(tmp_path, scan_inputs):
    from fpgakd.scan.run import run_scan

    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = _write_scan(tmp_path / "s.yaml", scan_inputs)
    started = time.time()
    with pytest.raises(FpgakdError, match=rf"tcp://127.0.0.1:{port}: no Dask scheduler answered"):
        run_scan(path, tmp_path / "out", scheduler=f"tcp://127.0.0.1:{port}", progress=False)
    assert time.time() - started < 12
    assert not (tmp_path / "out").exists()


def test_sampling_is_seeded_and_crosses_grid_with_draws():
    from fpgakd.scan.sampling import sample_choices
    from fpgakd.scan.spec import RandomSampling, ScanConfig

    space = {"bits": [4, 6, 8], "distillation.alpha": {"low": 0.1, "high": 0.9},
             "training.epochs": {"low": 2, "high": 5}}
    scan = ScanConfig(name="s", grid={"hidden": ([8], [16])}, modes=("kd",),
                      random=RandomSampling(count=3, seed=7, space=space))
    first, second = sample_choices(scan), sample_choices(scan)
    assert first == second and len(first) == 6
    assert all(c["bits"] in (4, 6, 8) and 0.1 <= c["distillation.alpha"] <= 0.9 for c in first)
    assert all(isinstance(c["training.epochs"], int) and 2 <= c["training.epochs"] <= 5 for c in first)
    assert {c["mode"] for c in first} == {"kd"}


def test_pareto_front_per_mode():
    import pandas as pd

    from fpgakd.scan.pareto import front_rows, pareto_mask

    assert pareto_mask([1, 1, 2], [0.5, 0.5, 0.4]).tolist() == [True, True, False]
    frame = pd.DataFrame({"key": list("abcde"), "mode": ["kd", "kd", "kd", "scratch", "scratch"],
                          "status": ["ok"] * 4 + ["error"], "csim": ["bit-exact"] * 5,
                          "LUT": [100, 200, 300, 50, 10], "accuracy": [0.6, 0.7, 0.65, 0.5, 0.9]})
    assert list(front_rows(frame, "LUT")["key"]) == ["a", "b", "d"]


def test_slurm_job_script_runs_single_threaded_workers():
    from dask_jobqueue import SLURMCluster

    from fpgakd.cluster import WORKER_ENV, slurm_cluster_options

    options = slurm_cluster_options(cores=4, memory="8GB", queue="cpu", walltime="01:00:00")
    with SLURMCluster(**options) as cluster:
        script = cluster.job_script()
    assert "#SBATCH -p cpu" in script and "#SBATCH --cpus-per-task=4" in script
    assert "#SBATCH -t 01:00:00" in script
    assert "--nthreads 1" in script and "--nworkers 4" in script
    for key, value in WORKER_ENV.items():
        assert f"export {key}={value}" in script


@pytest.mark.slow
def test_dask_generation_matches_the_process_pool(tmp_path):
    import h5py

    from fpgakd.jets.generate import generate_jets
    from fpgakd.jets.options import GenerationOptions

    options = GenerationOptions(jets_per_class=4, seed=5, classes=("q", "W"), mpi=False,
                                n_constituents=16, chunk_jets=2, workers=2)
    pool = generate_jets(tmp_path / "pool.h5", options, progress=False)
    dask = generate_jets(tmp_path / "dask.h5", options, progress=False, engine="dask")
    assert pool.total_jets == dask.total_jets == 8 and dask.workers == 2
    with h5py.File(tmp_path / "pool.h5") as a, h5py.File(tmp_path / "dask.h5") as b:
        for name in ("hlf", "constituents", "mask", "labels", "jets"):
            np.testing.assert_array_equal(a[name][...], b[name][...], err_msg=name)
    with pytest.raises(ConfigError, match="engine"):
        generate_jets(tmp_path / "x.h5", options, progress=False, engine="threads")


def test_hand_picked_points_follow_the_grid_and_name_their_mode():
    from fpgakd.config import config_from_dict
    from fpgakd.scan.sampling import sample_choices
    from fpgakd.scan.spec import ScanConfig

    tuned = {"hidden": [16], "mode": "kd", "distillation.alpha": 0.8}
    scan = config_from_dict(ScanConfig, {"name": "s", "points": [tuned, {"hidden": [4]}]})
    assert sample_choices(scan) == [tuned, {"hidden": [4], "mode": "kd"},
                                    {"hidden": [4], "mode": "scratch"}]
    scan = config_from_dict(ScanConfig, {"name": "s", "grid": {"hidden": [[8]]}, "points": [tuned]})
    assert [c["hidden"] for c in sample_choices(scan)] == [[8], [8], [16]]
    with pytest.raises(ConfigError, match=r"s\.yaml: key 'points\[1\]\.alpha'"):
        config_from_dict(ScanConfig, {"name": "s", "points": [tuned, {"alpha": 0.5}]}, "s.yaml")


@pytest.mark.slow
def test_a_finished_point_is_a_teacher_assistant_for_the_next_scan(finished, shared):
    from fpgakd.config import config_from_dict
    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.soft_targets import load_teacher_source, member_logits
    from fpgakd.scan.run import _share_data_and_teacher
    from fpgakd.scan.spec import ScanConfig
    from fpgakd.scan.table import read_results

    _, summary = finished
    table = read_results(summary.scan_dir)
    kd_key = table[(table["status"] == "ok") & (table["mode"] == "kd")]["key"].iloc[0]
    assistant = summary.scan_dir / "runs" / kd_key
    scan = config_from_dict(ScanConfig, {"name": "ta", "jets": str(shared["jets"]),
                                         "teacher": str(assistant)})
    shared_inputs = _share_data_and_teacher(scan, 0, shared["cache"], progress=False)
    assert shared_inputs.teacher_identity == load_teacher_source(assistant).identity
    logits = member_logits(assistant, load_jets(shared["jets"]), cache_dir=shared["cache"], progress=False)
    assert logits.shape == (200, 5) and np.isfinite(logits).all()


def test_longer_points_are_counted_as_more_work():
    # the scan starts points in falling order of this figure, so a long one is not left last
    from fpgakd.scan.points import point_work

    def work(hidden, epochs, **more):
        return point_work({"model": {"hidden": hidden, "training": {"epochs": epochs}, **more}})

    assert work([64, 32, 32], 10) > work([32, 16], 10) > work([4], 10)
    assert work([16], 40) == 4 * work([16], 10)
    deepsets = {"particle_hidden": [64, 32], "inputs": {"n_constituents": 16}}
    assert work([32, 32], 10, **deepsets) > work([64, 32, 32], 10)
    assert work([32, 32], 10, **deepsets) > work([32, 32], 10, **{**deepsets, "inputs": {"n_constituents": 8}})
