"""The last lines of an external tool's output, quoted in the error that reports its failure."""

from __future__ import annotations

__all__ = ["output_tail"]


def output_tail(text: str | bytes | None, n: int) -> str:
    """The last ``n`` lines of a tool's output, surrounding blank space stripped.

    Bytes (a timed-out ``subprocess.run``) are decoded, None (no output captured) is empty.

    >>> output_tail("compiling\\nerror: x\\n1 error\\n", 2)
    'error: x\\n1 error'
    """
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join(text.strip().splitlines()[-n:])
