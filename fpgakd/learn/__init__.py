"""Stage 2, learning: the teacher and its soft targets, the QKeras students, knowledge
distillation with pruning, and the classification metrics; for events with pileup, the
event-level pileup teacher and the per-particle DistillNet students (:mod:`fpgakd.learn.pileup`).
The run directory every later stage reads is :mod:`fpgakd.learn.rundir`.

Reads jets (stage 1); never imports the firmware stage. Entry points are re-exported
lazily, so importing this package does not import TensorFlow:

>>> from fpgakd.learn import distill                      # doctest: +SKIP
"""

from fpgakd._lazy import lazy_exports

_EXPORTS = {"train_teacher": "teacher", "distill": "distillation", "load_student": "students",
            "build_student": "students", "default_teacher_dir": "distillation",
            "train_pileup_teacher": "pileup.teacher", "distill_particles": "pileup.student"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
