"""Events with pileup from real Pythia 8 runs (tiny: a few dozen min-bias events, a handful of
hard events): the file, its truth, the cached library and the `fpgakd events` command."""

from __future__ import annotations

import numpy as np
import pytest

from fpgakd.cli import main
from fpgakd.errors import ConfigError
from fpgakd.jets.events import generate, minbias
from fpgakd.jets.events.eventfile import load_events
from fpgakd.jets.events.generate import generate_events
from fpgakd.jets.events.options import PileupOptions
from fpgakd.jets.events.overlay import pileup_counts

LIBRARY = 40   # min-bias events: ~0.5 s of Pythia
TINY = {"library_size": LIBRARY, "workers": 1}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("cache")
        mp.setenv("FPGAKD_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def with_pileup(cache, tmp_path_factory):
    options = PileupOptions(mu=4.0, n_events=6, seed=5, **TINY)
    path = tmp_path_factory.mktemp("ev") / "events.h5"
    return path, options, generate_events(path, options, progress=False)


@pytest.mark.slow
def test_the_file_round_trips_with_truth_and_the_seeded_counts(with_pileup):
    path, options, summary = with_pileup
    events = load_events(path)
    assert events.n_events == summary.events == 6 and events.has_truth
    np.testing.assert_array_equal(events.events["n_pileup"], pileup_counts(4.0, 5, np.arange(6)))
    assert events.options["mu"] == 4.0 and events.options["process"] == "wjets"
    flags = events.particles["is_pileup"]
    assert 0 < flags.mean() < 1 and summary.pileup_fraction == pytest.approx(flags.mean())
    assert summary.mean_particles == pytest.approx(events.n_particles / 6)
    assert np.all(events.particles["pt"] > options.pt_min)
    assert np.all(np.abs(events.particles["eta"]) < options.eta_max)
    # the hard scatter's leptons: a W -> e/mu nu in every event
    leptons = np.isin(np.abs(events.particles["pdg_id"]), (11, 13)) & ~flags
    assert np.bincount(events.event_index()[leptons], minlength=6).min() >= 1
    assert np.all(np.diff(events.gen_offsets) > 0)


@pytest.mark.slow
def test_same_options_give_the_same_file_and_another_seed_another(with_pileup, tmp_path):
    path, options, _ = with_pileup
    first = load_events(path)
    again = load_events(generate_events(tmp_path / "again.h5", options, progress=False).path)
    for name, values in first.particles.items():
        np.testing.assert_array_equal(again.particles[name], values)
    other = load_events(generate_events(tmp_path / "other.h5", PileupOptions(mu=4.0, n_events=2, seed=6, **TINY),
                                        progress=False).path)
    assert other.particles["pt"][:20].tolist() != first.particles["pt"][:20].tolist()


@pytest.mark.slow
def test_the_events_do_not_depend_on_the_number_of_workers(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(generate, "HARD_CHUNK_EVENTS", 2)  # two work units
    files = [generate_events(tmp_path / f"w{w}.h5", PileupOptions(mu=3.0, n_events=4, seed=1,
                                                                  library_size=LIBRARY, workers=w),
                             progress=False) for w in (1, 2)]
    assert files[1].workers == 2
    one, two = (load_events(f.path) for f in files)
    for name, values in one.particles.items():
        np.testing.assert_array_equal(two.particles[name], values)
    np.testing.assert_array_equal(two.events["n_pileup"], pileup_counts(3.0, 1, np.arange(4)))


@pytest.mark.slow
def test_hard_scatter_tracks_point_to_the_primary_vertex_pileup_ones_do_not(with_pileup):
    events = load_events(with_pileup[0])
    p = events.particles
    charged = p["charge"] != 0
    hard_dz = np.abs(p["dz"][charged & ~p["is_pileup"]])
    pileup_dz = np.abs(p["dz"][charged & p["is_pileup"]])
    assert np.mean(hard_dz < 0.1) > 0.95          # within 1 mm: resolution and b/c decays
    assert np.median(pileup_dz) > 1.0             # vertices spread by sigma_z = 4 cm
    assert not p["dz"][~charged].any() and not p["d0"][~charged].any()


@pytest.mark.slow
def test_zero_pileup_pt_miss_is_the_generators_exactly_without_smearing(cache, tmp_path):
    path = tmp_path / "nopu.h5"
    generate_events(path, PileupOptions(mu=0.0, n_events=4, seed=2, smearing=False, **TINY), progress=False)
    events = load_events(path)
    assert not events.particles["is_pileup"].any() and not events.events["n_pileup"].any()
    index = events.event_index()
    for axis in ("x", "y"):
        reco = -np.bincount(index, weights=events.particles[f"p{axis}"], minlength=4)
        np.testing.assert_allclose(reco, events.events[f"gen_met_{axis}"], rtol=1e-4, atol=1e-3)
    assert np.array_equal(events.offsets, events.gen_offsets)


@pytest.mark.slow
def test_the_library_is_cached_and_an_interrupted_build_resumes(cache, monkeypatch):
    monkeypatch.setattr(minbias, "LIBRARY_CHUNK_EVENTS", 10)
    options = PileupOptions(library_size=20, library_seed=3, workers=1)
    folder = minbias.build_library(options, progress=False)
    chunks = sorted(folder.glob("chunk_*.npz"))
    assert [c.name for c in chunks] == ["chunk_00000_10.npz", "chunk_00001_10.npz"]
    before = minbias.load_library(options)
    kept_mtime = chunks[0].stat().st_mtime_ns
    chunks[1].unlink()                                 # as if stopped before the last chunk
    minbias.build_library(options, progress=False)
    assert chunks[0].stat().st_mtime_ns == kept_mtime  # the finished chunk was not redone
    after = minbias.load_library(options)
    np.testing.assert_array_equal(after.p4, before.p4)
    np.testing.assert_array_equal(after.offsets, before.offsets)


def test_a_setting_pythia_rejects_is_named():
    with pytest.raises(ConfigError, match=r"'pythia_settings' \(--pythia\).*'WeakBosonAndParton:qqbar2Wgg = on'"):
        PileupOptions(pythia_settings=("WeakBosonAndParton:qqbar2Wgg = on",))


@pytest.mark.slow
def test_the_events_command_writes_the_file_and_prints_the_summary(cache, tmp_path, capsys):
    out = tmp_path / "e.h5"
    rc = main(["-q", "events", "-o", str(out), "--events", "2", "--mu", "3", "--library-size",
               str(LIBRARY), "--workers", "1"])
    printed = capsys.readouterr().out
    assert rc == 0 and load_events(out).n_events == 2
    assert "mean pileup interactions" in printed and "pileup particles" in printed and str(out) in printed
    assert (tmp_path / "e_overview.png").stat().st_size > 10_000


@pytest.mark.parametrize("mu", ["-1", "5000"])
def test_the_events_command_refuses_a_mu_out_of_range(tmp_path, capsys, mu):
    assert main(["events", "-o", str(tmp_path / "e.h5"), "--mu", mu]) == 1
    err = capsys.readouterr().err
    assert "'mu' (--mu)" in err and "from 0 to 1000" in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
