"""The default teacher of the default dataset, shipped trained with fpgakd.

Training the default teacher (three out-of-fold Deep Sets models, up to 100 epochs each)
was most of a first ``fpgakd distill``: about 6 of its 7 minutes on 2 cores, before any
student. Its inputs are fixed: the default dataset is the same bits on every machine (its
golden hashes are tested) and the teacher config is the default. So fpgakd ships that
teacher, trained once by ``fpgakd distill`` itself, under ``pretrained/<digest>/``, where
``<digest>`` is the key of the teacher cache (data fingerprint and teacher config). It is
used only where that key matches; any other data or teacher config trains its teacher as
before, and ``fpgakd teacher`` trains this one anew for a user who wants to see it done.
"""

from __future__ import annotations

from pathlib import Path

from fpgakd.config import TeacherConfig, config_fields
from fpgakd.learn.rundir import TEACHER_JSON
from fpgakd.learn.training import run_digest

__all__ = ["SHIPPED_TEACHERS", "shipped_teacher", "teacher_key"]

#: one directory per shipped teacher, named by its cache key
SHIPPED_TEACHERS = Path(__file__).resolve().parent / "pretrained"


def teacher_key(fingerprint: str, config: TeacherConfig) -> str:
    """The key of the teacher of the data with ``fingerprint`` under ``config``: its directory
    name in the teacher cache and among the shipped teachers.

    >>> len(teacher_key("0" * 64, TeacherConfig()))
    16
    """
    return run_digest(fingerprint, config_fields(config))


def shipped_teacher(digest: str) -> Path | None:
    """The shipped teacher directory for the cache key ``digest``, or None.

    >>> shipped_teacher("0000000000000000") is None
    True
    """
    candidate = SHIPPED_TEACHERS / digest
    return candidate if (candidate / TEACHER_JSON).is_file() else None
