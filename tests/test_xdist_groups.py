"""The test session itself: tests that share a module-scoped fixture run on one xdist worker,
so that fixture (a trained run, a scan) is built once."""

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
