"""The examples in fpgakd's docstrings run, one test per docstring.

Examples that build or run networks (TensorFlow, QKeras) run with ``--runslow`` only: their
modules are listed in SLOW_MODULES. An example that needs big data or an installed tool is
marked ``# doctest: +SKIP`` where it is written. The flags come from setup.cfg
(``doctest_optionflags``); each docstring runs in a fresh temporary directory.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import fpgakd

#: modules whose examples import TensorFlow (seconds per module): run with --runslow
SLOW_MODULES = frozenset({"fpgakd.firmware.rtl.student", "fpgakd.learn.students", "fpgakd.learn.deepsets_students"})


def _module_names() -> list[str]:
    return ["fpgakd", *sorted(m.name for m in pkgutil.walk_packages(fpgakd.__path__, "fpgakd."))]


def _docstrings() -> list:
    """One parameter per docstring with an example that is not skipped."""
    finder = doctest.DocTestFinder()
    params = []
    for name in _module_names():
        for test in finder.find(importlib.import_module(name), name):
            if any(not example.options.get(doctest.SKIP) for example in test.examples):
                marks = [pytest.mark.slow] if name in SLOW_MODULES else []
                params.append(pytest.param(test, id=test.name, marks=marks))
    return params


def test_slow_modules_exist():
    assert SLOW_MODULES <= set(_module_names())


@pytest.mark.parametrize("docstring", _docstrings())
def test_docstring_examples_run(docstring: doctest.DocTest, pytestconfig, tmp_path, monkeypatch):
    flags = 0
    for flag in pytestconfig.getini("doctest_optionflags"):
        flags |= doctest.OPTIONFLAGS_BY_NAME[flag]
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=flags)
    report: list[str] = []
    runner.run(docstring, out=report.append)
    assert runner.failures == 0, "".join(report)
