"""Stage 4, scans: the accuracy-versus-firmware-cost frontier, distilled against scratch, on Dask.

A scan YAML (:mod:`fpgakd.scan.spec`) samples students (:mod:`~fpgakd.scan.sampling`);
each point (:mod:`~fpgakd.scan.points`) distils one student and synthesizes it as one
Dask task and yields one row (:mod:`~fpgakd.scan.rows`) of the results table
(:mod:`~fpgakd.scan.table`); :mod:`~fpgakd.scan.pareto` computes and plots the fronts;
:mod:`~fpgakd.scan.run` orchestrates. Uses every earlier stage (jets, learn, firmware);
none of them imports it. Entry points are re-exported lazily, so importing this package
imports neither Dask nor TensorFlow:

>>> from fpgakd.scan import run_scan                      # doctest: +SKIP
"""

from fpgakd._lazy import lazy_exports

_EXPORTS = {"run_scan": "run", "load_scan_config": "spec", "read_results": "table",
            "front_rows": "pareto", "format_front_table": "pareto", "plot_fronts": "pareto",
            "run_point": "points"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
