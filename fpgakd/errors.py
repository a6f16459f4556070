"""The one exception type fpgakd raises for user-facing problems.

The library raises :class:`FpgakdError` (or a subclass) with a message that names the
file, key or field at fault; only the CLI turns it into a message and an exit code.
"""

from __future__ import annotations

__all__ = ["FpgakdError", "ConfigError", "DataError", "ToolError", "MismatchError"]


class FpgakdError(Exception):
    """A problem the user can fix: bad input, bad config, a failing external tool.

    >>> raise FpgakdError("jets.h5: dataset 'labels' is missing")
    Traceback (most recent call last):
    ...
    fpgakd.errors.FpgakdError: jets.h5: dataset 'labels' is missing
    """


class ConfigError(FpgakdError):
    """A YAML config with an unknown or missing key, or a value out of range."""


class DataError(FpgakdError):
    """A data file that is missing, unreadable, of unknown layout or holding bad values."""


class ToolError(FpgakdError):
    """An external tool (g++, vitis_hls, vivado_hls) that is missing or failed."""


class MismatchError(FpgakdError):
    """Firmware output that disagrees with Keras beyond what the user allowed."""
