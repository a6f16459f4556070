"""The scan's results: one row per point, in ``results.parquet`` (and ``results.csv``), rewritten
atomically as each row arrives.

An interrupted scan therefore keeps every finished point, and never leaves a half-written
table. A rerun reads the table back: points whose row has ``status: ok`` are skipped, a
point that failed is run again and its new row replaces the old one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fpgakd.atomic import atomic_path
from fpgakd.errors import DataError

__all__ = ["ResultsTable", "read_results", "TABLE_NAME", "CSV_NAME"]

TABLE_NAME = "results.parquet"
CSV_NAME = "results.csv"


def _pandas() -> Any:
    import pandas as pd

    return pd


def read_results(scan_dir: str | os.PathLike, *, must_exist: bool = False) -> Any:
    """The scan's table as a pandas DataFrame: empty if the scan has none yet, unless
    ``must_exist`` (then :class:`~fpgakd.errors.DataError`).

    >>> read_results("scans/example")[["key", "accuracy", "LUT"]]   # doctest: +SKIP
    """
    pd = _pandas()
    path = Path(scan_dir) / TABLE_NAME
    if not path.is_file():
        if must_exist:
            raise DataError(f"{scan_dir}: no scan results here ({TABLE_NAME} not found)")
        return pd.DataFrame()
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable Parquet table ({err})") from None


class ResultsTable:
    """Rows by point key, in arrival order; :meth:`add` writes the whole table atomically.

    >>> table = ResultsTable("scans/example")                  # doctest: +SKIP
    >>> table.add({"key": "3f2a", "status": "ok", "accuracy": 0.65})  # doctest: +SKIP
    """

    def __init__(self, scan_dir: str | os.PathLike) -> None:
        self.scan_dir = Path(scan_dir)
        frame = read_results(self.scan_dir)
        self.rows: dict[str, dict[str, Any]] = {
            row["key"]: row for row in frame.to_dict("records")} if len(frame) else {}

    def done_keys(self) -> set[str]:
        """Keys of the points whose row is complete (``status: ok``)."""
        return {key for key, row in self.rows.items() if row.get("status") == "ok"}

    def add(self, row: dict[str, Any]) -> None:
        """Record ``row`` (replacing an earlier row of its key) and rewrite the table."""
        self.rows.pop(row["key"], None)
        self.rows[row["key"]] = row
        self.write()

    def frame(self) -> Any:
        """The rows as a DataFrame, columns in first-seen order."""
        return _pandas().DataFrame(list(self.rows.values()))

    def write(self) -> Path:
        """Write ``results.parquet`` and ``results.csv`` atomically; return the Parquet path."""
        frame = self.frame()
        path = self.scan_dir / TABLE_NAME
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
        with atomic_path(self.scan_dir / CSV_NAME) as tmp:
            frame.to_csv(tmp, index=False)
        return path
