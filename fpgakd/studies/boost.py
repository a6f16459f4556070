"""The Lorentz-boost robustness study (after Liu et al. 2023): how taggers fare on boosted jets.

Every held-out test jet of the given distill runs is boosted along x by beta = u * beta_max
(one seeded u ~ U[0, 1) per jet, shared by all points), everything the models read is
rebuilt from the boosted four-vectors (:func:`fpgakd.studies.lorentz.boost_dataset`), and
the teacher and each run's KD and scratch students are scored on them. The study directory
(written atomically) holds ``results.json``, ``boost.png`` (accuracy and mean one-vs-rest
AUC against beta_max) and the resolved ``config.yaml``.

With ``augmented_teacher.enabled`` the paper's second experiment joins the same points
(:mod:`fpgakd.studies.augmented_teacher`): a teacher trained on boost-augmented jets and the
first run's student distilled with alpha = 0 from it and from the baseline teacher; the
table then says how much of the teacher's robustness reaches the student.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from fpgakd.config import config_to_dict
from fpgakd.errors import ConfigError
from fpgakd.learn.rundir import CONFIG_FILE, TEACHER_DIR, read_teacher_meta
from fpgakd.studies.augmented_teacher import (ALPHA0_FROM_AUGMENTED, ALPHA0_FROM_TEACHER, AUGMENTED_TEACHER,
                                              TEACHER)
from fpgakd.studies.spec import BoostStudyConfig

__all__ = ["run_boost_study", "plot_boost_results", "format_boost_table"]

log = logging.getLogger(__name__)

#: the row for the test jets as stored in the file, before any rebuilding
FILE_POINT = "file"
#: what follows a run's name in a student's label
_STUDENT_MODES = ("kd", "scratch", ALPHA0_FROM_TEACHER, ALPHA0_FROM_AUGMENTED)
_LEGEND_COLUMNS = 3


def _test_jets(cfg: BoostStudyConfig, dataset: Any, run_dirs: list[Path]) -> tuple[Any, int]:
    """The test jets shared by every run (all runs must use one split), and that split's seed."""
    from fpgakd.jets.preprocessing import split_indices
    from fpgakd.studies.models import check_run_data

    seeds = {check_run_data(run, dataset) for run in run_dirs}
    if len(seeds) != 1:
        raise ConfigError(f"runs {[str(r) for r in run_dirs]} use different split seeds {sorted(seeds)}: "
                          "they share no test split")
    split_seed = seeds.pop()
    _, _, test = split_indices(dataset.n_jets, seed=split_seed, labels=dataset.labels)
    return dataset.subset(test if cfg.n_jets is None else test[:cfg.n_jets]), split_seed


def _score_all(jets: Any, teachers: dict[str, Path], runs: list[Any]) -> dict[str, dict[str, Any]]:
    """Scores of the teachers and of every run's students on ``jets``, by model label."""
    from fpgakd.studies.models import score_logits, student_logits, teacher_logits_on

    names = list(jets.class_names)
    scores = {label: score_logits(jets.labels, teacher_logits_on(d, jets), names) for label, d in teachers.items()}
    for run in runs:
        for mode, z in student_logits(run, jets).items():
            scores[f"{run.name} {mode}"] = score_logits(jets.labels, z, names)
    return scores


def _reads_hlf(teacher_dir: Path) -> bool:
    from fpgakd.learn.teacher import load_teacher

    return "hlf" in load_teacher(teacher_dir).meta.get("inputs", ())


def _augmented_models(cfg: BoostStudyConfig, jets_path: Path, dataset: Any, teacher_dir: Path, run: Any,
                      split_seed: int, progress: bool) -> tuple[dict[str, Path], list[Any], dict[str, Any]]:
    """The second experiment's teacher and alpha-0 students (on ``run``'s split), and its record."""
    from fpgakd.jets.preprocessing import split_indices
    from fpgakd.studies.augmented_teacher import alpha0_students, augmented_teacher_dir

    aug = cfg.augmented_teacher
    started = time.time()
    aug_dir, aug_path = augmented_teacher_dir(jets_path, dataset, teacher_dir, split_seed=split_seed,
                                              beta_max=aug.beta_max, seed=aug.seed, progress=progress)
    teacher_seconds = time.time() - started
    train, val, _ = split_indices(dataset.n_jets, seed=split_seed, labels=dataset.labels)
    students = alpha0_students(run.config, dataset, {ALPHA0_FROM_TEACHER: teacher_dir,
                                                     ALPHA0_FROM_AUGMENTED: aug_dir},
                               (train, val), progress=progress)
    record = {"teacher": str(aug_dir), "jets": str(aug_path), "student": run.name,
              "teacher_meta": {k: read_teacher_meta(aug_dir).get(k)
                               for k in ("val_accuracy", "test_accuracy", "train_seconds")},
              "seconds": {"teacher": teacher_seconds, "students": time.time() - started - teacher_seconds}}
    return {AUGMENTED_TEACHER: aug_dir}, list(students.values()), record


def _score_points(cfg: BoostStudyConfig, jets: Any, teachers: dict[str, Path], runs: list[Any], with_hlf: bool,
                  progress: bool) -> list[dict[str, Any]]:
    """The scores on the file's test jets, then on them boosted for each ``cfg.beta_max``."""
    from tqdm.auto import tqdm

    from fpgakd.studies.lorentz import boost_dataset

    u = np.random.default_rng(cfg.seed).uniform(0.0, 1.0, jets.n_jets)
    points = [{"beta_max": FILE_POINT, "scores": _score_all(jets, teachers, runs)}]
    for beta_max in tqdm(cfg.beta_max, desc="boost points", disable=not progress):
        betas = u * beta_max
        boosted = boost_dataset(jets, betas=betas, with_hlf=with_hlf, progress=progress)
        points.append({"beta_max": beta_max, "mean_beta": float(betas.mean()),
                       "scores": _score_all(boosted, teachers, runs)})
        log.info("beta_max %.2f: teacher accuracy %.4f", beta_max, points[-1]["scores"][TEACHER]["accuracy"])
    return points


def run_boost_study(cfg: BoostStudyConfig, jets_path: str | os.PathLike,
                    run_dirs: list[str | os.PathLike], out_dir: str | os.PathLike, *,
                    teacher_path: str | os.PathLike | None = None, augmented_teacher: bool | None = None,
                    progress: bool = True) -> dict[str, Any]:
    """Score teacher and students on boosted test jets for each ``cfg.beta_max``; write ``out_dir``.

    ``run_dirs`` are distill run directories trained on ``jets_path``; the teacher is
    ``teacher_path``, else the first run's ``teacher/``. ``augmented_teacher`` (if not
    None) overrides ``cfg.augmented_teacher.enabled``. Returns the results dict also
    written to ``out_dir/results.json``.

    >>> r = run_boost_study(load_study_config("boost"), jets, ["runs/constituent_mlp"], "runs/studies/boost")  # doctest: +SKIP
    >>> r["points"][-1]["scores"]["teacher"]["accuracy"]                                                        # doctest: +SKIP
    0.55
    """
    from fpgakd.atomic import atomic_dir, write_text_atomic
    from fpgakd.config import dump_config
    from fpgakd.jets.loading import load_jets
    from fpgakd.learn.runtime import configure_tensorflow
    from fpgakd.studies.augmented_teacher import robustness_transfer
    from fpgakd.studies.models import load_run_students

    configure_tensorflow()
    started = time.time()
    if augmented_teacher is not None:
        cfg = dataclasses.replace(cfg, augmented_teacher=dataclasses.replace(cfg.augmented_teacher,
                                                                             enabled=augmented_teacher))
    run_dirs = [Path(r) for r in run_dirs]
    if not run_dirs:
        raise ConfigError("runs: give at least one distill run directory")
    teacher_dir = Path(teacher_path) if teacher_path else run_dirs[0] / TEACHER_DIR
    dataset = load_jets(jets_path)
    jets, split_seed = _test_jets(cfg, dataset, run_dirs)
    runs = [load_run_students(r) for r in run_dirs]
    teachers, extra = {TEACHER: teacher_dir}, None
    if cfg.augmented_teacher.enabled:
        aug_teachers, aug_students, extra = _augmented_models(cfg, Path(jets_path), dataset, teacher_dir, runs[0],
                                                              split_seed, progress)
        teachers.update(aug_teachers)
        runs += aug_students
    with_hlf = _reads_hlf(teacher_dir) or any(r.config.inputs.type != "constituents" for r in runs)
    points = _score_points(cfg, jets, teachers, runs, with_hlf, progress)
    results = {"study": config_to_dict(cfg), "data": {"path": str(jets_path), "n_test_jets": jets.n_jets,
                                                     "fingerprint": dataset.fingerprint()},
               "teacher": str(teacher_dir), "runs": [str(r) for r in run_dirs],
               "models": list(points[0]["scores"]), "points": points}
    if extra is not None:
        results["augmented_teacher"] = {**extra, "transfer": robustness_transfer(points, extra["student"])}
    results["seconds"] = time.time() - started
    with atomic_dir(out_dir) as tmp:
        write_text_atomic(tmp / "results.json", json.dumps(results, indent=1))
        dump_config(cfg, tmp / CONFIG_FILE)
        plot_boost_results(results, tmp / "boost.png")
    log.info("boost study written to %s in %.0f s", out_dir, results["seconds"])
    return results


def _run_and_mode(model: str) -> tuple[str, str]:
    """(run name, student mode) of a student's label, e.g. ``constituent_mlp kd``."""
    mode = next(m for m in _STUDENT_MODES if model.endswith(f" {m}"))
    return model[:-len(mode) - 1], mode


def _line_style(model: str, runs: list[str]) -> dict[str, Any]:
    """One colour per run, KD solid and scratch dashed, the teachers black; the experiment's
    rows dashed (augmented teacher) or dotted (baseline teacher), its students in a colour of their own."""
    if model in (TEACHER, AUGMENTED_TEACHER):
        return {"color": "black", "marker": "o", "linestyle": "-" if model == TEACHER else "--"}
    run, mode = _run_and_mode(model)
    if mode in (ALPHA0_FROM_TEACHER, ALPHA0_FROM_AUGMENTED):
        return {"color": f"C{len(runs)}", "marker": "v", "linestyle": ":" if mode == ALPHA0_FROM_TEACHER else "--"}
    return {"color": f"C{runs.index(run)}", "marker": "s" if mode == "kd" else "^",
            "linestyle": "-" if mode == "kd" else "--"}


def plot_boost_results(results: dict[str, Any], path: str | os.PathLike) -> Path:
    """Accuracy and mean one-vs-rest AUC of every model against beta_max (PNG).

    >>> plot_boost_results(json.load(open("runs/studies/boost/results.json")), "boost.png")  # doctest: +SKIP
    """
    from fpgakd.figures import pyplot, save_figure

    points = [p for p in results["points"] if p["beta_max"] != FILE_POINT]
    x = [p["beta_max"] for p in points]
    n_rows = -(-len(results["models"]) // _LEGEND_COLUMNS)
    fig, axes = pyplot().subplots(1, 2, figsize=(10, 4 + 0.2 * n_rows), layout="constrained")
    runs = sorted({_run_and_mode(m)[0] for m in results["models"]
                   if m not in (TEACHER, AUGMENTED_TEACHER) and _run_and_mode(m)[1] in ("kd", "scratch")})
    for ax, key, label in ((axes[0], "accuracy", "accuracy"), (axes[1], "mean_auc", "mean AUC (one vs rest)")):
        for model in results["models"]:
            ax.plot(x, [p["scores"][model][key] for p in points], label=model, **_line_style(model, runs))
        ax.set_xlabel(r"$\beta_{max}$ (boost along x, $\beta \sim U[0, \beta_{max}]$)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    # below the panels: inside, the legend would hide the curves of some model or other
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=_LEGEND_COLUMNS, fontsize=8)
    fig.suptitle(f"Lorentz-boost robustness ({results['data']['n_test_jets']} test jets)")
    return save_figure(fig, path)


def _transfer_lines(results: dict[str, Any]) -> list[str]:
    """The second experiment's verdict: accuracy drops and the share of the teacher's gain kept."""
    aug = results["augmented_teacher"]
    t, name = aug["transfer"], aug["student"]
    drop = t["drop"]
    share = ("-" if t["transferred_fraction"] is None else f"{100 * t['transferred_fraction']:.0f}%")
    return [f"robustness transfer (accuracy drop from beta_max {t['from_beta_max']} to {t['to_beta_max']}; "
            f"teacher trained on jets boosted by beta_max {results['study']['augmented_teacher']['beta_max']}):",
            f"  teacher {drop[TEACHER]:.3f}, boost-augmented teacher {drop[AUGMENTED_TEACHER]:.3f}: "
            f"gain {t['teacher_gain']:+.3f}",
            f"  {name} alpha=0 from the teacher {drop[f'{name} {ALPHA0_FROM_TEACHER}']:.3f}, from the "
            f"boost-augmented teacher {drop[f'{name} {ALPHA0_FROM_AUGMENTED}']:.3f}: gain {t['student_gain']:+.3f}",
            f"  share of the teacher's robustness gain transferred to the student: {share}"]


def format_boost_table(results: dict[str, Any]) -> str:
    """Accuracy (and mean AUC) per model and point as a text table (and the transfer verdict).

    >>> print(format_boost_table(results))                                   # doctest: +SKIP
    """
    heads = [str(p["beta_max"]) for p in results["points"]]
    width = max(len(m) for m in results["models"]) + 2
    lines = ["accuracy / mean AUC at beta_max:", " " * width + "".join(f"{h:>14}" for h in heads)]
    for model in results["models"]:
        cells = [f"{p['scores'][model]['accuracy']:.3f} / {p['scores'][model]['mean_auc']:.3f}"
                 for p in results["points"]]
        lines.append(f"{model:<{width}}" + "".join(f"{c:>14}" for c in cells))
    if "augmented_teacher" in results:
        lines += _transfer_lines(results)
    return "\n".join(lines)
