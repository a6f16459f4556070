"""The pileup benchmark's cached verdicts: reused only where they judge every student asked for."""

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
