"""`fpgakd study pileup` on hand-written particle run directories (no training)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from fpgakd.cli import main
from fpgakd.errors import ConfigError
from fpgakd.jets.events.eventfile import write_events
from fpgakd.jets.events.puppi import puppi_weights
from fpgakd.studies.spec import PileupStudyConfig, load_study_config
from helpers.events import HARD, PILEUP, hand_built_events

N_EVENTS = 6
TEST_EVENTS = [4, 1, 5]


def _rotated(particles: list[tuple], angle: float) -> list[tuple]:
    """The same particles turned in phi (wrapped), so events differ."""
    return [(p[0], p[1], (p[2] + angle + np.pi) % (2 * np.pi) - np.pi) + tuple(p[3:]) for p in particles]


@pytest.fixture(scope="module")
def event_file(tmp_path_factory):
    angles = np.linspace(0.0, 2 * np.pi, N_EVENTS, endpoint=False)
    events = hand_built_events([_rotated(HARD + PILEUP, a) for a in angles],
                               gen=[[p[:3] for p in _rotated(HARD, a)] for a in angles])
    return write_events(tmp_path_factory.mktemp("events") / "events.h5", events), events


def _write_run(run_dir, events_path, events, student: np.ndarray | None = None, indices=TEST_EVENTS):
    """A particle run directory as `fpgakd distill` leaves it, weights written by hand."""
    test = events.subset(indices)
    truth = (~test.particles["is_pileup"]).astype(np.float32)
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({"events": str(events_path)}))
    np.savez(run_dir / "weights_test.npz", event_indices=np.asarray(indices, dtype=np.int64),
             teacher=np.clip(truth * 0.9 + 0.05, 0, 1), puppi=puppi_weights(test),
             student=truth if student is None else student)
    return run_dir


def test_the_study_prints_and_writes_the_verdict_of_every_run(event_file, tmp_path, capsys):
    path, events = event_file
    n = events.subset(TEST_EVENTS).n_particles
    oracle = _write_run(tmp_path / "oracle", path, events)
    half = _write_run(tmp_path / "half", path, events, student=np.full(n, 0.5, dtype=np.float32))
    out = tmp_path / "study"
    assert main(["-q", "study", "pileup", str(oracle), str(half), "-o", str(out)]) == 0
    table = capsys.readouterr().out
    assert [line.split()[0] for line in table.splitlines()[2:7]] == ["none", "puppi", "teacher", "oracle", "half"]
    results = json.loads((out / "results.json").read_text())
    assert results["n_test_events"] == len(TEST_EVENTS) and results["events"] == str(path)
    v = results["verdict"]
    assert v["oracle"]["accuracy"] == 1.0 and v["oracle"]["met_resolution"] == pytest.approx(0.0, abs=1e-5)
    assert v["half"]["met_median_response"] < -0.2, "halving every particle shrinks the recoil"
    assert (out / "responses.png").stat().st_size > 0 and (out / "weights.png").stat().st_size > 0
    assert load_study_config(out / "config.yaml").verdict.jet_pt_min == 15.0


def test_runs_with_different_test_events_are_named(event_file, tmp_path, capsys):
    path, events = event_file
    a = _write_run(tmp_path / "a", path, events)
    b = _write_run(tmp_path / "b", path, events, indices=[0, 2])
    assert main(["-q", "study", "pileup", str(a), str(b), "-o", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert str(a) in err and str(b) in err and "test events" in err
    assert not (tmp_path / "s").exists()


def test_an_event_file_without_truth_flags_is_named(event_file, tmp_path, capsys):
    path, events = event_file
    stripped = tmp_path / "no_truth.h5"
    stripped.write_bytes(path.read_bytes())
    with h5py.File(stripped, "a") as f:
        del f["particles/is_pileup"]
    run = _write_run(tmp_path / "run", stripped, events)
    assert main(["-q", "study", "pileup", str(run), "-o", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert "no_truth.h5" in err and "is_pileup" in err


def test_a_run_without_weights_and_a_bad_study_key_are_named(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["-q", "study", "pileup", str(tmp_path / "empty")]) == 1
    assert "empty/metrics.json" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: p\nkind: pileup\nverdict: {jet_r: 0.4, match_dr: 0.5}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: key 'verdict\.match_dr'"):
        load_study_config(bad)
    assert isinstance(load_study_config("pileup"), PileupStudyConfig)
