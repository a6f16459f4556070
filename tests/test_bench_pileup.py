"""The pileup benchmark: cached verdicts reused only where they judge every student asked for; the
students' training events with a second process's after them."""

from __future__ import annotations

import json

import pytest

from helpers.benchmarks import load_benchmark


class Judged(Exception):
    """Raised where the benchmark would weigh the particles again."""


def _judge(*args, **kwargs):
    raise Judged


def test_a_cached_verdict_is_reused_only_when_it_holds_every_student(tmp_path, monkeypatch):
    bench = load_benchmark("bench_pileup")
    monkeypatch.setattr(bench, "algorithm_weights", _judge)
    seed_dir = tmp_path / "seed0"
    seed_dir.mkdir()
    cached = {"puppi": {"met_resolution": 0.3}, "teacher": {"met_resolution": 0.2},
              "qdistillnet": {"met_resolution": 0.25}}
    (seed_dir / "verdict.json").write_text(json.dumps(cached))
    teacher = tmp_path / "teacher"
    # the student asked is in the file: nothing is weighed again
    assert bench.evaluate_seed(seed_dir, teacher, {"qdistillnet": tmp_path / "q"}, None, plots=False) == cached
    # a second student the file lacks: every algorithm is judged again
    with pytest.raises(Judged):
        bench.evaluate_seed(seed_dir, teacher, {"qdistillnet": tmp_path / "q", "distillnet": tmp_path / "d"},
                            None, plots=False)


def test_the_students_extra_events_follow_the_training_events_in_one_file_written_once(tmp_path):
    import dataclasses

    import numpy as np

    from fpgakd.jets.events.eventfile import load_events, write_events
    from helpers.events import pileup_events

    bench = load_benchmark("bench_pileup")
    first = dataclasses.replace(pileup_events(3, seed=0), options={"process": "wjets", "n_events": 3})
    extra = dataclasses.replace(pileup_events(2, seed=1), options={"process": "ttbar_dilep", "n_events": 2})
    train_path = write_events(tmp_path / "train_mu140_3.h5", first)
    write_events(tmp_path / "train_ttbar_dilep_mu140_2.h5", extra)     # there: nothing is generated

    path = bench.students_training_events(tmp_path, train_path, "ttbar_dilep", 140.0, 2)
    assert path.name == "train_mu140_3_plus_train_ttbar_dilep_mu140_2.h5"
    mixed = load_events(path, require_truth=False)
    assert mixed.n_events == 5
    np.testing.assert_array_equal(mixed.particles["pt"],
                                  np.concatenate([first.particles["pt"], extra.particles["pt"]]))
    assert (mixed.options["process"], mixed.options["n_events"]) == ("wjets+ttbar_dilep", 5)
    written = path.stat().st_mtime_ns
    bench.students_training_events(tmp_path, train_path, "ttbar_dilep", 140.0, 2)
    assert path.stat().st_mtime_ns == written
