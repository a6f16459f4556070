#!/usr/bin/env python
"""Benchmark (not a test): where a DistillNet student's jets lose to its teacher's.

    python benchmarks/bench_pileup_where.py --out bench_runs/pileup_t1700 --process ttbar_dilep \\
        --pt-weighted-students --charged-from-vertex --puppi-raw-weight \\
        --students-also-train-on ttbar_dilep

Reads what ``bench_pileup.py`` left for one seed (the same flags name the same runs): its
teacher, its students and its evaluation events of one process. With the learned weights of
the charged particles replaced by their vertex association (``--charged-from-vertex``), the
students and the teacher differ on the particles without a track alone. Each student is judged
again with the teacher's weights put back on one class of those particles at a time (by pT,
beyond the tracker, photons, neutral hadrons, all of them): how much of the jet pT resolution
between the student and the teacher that class holds. Printed: the verdict's resolutions and
median responses per substitution, the gain over PUPPI and the share of the student's gap to
the teacher that it closes; the mean weight each algorithm gives the hard-scatter and the
pileup particles of each class. Written: ``seedN/where_PROCESS_TAG.json`` (reused when present),
the plot (``--figure``, else ``where_PROCESS_TAG.png`` beside the seed folders) and, with
``--docs-csv``, the table as CSV.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pileup import (REFERENCE, STUDENTS, Variant, algorithm_weights,  # noqa: E402
                          event_file_name)

from fpgakd.atomic import write_text_atomic  # noqa: E402

#: the pT bins (GeV) of the particles without a track inside the tracker
PT_EDGES = (1.0, 2.0, 5.0, 10.0)
#: the verdict's numbers kept per substitution
KEPT = ("met_resolution", "met_median_response", "jet_resolution", "jet_median_response", "jet_efficiency")
TEACHER = "teacher"
#: between a student's name and a class's in the name of a substitution
_SUBSTITUTED = " + teacher on "


def _pt_bin_names() -> list[str]:
    edges = [0.0, *PT_EDGES]
    bounded = [f"no track, pT {lo:g}-{hi:g} GeV" for lo, hi in zip(edges, edges[1:])]
    return bounded + [f"no track, pT > {edges[-1]:g} GeV"]


def particle_classes(particles: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Masks of the particles without a track: by pT inside the tracker, beyond the tracker,
    photons and neutral hadrons inside it, and all of them.

    >>> p = {"charge": np.array([0, 0, 1, 0]), "eta": np.array([0.0, 1.0, 0.5, 4.5]),
    ...      "pt": np.array([0.5, 7.0, 3.0, 2.0]), "pdg_id": np.array([22, 130, 211, 22]), "dz": np.zeros(4)}
    >>> {name: np.flatnonzero(m).tolist() for name, m in particle_classes(p).items() if m.any()}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'no track, pT 0-1 GeV': [0], 'no track, pT 5-10 GeV': [1], 'beyond the tracker': [3],
     'photons, no track': [0], 'neutral hadrons': [1], 'all without a track': [0, 1, 3]}
    """
    from fpgakd.jets.events.puppi import vertex_association
    from fpgakd.jets.events.puppi_config import PuppiConfig

    tracked, _ = vertex_association(particles)
    inside = np.abs(np.asarray(particles["eta"], np.float64)) < PuppiConfig().tracker_eta
    pt = np.asarray(particles["pt"], np.float64)
    neutral_inside = ~tracked & inside
    bins = np.digitize(pt, PT_EDGES)
    classes = {name: neutral_inside & (bins == i) for i, name in enumerate(_pt_bin_names())}
    photon = np.abs(np.asarray(particles["pdg_id"])) == 22
    classes.update({"beyond the tracker": ~inside, "photons, no track": neutral_inside & photon,
                    "neutral hadrons": neutral_inside & ~photon, "all without a track": ~tracked})
    return classes


def substitution_name(student: str, particle_class: str) -> str:
    """The verdict's name of ``student``'s weights with the teacher's on ``particle_class``.

    >>> substitution_name("qdistillnet", "neutral hadrons")
    'qdistillnet + teacher on neutral hadrons'
    """
    return f"{student}{_SUBSTITUTED}{particle_class}"


def substituted(student: str, weights: dict[str, np.ndarray], classes: dict[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
    """The student's weights with the teacher's on each class in turn, by :func:`substitution_name`.

    >>> w = {"teacher": np.array([1.0, 1.0]), "q": np.array([0.0, 0.5])}
    >>> substituted("q", w, {"first": np.array([True, False])})["q + teacher on first"].tolist()
    [1.0, 0.5]
    """
    return {substitution_name(student, name): np.where(mask, weights[TEACHER], weights[student]).astype(np.float32)
            for name, mask in classes.items()}


def gap_closed(student: float, substitution: float, teacher: float) -> float:
    """The share of the student's resolution gap to the teacher that a substitution closes.

    >>> gap_closed(0.5, 0.375, 0.25)
    0.5
    """
    return (student - substitution) / (student - teacher) if student != teacher else float("nan")


def class_weights(weights: dict[str, np.ndarray], classes: dict[str, np.ndarray], is_pileup: np.ndarray
                  ) -> dict[str, dict[str, list[float]]]:
    """Per class and algorithm: the mean weight of its hard-scatter and of its pileup particles."""
    def mean(w: np.ndarray, m: np.ndarray) -> float:
        return float(np.mean(w[m])) if m.any() else float("nan")
    return {name: {algo: [mean(w, mask & ~is_pileup), mean(w, mask & is_pileup)] for algo, w in weights.items()}
            for name, mask in classes.items()}


def judge_substitutions(data: Any, teacher: Path, runs: dict[str, Path], charged_from_vertex: bool) -> dict:
    """The verdict of PUPPI, the teacher, each student and each of its substitutions, and the class weights."""
    from fpgakd.learn.pileup.verdict import pileup_verdict

    weights = algorithm_weights(teacher, runs, data, charged_from_vertex)
    classes = particle_classes(data.events.particles)
    judged = {REFERENCE: weights[REFERENCE], TEACHER: weights[TEACHER]}
    for student in runs:
        judged[student] = weights[student]
        judged.update(substituted(student, weights, classes))
    verdict = pileup_verdict(data.events, judged, progress=True)
    return {"verdict": {name: {k: verdict[name][k] for k in KEPT} for name in verdict},
            "class_weights": class_weights(weights, classes, np.asarray(data.events.particles["is_pileup"])),
            "class_sizes": {name: int(mask.sum()) for name, mask in classes.items()}}


def _present(result: dict) -> list[str]:
    """The classes that hold particles (none lies beyond the tracker where it covers the acceptance)."""
    return [name for name, size in result["class_sizes"].items() if size]


def table_rows(result: dict, students: list[str]) -> list[list[str]]:
    """The table (header first): per student and substitution, the jet and pT-miss numbers."""
    v = result["verdict"]
    ref, teacher = v[REFERENCE]["jet_resolution"], v[TEACHER]["jet_resolution"]
    rows = [["weights", "jet pT resolution", "vs PUPPI", "gap to the teacher closed", "jet response",
             "pT-miss resolution", "pT-miss response"]]
    names = [REFERENCE, TEACHER]
    for student in students:
        names += [student] + [substitution_name(student, c) for c in _present(result)]
    for name in names:
        e = v[name]
        student, substitution, _ = name.partition(_SUBSTITUTED)
        closed = gap_closed(v[student]["jet_resolution"], e["jet_resolution"], teacher) if substitution else None
        rows.append([name, f"{e['jet_resolution']:.4f}", f"{100 * (1 - e['jet_resolution'] / ref):+.1f}%",
                     "" if closed is None else f"{100 * closed:.0f}%", f"{e['jet_median_response']:+.3f}",
                     f"{e['met_resolution']:.4f}", f"{e['met_median_response']:+.3f}"])
    return rows


def plot_where(result: dict, students: list[str], path: Path, events: str) -> Path:
    """Bars: each student's jet pT resolution gain over PUPPI on ``events`` (named in the title) with
    the teacher's weights on each class."""
    from fpgakd.figures import pyplot, save_figure

    v = result["verdict"]
    ref = v[REFERENCE]["jet_resolution"]
    gain = {name: 100 * (1 - e["jet_resolution"] / ref) for name, e in v.items()}
    classes = _present(result)
    fig, ax = pyplot().subplots(figsize=(12, 0.45 * len(classes) + 2))
    height = 0.8 / len(students)
    for i, student in enumerate(students):
        y = np.arange(len(classes)) + i * height
        ax.barh(y, [gain[substitution_name(student, c)] for c in classes], height, color=f"C{i}",
                label=f"{student} + teacher on the class")
        ax.axvline(gain[student], color=f"C{i}", linestyle="--", linewidth=1, label=f"{student} alone")
    ax.axvline(gain[TEACHER], color="k", linewidth=1, label="teacher")
    ax.axvline(0.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_yticks(np.arange(len(classes)) + 0.4 - height / 2, classes)
    ax.invert_yaxis()
    ax.set_xlabel("jet pT resolution gain over PUPPI (%)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"{events}: the student's weights, the teacher's on one class of particles without a track")
    fig.tight_layout()
    return save_figure(fig, path)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench_runs/pileup", help="bench_pileup.py's --out")
    parser.add_argument("--mu", type=float, default=140.0)
    parser.add_argument("--eval-events", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--process", default="", help="the evaluation events of this second process "
                                                      "(default: the first process's)")
    parser.add_argument("--students", nargs="+", default=list(STUDENTS))
    parser.add_argument("--pt-weighted-students", action="store_true")
    parser.add_argument("--charged-from-vertex", action="store_true")
    parser.add_argument("--puppi-raw-weight", action="store_true")
    parser.add_argument("--students-also-train-on", default="", metavar="PROCESS")
    parser.add_argument("--students-loss", choices=("mse", "bce"), default="")
    parser.add_argument("--docs-csv", type=Path, default=None, metavar="FILE")
    parser.add_argument("--figure", type=Path, default=None, metavar="PNG",
                        help="where the plot goes (default: where_PROCESS_TAG.png beside the seed folders)")
    return parser.parse_args(argv)


def _inputs(args: argparse.Namespace, variant: Variant) -> tuple[Path, Path, dict[str, Path]]:
    """The evaluation file, the teacher and the students' runs, each checked to exist."""
    out, seed_dir = Path(args.out), Path(args.out) / f"seed{args.seed}"
    events = out / event_file_name("eval", args.mu, args.eval_events, args.process)
    runs = {name: seed_dir / f"{name}{variant.students_tag}" for name in args.students}
    for path in (events, seed_dir / TEACHER, *runs.values()):
        if not path.exists():
            raise SystemExit(f"{path}: not found; run benchmarks/bench_pileup.py with the same flags first")
    return events, seed_dir / TEACHER, runs


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    variant = Variant(args.pt_weighted_students, args.charged_from_vertex, args.puppi_raw_weight,
                      args.students_also_train_on, args.students_loss)
    events, teacher, runs = _inputs(args, variant)
    tag = (f"_{args.process}" if args.process else "") + variant.tag
    done = Path(args.out) / f"seed{args.seed}" / f"where{tag}.json"
    cached = json.loads(done.read_text()) if done.is_file() else None
    if cached is not None and set(args.students) <= cached["verdict"].keys():
        result = cached
    else:   # none yet, or one that lacks a student asked for
        from fpgakd.learn.pileup.events import load_pileup_data

        result = judge_substitutions(load_pileup_data(events), teacher, runs, args.charged_from_vertex)
        write_text_atomic(done, json.dumps(result, indent=1))
    rows = table_rows(result, args.students)
    print("\n".join("  ".join(f"{c:>{48 if i == 0 else 12}}" for i, c in enumerate(row)) for row in rows))
    print("\nmean weight of the hard-scatter / pileup particles per class:")
    for name in _present(result):
        per_algo = result["class_weights"][name]
        print(f"{name:>32} ({result['class_sizes'][name]:,} particles): "
              + "  ".join(f"{a} {hs:.3f}/{pu:.4f}" for a, (hs, pu) in per_algo.items()))
    figure = args.figure or Path(args.out) / f"where{tag}.png"
    print(f"plot: {plot_where(result, args.students, figure, events.name)}")
    if args.docs_csv is not None:
        table = io.StringIO(newline="")
        csv.writer(table).writerows(rows)
        write_text_atomic(args.docs_csv, table.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
