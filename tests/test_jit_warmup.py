"""The background compilation of da4ml's solver that `fpgakd distill` starts for synth."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_jit_warmup_process_traces_a_student_and_exits_cleanly(rtl_tools):
    from fpgakd.firmware.rtl.jit_warmup import start_jit_warmup

    process = start_jit_warmup()
    assert process is not None
    assert process.wait(timeout=900) == 0
