"""DistillNet (Bal et al. 2024): per-particle pileup weights, learned by an event-level teacher
and distilled into a per-particle student, read as a pipeline:

* :mod:`~fpgakd.learn.pileup.events` -- an event file as the networks see it: the 16 inputs per
  particle, the truth flags, the PUPPI weights, the split over events (:class:`PileupData`);
* :mod:`~fpgakd.learn.pileup.graph` -- those events as graph batches (k nearest neighbours in
  eta, phi), the teacher's inputs;
* :mod:`~fpgakd.learn.pileup.layers` and :mod:`~fpgakd.learn.pileup.teacher` -- the teacher's
  network, its training on the truth flags, its directory and its cached soft labels;
* :mod:`~fpgakd.learn.pileup.student` -- the student regressing the soft labels, and its run
  directory (:mod:`fpgakd.learn.rundir`);
* :mod:`~fpgakd.learn.pileup.metrics` and :mod:`~fpgakd.learn.pileup.verdict` -- how good a
  weight is: against the truth flags, and as physics (pT-miss and jet resolution against the
  no-pileup truth; :mod:`~fpgakd.learn.pileup.verdict_plots` draws it).

Each step imports only the steps before it. Reads event files (stage 1); the studies
(stage 5) read its runs. Entry points are re-exported lazily, so importing this package
does not import TensorFlow:

>>> from fpgakd.learn.pileup import distill_particles          # doctest: +SKIP
"""

from fpgakd._lazy import lazy_exports

_EXPORTS = {"PileupData": "events", "load_pileup_data": "events", "train_pileup_teacher": "teacher",
            "fit_pileup_teacher": "teacher", "load_pileup_teacher": "teacher", "pileup_soft_labels": "teacher",
            "distill_particles": "student", "pileup_verdict": "verdict", "VerdictConfig": "verdict",
            "format_verdict_table": "verdict"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
