"""The C-simulation testbench from fpgakd's cache: keyed by what the compiler reads, so a
network with other weights reuses the binary (and still reads its own weights), and any other
change in the code, or in the flags, compiles anew."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest

from fpgakd.firmware.build_cache import BUILD_CACHE_ENV, build_key, restore_build, store_build

_FLAGS = ["-O0", "-std=c++14"]


@pytest.fixture()
def own_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _source(folder: Path, body: str) -> str:
    (folder / "tb.cpp").write_text(body)
    return "tb.cpp"


def test_the_key_follows_the_code_not_its_comments(tmp_path, own_cache):
    one = build_key("g++", _FLAGS, [_source(tmp_path, "int main() { return 1; }\n")], tmp_path)
    commented = build_key("g++", _FLAGS, [_source(tmp_path, "// weights: 3\nint main() { return 1; }\n")], tmp_path)
    other = build_key("g++", _FLAGS, [_source(tmp_path, "int main() { return 2; }\n")], tmp_path)
    assert one == commented and one != other
    assert build_key("g++", ["-O2", "-std=c++14"], ["tb.cpp"], tmp_path) != other   # the flags count


def test_off_or_unreadable_sources_build_without_the_cache(tmp_path, own_cache, monkeypatch):
    assert build_key("g++", _FLAGS, [_source(tmp_path, "#include <no_such_header.h>\n")], tmp_path) is None
    monkeypatch.setenv(BUILD_CACHE_ENV, "0")
    assert build_key("g++", _FLAGS, [_source(tmp_path, "int main() {}\n")], tmp_path) is None


def test_a_stored_build_comes_back_executable(tmp_path, own_cache):
    key = build_key("g++", _FLAGS, [_source(tmp_path, "int main() { return 3; }\n")], tmp_path)
    program = tmp_path / "prog"
    program.write_text("#!/bin/sh\nexit 3\n")
    program.chmod(0o755)
    store_build(program, key)
    assert not restore_build("0" * 24, tmp_path / "none")
    assert restore_build(key, tmp_path / "again") and (tmp_path / "again").read_text() == program.read_text()
    assert (tmp_path / "again").stat().st_mode & 0o100


@pytest.mark.slow
def test_a_network_with_other_weights_reuses_the_testbench_and_reads_its_own_weights(tmp_path, own_cache,
                                                                                   caplog):
    from fpgakd.config import load_firmware_config, load_model_config
    from fpgakd.firmware.csim import run_csim
    from fpgakd.firmware.hls import convert_model
    from helpers.firmware import pruned_student

    cfg = dataclasses.replace(load_model_config("hlf_mlp"), hidden=(8,))
    x = np.random.default_rng(0).standard_normal((200, 16)).astype(np.float32)
    hits, outputs = [], []
    for name, negate in (("first", False), ("twin", True)):
        model = pruned_student(cfg)
        if negate:   # other weights of the same ranges, so that hls4ml infers the same types
            out = model.layers[-1]
            out.set_weights([-w for w in out.get_weights()])
        logits = model(x, training=False).numpy()
        outputs.append(logits)
        hls_model = convert_model(model, load_firmware_config(), output_dir=tmp_path / name)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="fpgakd.firmware.csim"):
            summary = run_csim(tmp_path / name, hls_model, x, logits)
        assert summary["testbench"]["n_different"] == 0 and summary["bit_exact"], (name, summary["text"])
        hits.append(any("from fpgakd's cache" in r.getMessage() for r in caplog.records))
    assert np.abs(outputs[1] - outputs[0]).max() > 0.1   # the twin's own weights, read at run time
    assert hits == [False, True]   # other weights, the same code: the first one's binary


def test_a_full_cache_drops_the_builds_used_longest_ago(tmp_path, own_cache, monkeypatch):
    import os

    from fpgakd.firmware import build_cache

    program = tmp_path / "prog"
    program.write_bytes(b"x" * 1000)
    keys = [f"{i:024d}" for i in range(3)]
    for age, key in zip((30, 20, 10), keys):     # stored oldest first
        store_build(program, key)
        entry = own_cache / build_cache.BUILDS_DIR / key
        os.utime(entry, (entry.stat().st_atime, entry.stat().st_mtime - age))
    assert restore_build(keys[0], tmp_path / "used")   # the oldest, used again: now the newest
    monkeypatch.setattr(build_cache, "MAX_CACHE_BYTES", 2500)
    store_build(program, "3" * 24)
    kept = sorted(p.name for p in (own_cache / build_cache.BUILDS_DIR).iterdir())
    assert kept == sorted([keys[0], "3" * 24])
