"""The Lorentz-boost robustness study (after Liu et al. 2023): how taggers fare on boosted jets.

Every held-out test jet of the given distill runs is boosted along x by beta = u * beta_max
(one seeded u ~ U[0, 1) per jet, shared by all points), everything the models read is
rebuilt from the boosted four-vectors (:func:`fpgakd.studies.lorentz.boost_dataset`), and
the teacher and each run's KD and scratch students are scored on them. The study directory
(written atomically) holds ``results.json``, ``boost.png`` (accuracy and mean one-vs-rest
AUC against beta_max) and the resolved ``config.yaml``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import config_to_dict
from fpgakd.errors import ConfigError
from fpgakd.studies.spec import BoostStudyConfig

__all__ = ["run_boost_study", "plot_boost_results", "format_boost_table"]

log = logging.getLogger(__name__)

TEACHER = "teacher"
#: the row for the test jets as stored in the file, before any rebuilding
FILE_POINT = "file"


def _test_jets(cfg: BoostStudyConfig, dataset: Any, run_dirs: list[Path]) -> Any:
    """The test jets shared by every run (all runs must use one split)."""
    from fpgakd.jets.preprocessing import split_indices
    from fpgakd.studies.models import check_run_data

    seeds = {check_run_data(run, dataset) for run in run_dirs}
    if len(seeds) != 1:
        raise ConfigError(f"runs {[str(r) for r in run_dirs]} use different split seeds {sorted(seeds)}: "
                          "they share no test split")
    _, _, test = split_indices(dataset.n_jets, seed=seeds.pop(), labels=dataset.labels)
    return dataset.subset(test if cfg.n_jets is None else test[:cfg.n_jets])


def _score_all(jets: Any, teacher_dir: Path, runs: list[Any]) -> dict[str, dict[str, Any]]:
    """Scores of the teacher and of every run's students on ``jets``, by model label."""
    from fpgakd.studies.models import score_logits, student_logits, teacher_logits_on

    names = list(jets.class_names)
    scores = {TEACHER: score_logits(jets.labels, teacher_logits_on(teacher_dir, jets), names)}
    for run in runs:
        for mode, z in student_logits(run, jets).items():
            scores[f"{run.name} {mode}"] = score_logits(jets.labels, z, names)
    return scores


def run_boost_study(cfg: BoostStudyConfig, jets_path: str | os.PathLike,
                    run_dirs: list[str | os.PathLike], out_dir: str | os.PathLike, *,
                    teacher_path: str | os.PathLike | None = None,
                    progress: bool = True) -> dict[str, Any]:
    """Score teacher and students on boosted test jets for each ``cfg.beta_max``; write ``out_dir``.

    ``run_dirs`` are distill run directories trained on ``jets_path``; the teacher is
    ``teacher_path``, else the first run's ``teacher/``. Returns the results dict also
    written to ``out_dir/results.json``.

    >>> r = run_boost_study(load_study_config("boost"), jets, ["runs/constituent_mlp"], "runs/studies/boost")  # doctest: +SKIP
    >>> r["points"][-1]["scores"]["teacher"]["accuracy"]                                                        # doctest: +SKIP
    0.55
    """
    from tqdm.auto import tqdm

    from fpgakd.atomic import atomic_dir, write_text_atomic
    from fpgakd.config import dump_config
    from fpgakd.jets.data import load_jets
    from fpgakd.learn.runtime import configure_tensorflow
    from fpgakd.studies.lorentz import boost_dataset
    from fpgakd.studies.models import load_run_students

    configure_tensorflow()
    started = time.time()
    run_dirs = [Path(r) for r in run_dirs]
    if not run_dirs:
        raise ConfigError("runs: give at least one distill run directory")
    teacher_dir = Path(teacher_path) if teacher_path else run_dirs[0] / TEACHER
    dataset = load_jets(jets_path)
    jets = _test_jets(cfg, dataset, run_dirs)
    runs = [load_run_students(r) for r in run_dirs]
    with_hlf = any(r.config.inputs.type != "constituents" for r in runs)
    u = np.random.default_rng(cfg.seed).uniform(0.0, 1.0, jets.n_jets)
    points = [{"beta_max": FILE_POINT, "scores": _score_all(jets, teacher_dir, runs)}]
    for beta_max in tqdm(cfg.beta_max, desc="boost points", disable=not progress):
        betas = u * beta_max
        boosted = boost_dataset(jets, betas=betas, with_hlf=with_hlf, progress=progress)
        points.append({"beta_max": beta_max, "mean_beta": float(betas.mean()),
                       "scores": _score_all(boosted, teacher_dir, runs)})
        log.info("beta_max %.2f: teacher accuracy %.4f", beta_max, points[-1]["scores"][TEACHER]["accuracy"])
    results = {"study": config_to_dict(cfg), "data": {"path": str(jets_path), "n_test_jets": jets.n_jets,
                                                     "fingerprint": dataset.fingerprint()},
               "teacher": str(teacher_dir), "runs": [str(r) for r in run_dirs],
               "models": list(points[0]["scores"]), "points": points,
               "seconds": time.time() - started}
    with atomic_dir(out_dir) as tmp:
        write_text_atomic(tmp / "results.json", json.dumps(results, indent=1))
        dump_config(cfg, tmp / "config.yaml")
        plot_boost_results(results, tmp / "boost.png")
    log.info("boost study written to %s in %.0f s", out_dir, results["seconds"])
    return results


def plot_boost_results(results: dict[str, Any], path: str | os.PathLike) -> Path:
    """Accuracy and mean one-vs-rest AUC of every model against beta_max (PNG).

    >>> plot_boost_results(json.load(open("runs/studies/boost/results.json")), "boost.png")  # doctest: +SKIP
    """
    from fpgakd.figures import pyplot, save_figure

    points = [p for p in results["points"] if p["beta_max"] != FILE_POINT]
    x = [p["beta_max"] for p in points]
    fig, axes = pyplot().subplots(1, 2, figsize=(10, 4))
    # one colour per run, KD solid and scratch dashed, the teacher black
    runs = sorted({m.rsplit(" ", 1)[0] for m in results["models"] if m != TEACHER})
    for ax, key, label in ((axes[0], "accuracy", "accuracy"), (axes[1], "mean_auc", "mean AUC (one vs rest)")):
        for model in results["models"]:
            if model == TEACHER:
                style = {"color": "black", "marker": "o"}
            else:
                run, mode = model.rsplit(" ", 1)
                style = {"color": f"C{runs.index(run)}", "marker": "s" if mode == "kd" else "^",
                         "linestyle": "-" if mode == "kd" else "--"}
            ax.plot(x, [p["scores"][model][key] for p in points], label=model, **style)
        ax.set_xlabel(r"$\beta_{max}$ (boost along x, $\beta \sim U[0, \beta_{max}]$)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Lorentz-boost robustness ({results['data']['n_test_jets']} test jets)")
    return save_figure(fig, path)


def format_boost_table(results: dict[str, Any]) -> str:
    """Accuracy (and mean AUC) per model and point as a text table.

    >>> print(format_boost_table(results))                                   # doctest: +SKIP
    """
    heads = [str(p["beta_max"]) for p in results["points"]]
    width = max(len(m) for m in results["models"]) + 2
    lines = ["accuracy / mean AUC at beta_max:", " " * width + "".join(f"{h:>14}" for h in heads)]
    for model in results["models"]:
        cells = [f"{p['scores'][model]['accuracy']:.3f} / {p['scores'][model]['mean_auc']:.3f}"
                 for p in results["points"]]
        lines.append(f"{model:<{width}}" + "".join(f"{c:>14}" for c in cells))
    return "\n".join(lines)
