"""The background compilation of da4ml's solver that `fpgakd distill` starts for synth."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: fields of /proc/<pid>/stat as proc(5) numbers them: nice and scheduling policy
_NICE_FIELD, _POLICY_FIELD = 19, 41
#: the number of the first field after the command name, which may hold spaces
_AFTER_NAME = 3
#: the largest nice value Linux gives
_LOWEST_NICE = 19


def _nice_and_policy(pid: int) -> tuple[int, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[_NICE_FIELD - _AFTER_NAME]), int(fields[_POLICY_FIELD - _AFTER_NAME])


@pytest.mark.slow
def test_the_warmup_module_traces_a_student_and_exits_cleanly(rtl_tools):
    # what start_jit_warmup runs, here at normal priority: at the lowest one it would wait for
    # idle cycles, which a busy test run has none of
    done = subprocess.run([sys.executable, "-m", "fpgakd.firmware.rtl.jit_warmup"], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the priority from /proc")
def test_the_warmup_starts_in_the_background_at_the_lowest_priority(monkeypatch):
    pytest.importorskip("da4ml")
    from fpgakd.firmware.rtl.jit_warmup import _LOWEST_PRIORITY, JIT_WARMUP_ENV, start_jit_warmup

    monkeypatch.setenv(JIT_WARMUP_ENV, "0")
    assert start_jit_warmup() is None   # the test suite's setting
    monkeypatch.delenv(JIT_WARMUP_ENV)
    monkeypatch.delenv("NUMBA_OPT", raising=False)
    process = start_jit_warmup()
    try:
        assert process is not None and process.args[1:] == ["-m", "fpgakd.firmware.rtl.jit_warmup"]
        # numba compiles the solver at -O1 there (a third quicker to compile, the same netlists)
        assert b"NUMBA_OPT=1" in Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
        # Popen returns once the child has exec'd, after the priority was set
        assert _nice_and_policy(process.pid) == (min(os.nice(0) + _LOWEST_PRIORITY, _LOWEST_NICE), os.SCHED_IDLE)
        # in the caller's session: a session of its own would take a whole core (autogroups)
        assert os.getsid(process.pid) == os.getsid(0)
    finally:
        process.kill()
        process.wait()
