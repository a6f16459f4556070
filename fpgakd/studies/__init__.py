"""Stage 5, studies: experiments on trained teachers and students (robustness, data, transfer).

Each study is configured by a YAML file under ``studies/`` (:mod:`fpgakd.studies.spec`) and
writes ``results.json`` and a plot into its directory atomically:

* :mod:`~fpgakd.studies.boost` -- accuracy of teacher and students on Lorentz-boosted test
  jets (:mod:`~fpgakd.studies.lorentz` does the boosting and rebuilds the features);
* :mod:`~fpgakd.studies.degraded_distillation` -- KD against scratch for students on degraded jets
  (:mod:`~fpgakd.studies.jet_degradation`), the teacher on full-resolution ones;
* :mod:`~fpgakd.studies.pileup` -- the pileup verdict (pT-miss and jet resolution) on PUPPI,
  the teacher and the per-particle students of DistillNet runs;
* :mod:`~fpgakd.studies.transfer` -- a teacher pre-trained on another jet pT window,
  fine-tuned against trained from scratch on fractions of the data, and a student distilled
  from it (:mod:`~fpgakd.studies.transfer_plot` tabulates and plots it);

:mod:`~fpgakd.studies.models` loads and scores the models of a distill run. Uses the jets and
learn stages; no earlier stage imports it. Entry points are re-exported lazily, so importing
this package imports no TensorFlow:

>>> from fpgakd.studies import run_boost_study            # doctest: +SKIP
"""

from fpgakd._lazy import lazy_exports

_EXPORTS = {"run_boost_study": "boost", "load_study_config": "spec", "boost_dataset": "lorentz",
            "boost_x": "lorentz", "format_boost_table": "boost",
            "run_degraded_study": "degraded_distillation", "degrade_dataset": "jet_degradation",
            "run_pileup_study": "pileup", "run_transfer_study": "transfer",
            "format_transfer_table": "transfer_plot"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
