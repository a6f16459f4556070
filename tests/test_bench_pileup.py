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


def test_where_the_students_lose_puts_the_teachers_weights_on_one_class_at_a_time():
    import numpy as np

    where = load_benchmark("bench_pileup_where")
    # a photon of 0.5 GeV, a neutral hadron of 7 GeV, a track, a photon beyond the tracker
    particles = {"charge": np.array([0, 0, 1, 0]), "eta": np.array([0.0, 1.0, 0.5, 4.5]),
                 "pt": np.array([0.5, 7.0, 3.0, 2.0]), "pdg_id": np.array([22, 130, 211, 22]), "dz": np.zeros(4)}
    classes = where.particle_classes(particles)
    assert classes["all without a track"].tolist() == [True, True, False, True]
    assert classes["beyond the tracker"].tolist() == [False, False, False, True]
    assert sum(classes[name] for name in where._pt_bin_names()).tolist() == [1, 1, 0, 0]   # one bin each, inside
    weights = {"teacher": np.array([0.9, 0.8, 1.0, 0.1]), "q": np.array([0.1, 0.2, 1.0, 0.3])}
    mixed = where.substituted("q", weights, classes)
    np.testing.assert_allclose(mixed["q + teacher on neutral hadrons"], [0.1, 0.8, 1.0, 0.3])
    np.testing.assert_allclose(mixed["q + teacher on all without a track"], weights["teacher"])


def test_where_the_students_lose_tabulates_the_gap_each_class_closes(tmp_path):
    where = load_benchmark("bench_pileup_where")

    def entry(jet: float) -> dict:
        return {"jet_resolution": jet, "jet_median_response": -0.01, "met_resolution": 0.2, "met_median_response": 0.0}
    result = {"verdict": {"puppi": entry(0.10), "teacher": entry(0.08), "q": entry(0.12),
                          "q + teacher on photons, no track": entry(0.10),
                          "q + teacher on beyond the tracker": entry(0.12)},
              "class_sizes": {"photons, no track": 5, "beyond the tracker": 0}}   # an empty class is left out
    rows = where.table_rows(result, ["q"])
    assert [r[0] for r in rows[1:]] == ["puppi", "teacher", "q", "q + teacher on photons, no track"]
    assert rows[2][2] == "+20.0%" and rows[3][2] == "-20.0%"
    assert rows[4][3] == "50%" and rows[3][3] == ""      # half the student's gap; none for the student itself
    with pytest.raises(SystemExit, match=r"seed0/teacher: not found; run benchmarks/bench_pileup\.py"):
        (tmp_path / "eval_mu140_1000.h5").write_text("")
        where.main(["--out", str(tmp_path), "--students", "q"])
