"""One scan point as one flat table row: resolved config, accuracy, firmware cost, provenance.

Columns: ``key``, ``mode``, ``model``, ``status`` (``ok`` or ``error``), ``error``; every
resolved student key as ``student.<path>`` and firmware key as ``firmware.<path>`` (lists
as JSON text); ``accuracy``, ``val_accuracy``, ``auc_<class>``, ``rej30_<class>`` /
``rej50_<class>`` (background q+g rejection at 30% / 50% signal efficiency), ``nonzero``
and ``parameters`` (and ``ebops`` for HGQ students); ``LUT``, ``FF``, ``DSP``,
``BRAM_18K``, ``latency_cycles``, ``latency_ns``, ``ii`` and ``resource_source`` (the
report's ``source``: ``estimate``, ``csynth``, ...) and ``lut_source`` (where an estimate's LUT comes from: the calibrated
da4ml cost model); ``csim`` (``bit-exact``, ``within tolerance`` or ``mismatch``) and
``csim_max_abs_diff``; ``train_accuracy`` (the student's accuracy on its own training jets,
where its run recorded it); ``wall_s``, ``worker`` and ``finished`` (UTC, ISO 8601).
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

__all__ = ["flatten", "config_columns", "metric_columns", "report_columns", "status_columns",
           "CSIM_VERDICTS"]

#: the C-simulation verdict of a row
CSIM_VERDICTS = ("bit-exact", "within tolerance", "mismatch")
#: rejection columns: signal efficiency in percent -> the metrics' key
_EFFICIENCIES = {30: "eff30", 50: "eff50"}
_RESOURCES = ("LUT", "FF", "DSP", "BRAM_18K")


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; lists as JSON text, so that every cell is a scalar.

    >>> flatten({"hidden": [32, 16], "pruning": {"enabled": True}}, "student.")
    {'student.hidden': '[32, 16]', 'student.pruning.enabled': True}
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, (list, tuple)):
            out[f"{prefix}{key}"] = json.dumps(list(value))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_columns(task: dict[str, Any]) -> dict[str, Any]:
    """The columns that identify a point: key, mode, base model and every resolved key."""
    return {"key": task["key"], "mode": task["mode"], "model": task["base_model"],
            **flatten(task["model"], "student."), **flatten(task["firmware"], "firmware.")}


def metric_columns(metrics: dict[str, Any], mode: str) -> dict[str, Any]:
    """Accuracy, per-class AUC and rejections of the ``mode`` student of a distill run.

    >>> metric_columns({"kd": {"accuracy": 0.6, "auc": {"t": 0.9},
    ...                        "rejection": {"t": {"eff30": 50.0, "eff50": 20.0}}}}, "kd")
    {'accuracy': 0.6, 'val_accuracy': None, 'nonzero': None, 'parameters': None, 'auc_t': 0.9, 'rej30_t': 50.0, 'rej50_t': 20.0}
    """
    student = metrics[mode]
    out = {"accuracy": student.get("accuracy"), "val_accuracy": student.get("val_accuracy"),
           "nonzero": student.get("nonzero"), "parameters": student.get("parameters")}
    if "train_accuracy" in student:   # runs from before it was recorded have none
        out["train_accuracy"] = student["train_accuracy"]
    if "ebops" in student:   # HGQ students: the bit operations their resource penalty trained down
        out["ebops"] = student["ebops"]
    auc = student.get("auc")
    if isinstance(auc, dict):
        out.update({f"auc_{name}": value for name, value in auc.items()})
    else:   # a regressor: one signal-vs-background AUC
        out["auc"] = auc
    for name, rej in (student.get("rejection") or {}).items():
        for eff, field in _EFFICIENCIES.items():
            if isinstance(rej, dict):
                out[f"rej{eff}_{name}"] = rej.get(field)
            elif name == field:
                out[f"rej{eff}"] = rej
    return out


def _csim_verdict(csim: dict[str, Any] | None) -> str | None:
    if not csim:
        return None
    if not csim.get("passed"):
        return CSIM_VERDICTS[2]
    return CSIM_VERDICTS[0] if csim.get("bit_exact") else CSIM_VERDICTS[1]


def report_columns(report: dict[str, Any]) -> dict[str, Any]:
    """Resources, latency, initiation interval and C-sim verdict of a normalised firmware report."""
    resources = report.get("resources") or {}
    latency = report.get("latency_cycles") or {}
    latency_ns = report.get("latency_ns") or {}
    csim = report.get("csim") or {}
    return {**{name: resources.get(name) for name in _RESOURCES},
            "latency_cycles": latency.get("max"), "latency_ns": latency_ns.get("max"),
            "ii": (report.get("ii") or {}).get("max"), "resource_source": report.get("source"),
            "lut_source": report.get("lut_source") or report.get("source"),
            "csim": _csim_verdict(csim), "csim_max_abs_diff": csim.get("max_abs_diff")}


def status_columns(error: BaseException | None, wall_s: float, worker: str) -> dict[str, Any]:
    """``status``, ``error`` (type and message), ``wall_s``, ``worker`` and ``finished``."""
    return {"status": "ok" if error is None else "error",
            "error": None if error is None else f"{type(error).__name__}: {error}",
            "wall_s": round(wall_s, 3), "worker": worker,
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
