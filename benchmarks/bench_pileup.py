#!/usr/bin/env python
"""Benchmark (not a test): DistillNet at mu 140, the paper's verdict with its spread over seeds.

    python benchmarks/bench_pileup.py                                   # mu 140, 3 seeds
    python benchmarks/bench_pileup.py --seeds 0 --train-events 60 --eval-events 200 --teacher-epochs 3

Teacher and students train on one event file (``--train-events``, split 60/20/20 by
event as ``fpgakd distill --events`` does) and are judged on a second, independent file of
``--eval-events`` events (another seed): the resolutions want many events, training does not,
and a CPU cannot train the graph teacher on thousands of mu-140 events in a session. Per seed
(teacher and student initialisation; the data stay fixed): the pileup teacher, DistillNet
(float, 16-128-64-1) and QDistillNet (8-bit, 75% pruned, 16-64-32-1), then PUPPI, the teacher
and both students on the evaluation events: pT-miss and jet pT resolution, weight accuracy.
Printed: mean +- std over seeds per algorithm, improvement over PUPPI, and the goal (teacher
better than PUPPI, QDistillNet between them). Resumable: finished teachers, runs and
evaluations are reused. ``responses.png`` and ``weights.png`` show the first seed.
``--calibrate`` fits a jet response correction per algorithm on the training events
(:mod:`fpgakd.learn.pileup.calibration`, recorded in ``seedN/calibration.json``) and judges
every algorithm calibrated (``summary_calibrated.json``, ``responses_calibrated.png``).
``--second-process ttbar_dilep`` judges the same teacher and students (trained on the first
process) also on independent events of that process, in a table of their own.
``--charged-from-vertex`` judges the teacher and students with each charged particle weighted
by its track's vertex association, as PUPPI weighs it (CMS's charged-hadron subtraction), so
that their learned weights act on the neutrals only (files tagged ``_vertex``).
``--pt-weighted-students`` trains the students with each particle's loss weighted by its pT
(``distillation.particle_weighting: pt``; runs and files tagged ``_ptweighted``).
``--puppi-raw-weight`` gives the students PUPPI's weight before its neutral cuts as a 17th
input (``inputs.puppi_raw_weight``; runs and files tagged ``_raw``); the teacher reads the 16.
``--students qdistillnet`` trains and judges that student alone (a later run with both judges
again where a cached verdict lacks one of them); ``--students qdistillnet qdistillnet_hgq`` adds
QDistillNet with a bit width trained per weight (``models/qdistillnet_hgq.yaml``).
``--students-also-train-on ttbar_dilep`` trains the students on ``--students-extra-events``
independent events of that process after the training events, labelled by the same teacher
(trained on the first process alone): distillation needs no truth, so the students can learn
the teacher on the process they are judged on (runs tagged ``_plus_ttbar_dilep``).
``--students-loss bce`` trains the students on the cross-entropy to the teacher's weights (or
``mse``) instead of the paper's MAE (runs tagged ``_bce``).

The goal (the DistillNet paper's ordering and margins): the teacher's pT-miss and jet pT
resolutions at least 10% and 18% better than PUPPI's, its median responses within +-0.10 and
its jet efficiency no more than 2 points under PUPPI's, and both students between PUPPI and
the teacher on both resolutions.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import statistics
import sys
from pathlib import Path
from typing import Any, Callable

from fpgakd.atomic import write_text_atomic

STUDENTS = ("distillnet", "qdistillnet")
#: a student judged on request only: QDistillNet with a trained bit width per weight (HGQ)
HGQ_STUDENT = "qdistillnet_hgq"
REFERENCE = "puppi"
METRICS = ("met_resolution", "met_median_response", "jet_resolution", "jet_median_response", "jet_efficiency",
           "accuracy", "distribution_agreement")
#: the table's column heads
HEADS = {"met_resolution": "pT-miss res", "met_median_response": "pT-miss resp", "jet_resolution": "jet pT res",
         "jet_median_response": "jet resp", "jet_efficiency": "jet eff", "accuracy": "accuracy",
         "distribution_agreement": "dist. agr. (paper)"}
#: the metrics whose improvement over PUPPI the table shows
RESOLUTIONS = ("met_resolution", "jet_resolution")
#: the goal: the teacher's resolution this much better than PUPPI's (the paper's GNN: 10%, 18%)
TEACHER_GAIN = {"met_resolution": 0.10, "jet_resolution": 0.18}
#: the goal: the teacher's median responses within this of zero
RESPONSE_LIMIT = 0.10
#: the goal: the teacher's jet efficiency at most this far under PUPPI's
EFFICIENCY_SHORTFALL = 0.02
#: the seed of the evaluation events of the first process and of a second one
EVAL_SEEDS = {"first": 2, "second": 3}
#: the seed of the training events of the first process and of a second one the students also learn on
TRAIN_SEEDS = {"first": 1, "second": 4}
#: the result files' tags of the variants: students trained pT-weighted, students reading
#: PUPPI's weight before its cuts, learned charged weights replaced by the vertex association,
#: students also trained on a second process (the tag followed by its name)
PT_WEIGHTED_TAG, RAW_PUPPI_TAG, VERTEX_TAG, ALSO_TRAINED_TAG = "_ptweighted", "_raw", "_vertex", "_plus_"


@dataclasses.dataclass(frozen=True)
class Variant:
    """What a run changes from the paper's setup (nothing, by default), and its files' tag.

    >>> Variant(pt_weighted_students=True, charged_from_vertex=True).tag
    '_ptweighted_vertex'
    >>> Variant(pt_weighted_students=True, charged_from_vertex=True, puppi_raw_weight=True).tag
    '_ptweighted_raw_vertex'
    >>> Variant(puppi_raw_weight=True, students_also_trained_on="ttbar_dilep").students_tag
    '_raw_plus_ttbar_dilep'
    >>> Variant(pt_weighted_students=True, students_loss="bce").students_tag
    '_ptweighted_bce'
    """

    pt_weighted_students: bool = False
    charged_from_vertex: bool = False
    puppi_raw_weight: bool = False
    students_also_trained_on: str = ""
    #: the students' loss to the teacher's weights where not their config's (mae): its name is the tag
    students_loss: str = ""

    @property
    def students_tag(self) -> str:
        return ((PT_WEIGHTED_TAG if self.pt_weighted_students else "")
                + (RAW_PUPPI_TAG if self.puppi_raw_weight else "")
                + (ALSO_TRAINED_TAG + self.students_also_trained_on if self.students_also_trained_on else "")
                + (f"_{self.students_loss}" if self.students_loss else ""))

    @property
    def tag(self) -> str:
        return self.students_tag + (VERTEX_TAG if self.charged_from_vertex else "")


def event_file_name(role: str, mu: float, n_events: int, process: str = "") -> str:
    """The benchmark's event file of ``role`` (train, eval): the process (none for the first), mu, events.

    >>> event_file_name("eval", 140.0, 1000, "ttbar_dilep")
    'eval_ttbar_dilep_mu140_1000.h5'
    """
    return f"{role}_{process + '_' if process else ''}mu{mu:g}_{n_events}.h5"


def _event_file(out: Path, role: str, mu: float, n_events: int, seed: int, process: str = "") -> Path:
    """The event file of ``role`` under ``out``, generated once (the first process: PileupOptions' own)."""
    from fpgakd.jets.events.generate import generate_events
    from fpgakd.jets.events.options import PileupOptions

    path = out / event_file_name(role, mu, n_events, process)
    if not path.is_file():
        chosen = {"process": process} if process else {}
        generate_events(path, PileupOptions(mu=mu, n_events=n_events, seed=seed, **chosen))
    return path


def second_process_events(out: Path, process: str, mu: float, n_events: int) -> Any:
    """Independent evaluation events of another hard process (generated once)."""
    from fpgakd.learn.pileup.events import load_pileup_data

    return load_pileup_data(_event_file(out, "eval", mu, n_events, EVAL_SEEDS["second"], process))


def training_and_evaluation_events(out: Path, mu: float, train_events: int, eval_events: int
                                   ) -> tuple[Path, Any, Any]:
    """(training event file, its data, the independent evaluation events' data), generated once."""
    from fpgakd.learn.pileup.events import load_pileup_data

    out.mkdir(parents=True, exist_ok=True)
    train_path = _event_file(out, "train", mu, train_events, TRAIN_SEEDS["first"])
    eval_path = _event_file(out, "eval", mu, eval_events, EVAL_SEEDS["first"])
    return train_path, load_pileup_data(train_path), load_pileup_data(eval_path)


def students_training_events(out: Path, train_path: Path, process: str, mu: float, n_events: int) -> Path:
    """The event file of the training events followed by ``n_events`` independent events of
    ``process``, on which the students learn the teacher's weights too (written once).

    The teacher trains on the first process alone; its soft labels on the second process's events are
    what the students learn there. The students split this file by event afresh, so the test events
    of their ``metrics.json`` can hold events the teacher trained on; the verdict is on independent files."""
    from fpgakd.jets.events.eventfile import concat_events, load_events, write_events

    extra = _event_file(out, "train", mu, n_events, TRAIN_SEEDS["second"], process)
    mixed = out / f"{train_path.stem}{ALSO_TRAINED_TAG}{extra.stem}.h5"
    if not mixed.is_file():
        first = load_events(train_path)
        joined = concat_events([first, load_events(extra)])
        joined.options.update(process=f"{first.options.get('process')}+{process}")
        write_events(mixed, joined)
    return mixed


def _teacher(data: Any, train_path: Path, out: Path, seed: int, epochs: int) -> Path:
    from fpgakd.config import load_pileup_teacher_config
    from fpgakd.learn.pileup.teacher import TEACHER_JSON, fit_pileup_teacher

    if not (out / TEACHER_JSON).is_file():
        cfg = dataclasses.replace(load_pileup_teacher_config("pileup_edgeconv"), seed=seed, epochs=epochs)
        fit_pileup_teacher(data, out, config=cfg, events_path=train_path)
    return out


def _student_run(name: str, train_data: Callable[[], Any], train_path: Path, teacher: Path, out: Path, seed: int,
                 variant: Variant = Variant()) -> Path:
    """The run of student ``name`` trained on ``train_path`` (once); ``train_data()``: that file's
    :class:`~fpgakd.learn.pileup.events.PileupData`, whose PUPPI weights it takes, called only when the student
    trains."""
    from fpgakd.config import load_model_config, replace_config
    from fpgakd.learn import rundir
    from fpgakd.learn.pileup.student import distill_particles

    if not rundir.run_metrics_file(out).is_file():
        cfg = load_model_config(name)
        cfg = dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, seed=seed))
        if variant.pt_weighted_students:
            cfg = dataclasses.replace(cfg, distillation=dataclasses.replace(cfg.distillation, particle_weighting="pt"))
        if variant.puppi_raw_weight:
            cfg = dataclasses.replace(cfg, inputs=dataclasses.replace(cfg.inputs, puppi_raw_weight=True))
        if variant.students_loss:
            cfg = replace_config(cfg, {"distillation": {"regression_loss": variant.students_loss}}, "--students-loss")
        data = train_data()
        distill_particles(cfg, train_path, out, teacher_path=teacher, puppi=data.puppi, puppi_raw=data.puppi_raw)
    return out


def student_weights(run: Path, data: Any) -> Any:
    """A particle run's student applied to other events: sigmoid(logit) per particle."""
    import numpy as np

    from fpgakd.learn import rundir
    from fpgakd.learn.pileup.events import student_inputs
    from fpgakd.learn.students import load_student

    x, names = student_inputs(data, rundir.read_run_config(run).inputs)
    # an HGQ run's proxy first: it computes the firmware's logit
    z = load_student(rundir.find_student_file(run)).predict(rundir.read_run_standardizer(run).transform(x, names),
                                                           batch_size=8192, verbose=0)[:, 0]
    return (1.0 / (1.0 + np.exp(-z.astype(np.float64)))).astype(np.float32)


def result_name(stem: str, calibrated: bool) -> str:
    """The JSON file of a verdict or summary, judged as printed or with calibrated jets."""
    return f"{stem}_calibrated.json" if calibrated else f"{stem}.json"


def algorithm_weights(teacher: Path | None, runs: dict[str, Path], data: Any,
                      charged_from_vertex: bool = False) -> dict[str, Any]:
    """PUPPI's, the teacher's (unless None) and every student's weight per particle of ``data``;
    with ``charged_from_vertex``, the learned weights of charged particles replaced by their
    vertex association."""
    import numpy as np

    from fpgakd.learn.pileup.teacher import pileup_soft_labels

    weights = {REFERENCE: data.puppi}
    if teacher is not None:      # its graph inference is the slow part (cached once done)
        weights["teacher"] = pileup_soft_labels(teacher, data)
    weights.update({name: student_weights(run, data) for name, run in runs.items()})
    if charged_from_vertex:
        from fpgakd.jets.events.puppi import vertex_association

        tracked, from_pv = vertex_association(data.events.particles)
        for name in weights.keys() - {REFERENCE}:
            weights[name] = np.where(tracked, from_pv, weights[name]).astype(np.float32)
    return weights


def fit_seed_calibrations(seed_dir: Path, teacher: Path | None, runs: dict[str, Path], train: Any,
                          variant: Variant = Variant()) -> dict[str, Any]:
    """Each algorithm's jet calibration fitted on the training events (recorded in the seed's folder)."""
    from fpgakd.learn.pileup.verdict import fit_verdict_calibrations

    weights = algorithm_weights(teacher, runs, train, variant.charged_from_vertex)
    calibrations = fit_verdict_calibrations(train.events, weights)
    write_text_atomic(seed_dir / f"calibration{variant.tag}.json", json.dumps(
        {name: {"edges_gev": c.edges, "factors": c.factors} for name, c in calibrations.items()}, indent=1))
    return calibrations


def evaluate_seed(seed_dir: Path, teacher: Path, runs: dict[str, Path], data: Any, plots: bool,
                  calibrate_on: Any = None, process: str = "", variant: Variant = Variant()) -> dict:
    """The verdict of every algorithm on the evaluation events (cached in the seed's folder,
    with its plots where ``plots``: drawn again only where missing);
    with ``calibrate_on`` (the training events), every algorithm's jets calibrated on them;
    ``process`` names a second process's events in the cached files' and plots' names;
    ``variant`` judges a :class:`Variant` (its tag in the cached files' names)."""
    from fpgakd.learn.pileup.verdict import pileup_verdict, verdict_summary

    tag = (f"_{process}" if process else "") + variant.tag
    done = seed_dir / result_name(f"verdict{tag}", calibrate_on is not None)
    suffix = "_calibrated" if calibrate_on is not None else ""
    drawn = [seed_dir.parent / f"responses{tag}{suffix}.png", seed_dir.parent / f"weights{tag}.png"]
    plots_missing = plots and not all(path.is_file() for path in drawn)
    if done.is_file() and not plots_missing:
        cached = json.loads(done.read_text())
        if runs.keys() <= cached.keys():   # a run with fewer students cached fewer
            return cached
    calibrations = (None if calibrate_on is None
                    else fit_seed_calibrations(seed_dir, teacher, runs, calibrate_on, variant))
    weights = algorithm_weights(teacher, runs, data, variant.charged_from_vertex)
    verdict = pileup_verdict(data.events, weights, calibrations=calibrations, progress=True)
    if plots:
        from fpgakd.learn.pileup.verdict_plots import plot_responses, plot_weight_distributions

        plot_responses(verdict, drawn[0])
        plot_weight_distributions(weights, data.events.particles["is_pileup"], drawn[1])
    summary = verdict_summary(verdict)
    write_text_atomic(done, json.dumps(summary, indent=1))
    return summary


def spread_table(per_seed: list[dict]) -> tuple[str, dict[str, dict[str, tuple[float, float]]]]:
    """Mean and std over seeds per algorithm and metric, and the printed table."""
    stats: dict[str, dict[str, tuple[float, float]]] = {}
    for name in per_seed[0]:
        stats[name] = {}
        for metric in METRICS:
            values = [s[name][metric] for s in per_seed if s[name].get(metric) is not None]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            stats[name][metric] = (statistics.mean(values), sd) if values else (float("nan"), 0.0)
    ref = stats[REFERENCE]
    lines = [f"{'algorithm':<14}" + "".join(f"{HEADS[m]:>21}" + (f"{'vs PUPPI':>10}" if m in RESOLUTIONS else "")
                                           for m in METRICS)]
    for name, s in stats.items():
        cells = []
        for metric in METRICS:
            mean, sd = s[metric]
            cells.append(f"{mean:>+12.4f} ± {sd:.4f}" if metric.endswith("response") else f"{mean:>12.4f} ± {sd:.4f}")
            if metric in RESOLUTIONS:
                cells.append(f"{100 * (1 - mean / ref[metric][0]):>+9.1f}%")
        lines.append(f"{name:<14}" + "".join(cells))
    return "\n".join(lines), stats


def _between(value: float, bound_a: float, bound_b: float) -> bool:
    return min(bound_a, bound_b) <= value <= max(bound_a, bound_b)


def goal_lines(stats: dict[str, dict[str, tuple[float, float]]]) -> list[str]:
    """The goal, criterion by criterion (means over seeds): the teacher's margins over PUPPI,
    its responses and efficiency, and each student between PUPPI and the teacher."""
    puppi, teacher = stats[REFERENCE], stats["teacher"]
    out = []
    for metric, label in (("met_resolution", "pT-miss"), ("jet_resolution", "jet pT")):
        gain = 1 - teacher[metric][0] / puppi[metric][0]
        out.append(f"teacher {label} resolution {100 * gain:+.1f}% against PUPPI (goal >= "
                   f"{100 * TEACHER_GAIN[metric]:.0f}%): {'met' if gain >= TEACHER_GAIN[metric] else 'not met'}")
    for metric, label in (("met_median_response", "pT-miss"), ("jet_median_response", "jet")):
        resp = teacher[metric][0]
        out.append(f"teacher {label} median response {resp:+.3f} (goal within +-{RESPONSE_LIMIT:.2f}): "
                   f"{'met' if abs(resp) <= RESPONSE_LIMIT else 'not met'}")
    shortfall = puppi["jet_efficiency"][0] - teacher["jet_efficiency"][0]
    out.append(f"teacher jet efficiency {teacher['jet_efficiency'][0]:.3f}, PUPPI {puppi['jet_efficiency'][0]:.3f} "
               f"(goal at most {EFFICIENCY_SHORTFALL:.2f} under): "
               f"{'met' if shortfall <= EFFICIENCY_SHORTFALL else 'not met'}")
    for student in (s for s in (*STUDENTS, HGQ_STUDENT) if s in stats):
        for metric, label in (("met_resolution", "pT-miss"), ("jet_resolution", "jet pT")):
            value = stats[student][metric][0]
            inside = _between(value, puppi[metric][0], teacher[metric][0])
            out.append(f"{student} {label} resolution {value:.4f} between PUPPI {puppi[metric][0]:.4f} and teacher "
                       f"{teacher[metric][0]:.4f}: {'met' if inside else 'not met'}")
    return out


#: the docs table's name of each algorithm
DOCS_NAMES = {"none": "none", REFERENCE: "PUPPI", "teacher": "teacher", "distillnet": "DistillNet",
              "qdistillnet": "QDistillNet", HGQ_STUDENT: "QDistillNet (HGQ)"}


def docs_table_rows(stats: dict[str, dict[str, tuple[float, float]]]) -> list[list[str]]:
    """The docs' table (header first): mean ± std per algorithm, resolutions against PUPPI."""
    def spread(metric: str, name: str, digits: int = 3, sign: str = "") -> str:
        mean, sd = stats[name][metric]
        return f"{mean:{sign}.{digits}f} ± {sd:.{digits}f}"

    rows = [["algorithm", "pT-miss resolution", "vs PUPPI", "jet pT resolution", "vs PUPPI",
             "median response pT-miss", "median response jets", "jet efficiency"]]
    for name in stats:
        gains = [f"{100 * (1 - stats[name][m][0] / stats[REFERENCE][m][0]):+.0f}%" for m in RESOLUTIONS]
        rows.append([DOCS_NAMES.get(name, name), spread("met_resolution", name), gains[0],
                     spread("jet_resolution", name), gains[1], spread("met_median_response", name, 2, "+"),
                     spread("jet_median_response", name, 2, "+"), spread("jet_efficiency", name, 2)])
    return rows


def _report(title: str, per_seed: list[dict], summary_path: Path, args: argparse.Namespace,
            docs_csv: Path | None) -> None:
    """Print a process's table over the seeds and its goal lines, write its summary (and the docs' CSV)."""
    import csv
    import io

    table, stats = spread_table(per_seed)
    print(f"\n{title}; mean ± std over seeds {args.seeds}\n{table}")
    print("\n".join(goal_lines(stats)))
    write_text_atomic(summary_path, json.dumps({"args": vars(args), "stats": stats, "per_seed": per_seed}, indent=1,
                                       default=str))
    if docs_csv is not None:
        table_csv = io.StringIO(newline="")
        csv.writer(table_csv).writerows(docs_table_rows(stats))
        write_text_atomic(docs_csv, table_csv.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mu", type=float, default=140.0)
    parser.add_argument("--train-events", type=int, default=150)
    parser.add_argument("--eval-events", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--teacher-epochs", type=int, default=10)
    parser.add_argument("--out", default="bench_runs/pileup")
    parser.add_argument("--calibrate", action="store_true",
                        help="calibrate every algorithm's jets (and pT-miss, type 1) on the training events")
    parser.add_argument("--second-process", default=None, metavar="PROCESS",
                        help="also judge every seed's teacher and students on --eval-events independent events "
                             "of this hard process (e.g. ttbar_dilep)")
    parser.add_argument("--docs-csv", type=Path, default=None, metavar="FILE",
                        help="also write the table over seeds as CSV for the docs (the second process's "
                             "beside it, FILE's stem + _PROCESS)")
    parser.add_argument("--pt-weighted-students", action="store_true",
                        help="train the students with each particle weighted by its pT in the loss "
                             "(distillation.particle_weighting: pt; runs seedN/NAME_ptweighted)")
    parser.add_argument("--students", nargs="+", choices=(*STUDENTS, HGQ_STUDENT), default=list(STUDENTS),
                        help=f"the students trained and judged (default: {' and '.join(STUDENTS)})")
    parser.add_argument("--puppi-raw-weight", action="store_true",
                        help="give the students PUPPI's weight before its neutral cuts as a 17th input "
                             "(inputs.puppi_raw_weight; runs seedN/NAME_raw)")
    parser.add_argument("--students-also-train-on", default="", metavar="PROCESS",
                        help="train the students on --students-extra-events independent events of this hard process "
                             "too, labelled by the same teacher (trained on the first process alone; runs "
                             "seedN/NAME_plus_PROCESS)")
    parser.add_argument("--students-extra-events", type=int, default=1000,
                        help="how many events of --students-also-train-on the students add (default 1000)")
    parser.add_argument("--students-loss", choices=("mse", "bce"), default="",
                        help="the students' loss to the teacher's weights instead of their config's MAE "
                             "(distillation.regression_loss; runs seedN/NAME_LOSS)")
    parser.add_argument("--charged-from-vertex", action="store_true",
                        help="judge the teacher and students with every charged particle weighted by its vertex "
                             "association (PUPPI's charged weight: 1 if |dz| < dz_cut), their learned weights on "
                             "the neutrals only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = Path(args.out)
    train_path, train, evaluation = training_and_evaluation_events(out, args.mu, args.train_events,
                                                                   args.eval_events)
    second = (None if args.second_process is None
              else second_process_events(out, args.second_process, args.mu, args.eval_events))
    calibrate_on = train if args.calibrate else None
    variant = Variant(args.pt_weighted_students, args.charged_from_vertex, args.puppi_raw_weight,
                      args.students_also_train_on, args.students_loss)
    students_path, students_data = train_path, lambda: train
    if args.students_also_train_on:
        students_path = students_training_events(out, train_path, args.students_also_train_on, args.mu,
                                                 args.students_extra_events)
        # read (and its PUPPI computed: about 2 minutes) once, and only if a student trains
        from fpgakd.learn.pileup.events import load_pileup_data

        students_data = functools.cache(lambda: load_pileup_data(students_path))
    per_seed, per_seed_second = [], []
    for i, seed in enumerate(args.seeds):
        seed_dir = out / f"seed{seed}"
        teacher = _teacher(train, train_path, seed_dir / "teacher", seed, args.teacher_epochs)
        runs = {name: _student_run(name, students_data, students_path, teacher,
                                   seed_dir / f"{name}{variant.students_tag}", seed, variant) for name in args.students}
        per_seed.append(evaluate_seed(seed_dir, teacher, runs, evaluation, plots=i == 0, calibrate_on=calibrate_on,
                                      variant=variant))
        if second is not None:
            per_seed_second.append(evaluate_seed(seed_dir, teacher, runs, second, plots=i == 0,
                                                 calibrate_on=calibrate_on, process=args.second_process,
                                                 variant=variant))
        print(f"seed {seed} done")
    _report(f"mu {args.mu:g}: trained on {args.train_events} events, judged on {evaluation.events.n_events} "
            f"independent events", per_seed, out / result_name(f"summary{variant.tag}", args.calibrate), args,
            args.docs_csv)
    if second is not None:
        second_csv = (None if args.docs_csv is None
                      else args.docs_csv.with_name(f"{args.docs_csv.stem}_{args.second_process}.csv"))
        _report(f"{args.second_process}, mu {args.mu:g}: the same models judged on {second.events.n_events} "
                f"independent events", per_seed_second,
                out / result_name(f"summary_{args.second_process}{variant.tag}", args.calibrate), args, second_csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
