"""A scan point: its resolved configs and key, and :func:`run_point`, the task that computes its row.

:func:`resolve_point` turns a choice (:mod:`fpgakd.scan.sampling`) into a validated student
config (the base model's YAML, then ``fixed``, then the choice) and firmware config.
:func:`point_task` makes the task's only input: a plain dict of resolved configs and file
paths, so a Dask worker needs nothing else (no closures, no arrays). :func:`run_point`
distils the point's one student and synthesizes it, and returns its row
(:mod:`fpgakd.scan.rows`).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpgakd.config import (FirmwareConfig, ModelConfig, config_from_dict, config_to_dict,
                           load_yaml_mapping)
from fpgakd.errors import FpgakdError, MismatchError
from fpgakd.scan.rows import config_columns, metric_columns, report_columns, status_columns
from fpgakd.learn.rundir import remove_bulky_files
from fpgakd.learn.runtime import configure_tensorflow
from fpgakd.scan.spec import TIED_KEYS, ScanConfig, resolve_firmware_path, resolve_model_path

__all__ = ["ResolvedPoint", "resolve_point", "point_key", "point_task", "point_work", "run_point",
           "failed_row"]

log = logging.getLogger(__name__)

#: length of a point's key (hex digits of sha256): unique enough, short enough for paths
_KEY_LENGTH = 16
#: inputs and outputs :func:`point_work` assumes for every dense chain (16 features, 5 classes),
#: and the features of each particle of a particle network: the order of points is all it sets
_WORK_WIDTHS = (16, 5)
_WORK_PARTICLE_FEATURES = 4


@dataclass(frozen=True)
class ResolvedPoint:
    """One point: the choice that made it, and the configs it resolves to."""

    choice: dict[str, Any]
    mode: str
    base_model: str
    model: ModelConfig
    firmware: FirmwareConfig


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        node = data.get(part)
        data[part] = node = dict(node) if isinstance(node, dict) else {}
        data = node
    data[last] = value


def _student_values(choice: dict[str, Any]) -> dict[str, Any]:
    """The choice's student keys, tied keys expanded (``bits`` -> three bit widths)."""
    values: dict[str, Any] = {}
    for key, value in choice.items():
        if key in ("model", "firmware", "mode"):
            continue
        for path in TIED_KEYS.get(key, (key,)):
            values[path] = value
    return values


def resolve_point(scan: ScanConfig, choice: dict[str, Any], source: str) -> ResolvedPoint:
    """Validated student and firmware configs of ``choice``; errors name the scan file and point.

    >>> resolve_point(ScanConfig(name="s"), {"hidden": [8], "mode": "kd"}, "s.yaml").model.hidden
    (8,)
    """
    base = choice.get("model", scan.model)
    model_path = resolve_model_path(base, "model", source)
    data = copy.deepcopy(load_yaml_mapping(model_path))
    for path, value in {**scan.fixed, **_student_values(choice)}.items():
        _set_path(data, path, value)
    where = f"{source} (point {json.dumps(choice, default=str)}, base {model_path.name})"
    model = config_from_dict(ModelConfig, data, where)
    firmware_path = resolve_firmware_path(choice.get("firmware", scan.firmware), "firmware", source)
    firmware = config_from_dict(FirmwareConfig, load_yaml_mapping(firmware_path), str(firmware_path))
    if not scan.rtl:
        firmware = dataclasses.replace(firmware, rtl=dataclasses.replace(firmware.rtl, enabled=False))
    return ResolvedPoint(choice, choice["mode"], Path(base).stem, model, firmware)


def point_key(point: ResolvedPoint, data_fingerprint: str, teacher_identity: str,
              csim_jets: int) -> str:
    """sha256 of the resolved configs, mode, C-sim jets, data fingerprint and teacher identity.

    The same point on the same data with the same teacher has the same key, whichever scan
    or sampling produced it: that is what a rerun skips.
    """
    text = json.dumps([config_to_dict(point.model), config_to_dict(point.firmware), point.mode,
                       csim_jets, data_fingerprint, teacher_identity], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:_KEY_LENGTH]


def point_task(point: ResolvedPoint, key: str, *, jets: Path, teacher: Path, soft_targets: Path,
               scan_dir: Path, csim_jets: int, keep_project: bool) -> dict[str, Any]:
    """The task's input: plain data and absolute paths, picklable and small."""
    scan_dir = scan_dir.resolve()
    return {"key": key, "mode": point.mode, "base_model": point.base_model,
            "choice": point.choice, "model": config_to_dict(point.model),
            "firmware": config_to_dict(point.firmware),
            "jets": str(jets.resolve()), "teacher": str(teacher.resolve()),
            "soft_targets": str(soft_targets.resolve()),
            "run_dir": str(scan_dir / "runs" / key), "hls_root": str(scan_dir / "hls"),
            "csim_jets": csim_jets, "keep_project": keep_project}


def _macs(widths: list[int]) -> int:
    return sum(a * b for a, b in zip(widths, widths[1:]))


def point_work(task: dict[str, Any]) -> float:
    """A point's relative amount of work, so that a scan can start the longest first: its epochs
    times the multiply-accumulates of its layers (a per-particle network once per particle).

    >>> point_work({"model": {"hidden": [32, 16], "training": {"epochs": 10}}})
    11040.0
    """
    model = task["model"]
    first, last = _WORK_WIDTHS
    macs = _macs([first, *(model.get("hidden") or []), last])
    particle = list(model.get("particle_hidden") or [])
    if particle:
        n_particles = (model.get("inputs") or {}).get("n_constituents") or 1
        macs += n_particles * _macs([_WORK_PARTICLE_FEATURES, *particle])
    return float(model["training"]["epochs"] * macs)


def _synthesize_point(task: dict[str, Any]) -> dict[str, Any]:
    from fpgakd.firmware.report_schema import FPGAKD_REPORT_NAME, read_reports_json
    from fpgakd.firmware.synth import synthesize_run

    firmware = config_from_dict(FirmwareConfig, task["firmware"], f"point {task['key']}")
    project = Path(task["hls_root"]) / task["key"]
    try:
        report = synthesize_run(task["run_dir"], firmware=firmware, hls_root=task["hls_root"],
                                name=task["key"], n_jets=task["csim_jets"], progress=False)
    except MismatchError:
        # the firmware disagrees with Keras: the row says so (csim "mismatch") and the
        # front leaves it out; the project stays for inspection
        return read_reports_json(project / FPGAKD_REPORT_NAME)[0]
    if not task["keep_project"]:
        shutil.rmtree(project, ignore_errors=True)
        remove_bulky_files(task["run_dir"], keep_heldout=task["csim_jets"])
    return report


def run_point(task: dict[str, Any]) -> dict[str, Any]:
    """Distil the point's student (one mode), synthesize it, and return its row.

    A problem fpgakd can name (:class:`~fpgakd.errors.FpgakdError`: a config that does not
    fit the data, a failing tool) is returned as a row with ``status: error``; anything else
    raises, so that Dask retries the task.

    >>> row = run_point(task)                                          # doctest: +SKIP
    >>> row["status"], row["accuracy"], row["LUT"], row["resource_source"]  # doctest: +SKIP
    ('ok', 0.652, 3182, 'estimate')
    """
    from fpgakd.cluster import worker_label
    from fpgakd.learn.distillation import distill

    started = time.time()
    row = config_columns(task)
    try:
        configure_tensorflow()   # one thread each: FPGAKD_TF_THREADS in the worker's env
        model = config_from_dict(ModelConfig, task["model"], f"point {task['key']}")
        metrics = distill(model, task["jets"], task["run_dir"], teacher_path=task["teacher"],
                          modes=(task["mode"],), cache_dir=task["soft_targets"], progress=False)
        row.update(metric_columns(metrics, task["mode"]))
        row.update(report_columns(_synthesize_point(task)))
    except FpgakdError as err:
        log.warning("point %s failed: %s", task["key"], err)
        return {**row, **status_columns(err, time.time() - started, worker_label())}
    return {**row, **status_columns(None, time.time() - started, worker_label())}


def failed_row(task: dict[str, Any], error: BaseException, wall_s: float) -> dict[str, Any]:
    """The row of a task that raised (after Dask's retries) or whose worker kept dying."""
    return {**config_columns(task), **status_columns(error, wall_s, "unknown")}
