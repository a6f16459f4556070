"""The test session itself: tests that share a module-scoped fixture run on one xdist worker,
so that fixture (a trained run, a scan) is built once; and how many test processes a run gets."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def module_value() -> int:
    return 1


def test_a_module_fixture_keeps_its_tests_in_one_group(request: pytest.FixtureRequest, module_value: int) -> None:
    group = request.module.__name__
    assert request.node.get_closest_marker("xdist_group").args == (group,)
    if request.config.getoption("loadgroup", False):   # set on an xdist worker under --dist loadgroup
        # pytest-xdist's worker groups by a suffix on the test's id; a pytest that ignores the
        # rename (9.2 with xdist 3.8) leaves the id bare and the group is lost
        assert request.node.nodeid.endswith(f"@{group}"), request.node.nodeid


@pytest.mark.parametrize("args, source, in_one_process", [
    (["tests/test_config.py"], "ARGS", True),
    (["tests/test_config.py::test_x", "tests/test_docs.py"], "ARGS", True),
    (["tests"], "ARGS", False),
    (["tests"], "TESTPATHS", False),
])
def test_a_run_naming_test_files_stays_in_one_process(request: pytest.FixtureRequest, args: list[str], source: str,
                                                      in_one_process: bool) -> None:
    """What ``-n auto`` (setup.cfg's default) becomes: 0 test processes (this one) for named files
    or tests, pytest-xdist's count of the cores for the suite or a folder."""
    from types import SimpleNamespace

    root = request.config.rootpath
    config = SimpleNamespace(args=args, args_source=getattr(pytest.Config.ArgsSource, source),
                             invocation_params=SimpleNamespace(dir=root), option=SimpleNamespace(numprocesses="auto"))
    workers = request.config.hook.pytest_xdist_auto_num_workers(config=config)
    assert (workers == 0) if in_one_process else (workers >= 1), workers
