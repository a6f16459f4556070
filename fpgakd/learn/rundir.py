"""The contract of a run directory: the one interface the learning stage hands every later one.

``fpgakd distill`` writes a run directory; the firmware stage (:mod:`fpgakd.firmware.synth`),
the teacher assistant (:mod:`fpgakd.learn.assistant`), the studies, the scans and the CLI
read it. This module names its files, writes them and reads them back; no other module
spells those names.

A jet distill run (``run_dir/``):

========================== =====================================================================
file                       content
========================== =====================================================================
``student_kd.h5``          the KD student (Keras HDF5, QKeras objects), one file per mode
``student_scratch.h5``     its twin trained without the teacher (absent with ``--no-scratch``)
``config.yaml``            the resolved student config (:class:`~fpgakd.config.ModelConfig`)
``standardization.json``   the input scaling (:class:`~fpgakd.jets.preprocessing.Standardizer`)
``test_inputs.npy``        (n_test, F) float32: the standardized test jets
``test_labels.npy``        (n_test,) int64: their labels
``heldout_inputs.npy``     test then validation jets, standardized: the firmware check's inputs
``metrics.json``           data, distillation settings, teacher and student scores
``roc.png``                ROC curves; ``training_curves.png``: loss per epoch
``teacher/``               the teacher directory, when the run trained its own
========================== =====================================================================

A per-particle (DistillNet) run holds ``student_kd.h5`` (with ``student_kd_proxy.h5`` beside it
for an HGQ student), ``config.yaml``,
``standardization.json``, ``test_inputs.npy`` (the particles of the test events),
``metrics.json`` (its ``"events"`` names the event file), ``training_curves.png`` and
``weights_test.npz``: ``event_indices`` (the test events) and the ``teacher``, ``puppi`` and
``student`` weight of each of their particles, in order.

A jet teacher directory holds ``teacher.json`` (what the models read, their split, scores and
identity), ``teacher.h5`` (or ``teacher_fold0.h5`` ... one per fold) and ``folds.npy``; a pileup
teacher directory holds ``pileup_teacher.json``, ``teacher.h5`` and ``training_curves.png``.

Runs written before this module existed have the same layout, some without
``heldout_inputs.npy`` (``test_inputs.npy`` then stands in) or ``metrics.json``; they load.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.errors import DataError

__all__ = ["CONFIG_FILE", "STANDARDIZATION_FILE", "METRICS_FILE", "TEST_INPUTS_FILE", "TEST_LABELS_FILE",
           "HELDOUT_INPUTS_FILE", "WEIGHTS_FILE", "ROC_PLOT_FILE", "TRAINING_CURVES_FILE", "TEACHER_DIR",
           "STUDENT_MODES", "PROXY_SUFFIX", "TEACHER_JSON", "FOLDS_FILE", "PILEUP_TEACHER_JSON", "PILEUP_TEACHER_MODEL",
           "EVENT_INDICES", "Run", "load_run", "student_file", "student_files", "find_student_file", "student_mode",
           "run_inputs_file", "is_student_run", "student_run_files", "read_run_config", "run_config_file",
           "read_run_metrics", "run_metrics_file", "read_run_standardizer", "standardization_file", "run_weights_file",
           "read_particle_weights", "write_students", "write_run_inputs", "write_particle_weights",
           "write_run_metrics", "copy_run_teacher", "remove_bulky_files", "teacher_model_name",
           "read_teacher_meta", "write_teacher_meta"]

# ---------------------------------------------------------------- the names
#: the resolved config; every run and study directory keeps its own under this name
CONFIG_FILE = "config.yaml"
STANDARDIZATION_FILE = "standardization.json"
METRICS_FILE = "metrics.json"
TEST_INPUTS_FILE = "test_inputs.npy"
TEST_LABELS_FILE = "test_labels.npy"
#: every jet the students never trained on: the firmware check compares firmware with Keras
#: bit for bit and wants at least 10,000 of them, more than the test split alone holds
HELDOUT_INPUTS_FILE = "heldout_inputs.npy"
WEIGHTS_FILE = "weights_test.npz"
ROC_PLOT_FILE = "roc.png"
TRAINING_CURVES_FILE = "training_curves.png"
#: the run's own teacher, copied in when the run trained it
TEACHER_DIR = "teacher"
#: students a run may hold, in the order the firmware stage prefers them
STUDENT_MODES = ("kd", "scratch")
#: key of the test events' indices in ``weights_test.npz``
EVENT_INDICES = "event_indices"
#: inputs of the firmware check, best first (older runs lack the held-out file)
_INPUTS_FILES = (HELDOUT_INPUTS_FILE, TEST_INPUTS_FILE)
#: large arrays a scan point deletes once its firmware is built (the held-out inputs it shortens)
_BULKY_FILES = (TEST_INPUTS_FILE, TEST_LABELS_FILE)
#: what a run needs to serve as a teacher (assistant) or be scored afresh
_STUDENT_RUN_FILES = (CONFIG_FILE, STANDARDIZATION_FILE)

TEACHER_JSON = "teacher.json"
FOLDS_FILE = "folds.npy"
PILEUP_TEACHER_JSON = "pileup_teacher.json"
PILEUP_TEACHER_MODEL = "teacher.h5"


#: an HGQ run saves each student's proxy model (what its firmware computes) under this suffix
PROXY_SUFFIX = "_proxy"


def student_file(mode: str, *, proxy: bool = False) -> str:
    """The file name of a run's student trained in ``mode`` (or of its HGQ proxy model).

    >>> student_file("kd"), student_file("scratch", proxy=True)
    ('student_kd.h5', 'student_scratch_proxy.h5')
    """
    return f"student_{mode}{PROXY_SUFFIX if proxy else ''}.h5"


def teacher_model_name(fold: int, n_folds: int) -> str:
    """The file name of a jet teacher's model of ``fold`` (one file when ``n_folds`` is 1).

    >>> teacher_model_name(0, 1), teacher_model_name(2, 3)
    ('teacher.h5', 'teacher_fold2.h5')
    """
    return f"teacher_fold{fold}.h5" if n_folds > 1 else PILEUP_TEACHER_MODEL


# ---------------------------------------------------------------- reading a run
@dataclass(frozen=True)
class Run:
    """A run directory, loaded: its resolved config and metrics, and where its files are."""

    path: Path
    config: Any
    #: ``metrics.json``, or {} for a run written without one
    metrics: dict[str, Any]
    #: student model file by mode, those present
    students: dict[str, Path]
    standardization: Path
    #: the firmware check's inputs (held-out, else test), or None
    inputs: Path | None
    #: per-particle weights of a DistillNet run, or None for a jet run
    weights: Path | None

    @property
    def kind(self) -> str:
        """``particles`` for a DistillNet run, ``jets`` otherwise."""
        return "jets" if self.weights is None else "particles"


def load_run(run_dir: str | os.PathLike) -> Run:
    """Load a run directory written by ``fpgakd distill`` (jets or particles), checking it.

    >>> load_run("runs/constituent_mlp").students["kd"].name          # doctest: +SKIP
    'student_kd.h5'
    """
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    students = student_files(run_dir)
    if not students:
        raise DataError(f"{run_dir}: no student file "
                        f"({', '.join(student_file(m) for m in STUDENT_MODES)})")
    if not (run_dir / STANDARDIZATION_FILE).is_file():
        raise DataError(f"{run_dir / STANDARDIZATION_FILE}: not found (is {run_dir} a distill run directory?)")
    metrics = read_run_metrics(run_dir) if (run_dir / METRICS_FILE).is_file() else {}
    weights = run_dir / WEIGHTS_FILE
    return Run(run_dir, config, metrics, students, run_dir / STANDARDIZATION_FILE, run_inputs_file(run_dir),
               weights if weights.is_file() else None)


def student_files(run_dir: str | os.PathLike) -> dict[str, Path]:
    """The student model files of a run by mode, those present.

    >>> list(student_files("runs/constituent_mlp"))                  # doctest: +SKIP
    ['kd', 'scratch']
    """
    run_dir = Path(run_dir)
    return {m: run_dir / student_file(m) for m in STUDENT_MODES if (run_dir / student_file(m)).is_file()}


def find_student_file(run_dir: str | os.PathLike) -> Path:
    """The student the firmware stage builds by default: an HGQ run's proxy models first (they
    are what its firmware implements), then the KD student, else the scratch one.

    >>> find_student_file("runs/hlf_mlp").name                       # doctest: +SKIP
    'student_kd.h5'
    """
    candidates = [Path(run_dir) / student_file(m, proxy=True) for m in STUDENT_MODES]
    found = [p for p in candidates if p.is_file()] + list(student_files(run_dir).values())
    if not found:
        raise DataError(f"{run_dir}: no student model in this run directory "
                        f"(looked for {', '.join(student_file(m) for m in STUDENT_MODES)})")
    return found[0]


def student_mode(model_path: str | os.PathLike) -> str | None:
    """The mode of a run's student file, or None for a model file of another name.

    >>> student_mode("runs/hlf_mlp/student_scratch.h5"), student_mode("my_model.h5")
    ('scratch', None)
    >>> student_mode("runs/hlf_hgq/student_kd_proxy.h5")
    'kd'
    """
    name = Path(model_path).name
    return next((m for m in STUDENT_MODES for proxy in (False, True) if student_file(m, proxy=proxy) == name), None)


def run_inputs_file(run_dir: str | os.PathLike) -> Path | None:
    """The standardized inputs the firmware check runs on (held-out, else test), or None.

    >>> run_inputs_file("runs/hlf_mlp").name                         # doctest: +SKIP
    'heldout_inputs.npy'
    """
    return next((Path(run_dir) / n for n in _INPUTS_FILES if (Path(run_dir) / n).is_file()), None)


def is_student_run(path: str | os.PathLike) -> bool:
    """True for a directory written by ``fpgakd distill`` that holds a KD student, its config and scaling.

    >>> is_student_run("runs/constituent_mlp")                      # doctest: +SKIP
    True
    """
    path = Path(path)
    return path.is_dir() and all((path / n).is_file() for n in (student_file("kd"), *_STUDENT_RUN_FILES))


def student_run_files(run_dir: str | os.PathLike) -> tuple[Path, ...]:
    """The files that make a run's KD student what it is (model, config, scaling): its identity.

    >>> [p.name for p in student_run_files("runs/m")]
    ['student_kd.h5', 'standardization.json', 'config.yaml']
    """
    run_dir = Path(run_dir)
    return (run_dir / student_file("kd"), run_dir / STANDARDIZATION_FILE, run_dir / CONFIG_FILE)


def read_run_config(run_dir: str | os.PathLike) -> Any:
    """The run's resolved student config (:class:`~fpgakd.config.ModelConfig`).

    >>> read_run_config("runs/hlf_mlp").inputs.type                  # doctest: +SKIP
    'hlf'
    """
    from fpgakd.config import load_model_config

    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise DataError(f"{run_dir}: not a distill run directory (no {CONFIG_FILE}); run "
                        "`fpgakd distill` first or pass --run")
    return load_model_config(path)


def run_config_file(run_dir: str | os.PathLike) -> Path | None:
    """The run's ``config.yaml`` if there is one (a bare model file's folder has none).

    >>> run_config_file("/nonexistent") is None
    True
    """
    path = Path(run_dir) / CONFIG_FILE
    return path if path.is_file() else None


def read_run_metrics(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's ``metrics.json`` as a dict.

    >>> read_run_metrics("runs/hlf_mlp")["kd"]["accuracy"]           # doctest: +SKIP
    0.7512
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        raise DataError(f"{run_dir}: not a distill run directory (no {METRICS_FILE}); run "
                        "`fpgakd distill` first or pass --run")
    return _read_json_object(path, "unreadable")


def run_metrics_file(run_dir: str | os.PathLike) -> Path:
    """Where the run's ``metrics.json`` is (it may be absent).

    >>> run_metrics_file("runs/m").name
    'metrics.json'
    """
    return Path(run_dir) / METRICS_FILE


def read_run_standardizer(run_dir: str | os.PathLike) -> Any:
    """The run's input scaling (:class:`~fpgakd.jets.preprocessing.Standardizer`).

    >>> read_run_standardizer("runs/hlf_mlp").feature_names_[:1]       # doctest: +SKIP
    ('j_zlogz',)
    """
    from fpgakd.jets.preprocessing import Standardizer

    return Standardizer.load(Path(run_dir) / STANDARDIZATION_FILE)


def standardization_file(run_dir: str | os.PathLike) -> Path | None:
    """The run's ``standardization.json`` if there is one.

    >>> standardization_file("/nonexistent") is None
    True
    """
    path = Path(run_dir) / STANDARDIZATION_FILE
    return path if path.is_file() else None


def read_particle_weights(run_dir: str | os.PathLike, names: tuple[str, ...] | None = None
                          ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A DistillNet run's test events and the weights of their particles by algorithm.

    ``names`` lists the weights that must be there (a DataError names those missing); all
    the file holds are returned either way.

    >>> indices, weights = read_particle_weights("runs/qdistillnet")  # doctest: +SKIP
    """
    path = Path(run_dir) / WEIGHTS_FILE
    if not path.is_file():
        raise DataError(f"{path}: not found (is {run_dir} a particle distill run directory?)")
    with np.load(path) as npz:
        missing = [k for k in (EVENT_INDICES, *(names or ())) if k not in npz.files]
        if missing:
            raise DataError(f"{path}: array(s) {', '.join(missing)} missing")
        weights = {k: npz[k] for k in npz.files if k != EVENT_INDICES}
        return npz[EVENT_INDICES], weights


def run_weights_file(run_dir: str | os.PathLike) -> Path:
    """Where a DistillNet run's ``weights_test.npz`` is (for messages naming it).

    >>> run_weights_file("runs/m").name
    'weights_test.npz'
    """
    return Path(run_dir) / WEIGHTS_FILE


# ---------------------------------------------------------------- writing a run
def write_students(run_dir: str | os.PathLike, models: Mapping[str, Any]) -> dict[str, Path]:
    """Save each student model under its mode's file name; return the paths by mode.

    >>> write_students(tmp, {"kd": model})                           # doctest: +SKIP
    {'kd': PosixPath('.../student_kd.h5')}
    """
    from fpgakd.learn.students import save_student

    return {mode: save_student(model, Path(run_dir) / student_file(mode)) for mode, model in models.items()}


def write_proxies(run_dir: str | os.PathLike, proxies: Mapping[str, Any]) -> dict[str, Path]:
    """Save each HGQ student's proxy model beside the student; return the paths by mode.

    >>> write_proxies(tmp, {"kd": proxy})                            # doctest: +SKIP
    {'kd': PosixPath('.../student_kd_proxy.h5')}
    """
    from fpgakd.learn.students import save_student

    return {mode: save_student(proxy, Path(run_dir) / student_file(mode, proxy=True))
            for mode, proxy in proxies.items()}


def write_run_inputs(run_dir: str | os.PathLike, config: Any, standardizer: Any, *, test_inputs: np.ndarray,
                     test_labels: np.ndarray | None = None, heldout_inputs: np.ndarray | None = None) -> None:
    """Write what the students read: the resolved config, the scaling and the standardized inputs.

    >>> write_run_inputs(tmp, cfg, standardizer, test_inputs=x_test)  # doctest: +SKIP
    """
    from fpgakd.config import dump_config

    run_dir = Path(run_dir)
    standardizer.save(run_dir / STANDARDIZATION_FILE)
    dump_config(config, run_dir / CONFIG_FILE)
    np.save(run_dir / TEST_INPUTS_FILE, test_inputs)
    if test_labels is not None:
        np.save(run_dir / TEST_LABELS_FILE, test_labels)
    if heldout_inputs is not None:
        np.save(run_dir / HELDOUT_INPUTS_FILE, heldout_inputs)


def write_particle_weights(run_dir: str | os.PathLike, event_indices: np.ndarray,
                           weights: Mapping[str, np.ndarray]) -> Path:
    """Write a DistillNet run's test events and the per-particle weights of each algorithm.

    >>> write_particle_weights(tmp, np.arange(3), {"student": w})     # doctest: +SKIP
    """
    path = Path(run_dir) / WEIGHTS_FILE
    np.savez(path, **{EVENT_INDICES: np.asarray(event_indices, dtype=np.int64)},
             **{name: np.asarray(w, dtype=np.float32) for name, w in weights.items()})
    return path


def write_run_metrics(run_dir: str | os.PathLike, metrics: Mapping[str, Any]) -> Path:
    """Write the run's ``metrics.json`` atomically.

    >>> write_run_metrics(tmp, {"model": "hlf_mlp"})                 # doctest: +SKIP
    """
    from fpgakd.atomic import write_text_atomic

    return write_text_atomic(Path(run_dir) / METRICS_FILE, json.dumps(metrics, indent=1))


def copy_run_teacher(run_dir: str | os.PathLike, teacher_dir: str | os.PathLike) -> Path:
    """Copy the teacher a run trained for itself into the run.

    >>> copy_run_teacher(tmp, "~/.cache/fpgakd/teachers/3f2a")       # doctest: +SKIP
    """
    return Path(shutil.copytree(teacher_dir, Path(run_dir) / TEACHER_DIR))


def remove_bulky_files(run_dir: str | os.PathLike, keep_heldout: int = 0) -> None:
    """Delete the run's large input arrays but the first ``keep_heldout`` held-out jets (a scan
    keeps its runs' models, metrics and the jets its firmware check used, so that ``fpgakd
    synth`` on a scan's run checks the same real jets).

    >>> remove_bulky_files("scans/s/runs/0a1b", keep_heldout=2000)   # doctest: +SKIP
    """
    from fpgakd.atomic import atomic_path

    run_dir = Path(run_dir)
    for name in _BULKY_FILES:
        (run_dir / name).unlink(missing_ok=True)
    heldout = run_dir / HELDOUT_INPUTS_FILE
    if not heldout.is_file():
        return
    if keep_heldout <= 0:
        heldout.unlink()
        return
    rows = np.load(heldout, mmap_mode="r")
    if len(rows) > keep_heldout:
        kept = np.array(rows[:keep_heldout])
        del rows                         # the memory map, before the file is replaced
        with atomic_path(heldout) as tmp, open(tmp, "wb") as fh:   # np.save would add ".npy" to a name
            np.save(fh, kept)


# ---------------------------------------------------------------- teacher directories
def read_teacher_meta(teacher_dir: str | os.PathLike) -> dict[str, Any]:
    """A jet teacher directory's ``teacher.json``.

    >>> read_teacher_meta("runs/teacher")["test_accuracy"]           # doctest: +SKIP
    0.7731
    """
    return _read_json_object(Path(teacher_dir) / TEACHER_JSON, "not a readable teacher description")


def _read_json_object(path: Path, unreadable: str) -> dict[str, Any]:
    """The JSON object in ``path``; a DataError naming the file (``unreadable`` says what it is not)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: {unreadable} ({err})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data


def write_teacher_meta(teacher_dir: str | os.PathLike, meta: Mapping[str, Any], *, pileup: bool = False) -> Path:
    """Write a teacher directory's description (``teacher.json``, or ``pileup_teacher.json``).

    >>> write_teacher_meta(tmp, meta)                                # doctest: +SKIP
    """
    path = Path(teacher_dir) / (PILEUP_TEACHER_JSON if pileup else TEACHER_JSON)
    path.write_text(json.dumps(meta, indent=1))
    return path
