"""The ``fpgakd`` command: thin argument parsing over the library, one subcommand per stage.

Each subcommand parses its options, calls one library function and prints what it
returns. Every :class:`~fpgakd.errors.FpgakdError` becomes a one-line message on stderr
and exit status 1. An interrupted run -- Ctrl-C (SIGINT, exit 130) or SIGTERM (what ``kill``,
batch systems and containers send; exit 143) -- unwinds like an exception, so temporary
outputs are removed and worker processes stopped: nothing half-written is left. A signal
that lands while C code runs a Python callback (numba compiling da4ml's solver) is sent again
a moment later, since the exception raised there is only printed (:func:`stopped_by_signals`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from fpgakd import __version__
from fpgakd.errors import FpgakdError

__all__ = ["main", "build_parser", "stopped_by_signals", "Terminated"]

log = logging.getLogger("fpgakd")

DEFAULT_MODEL = "constituent_mlp"
DEFAULT_RUNS_DIR = Path("runs")
DEFAULT_HLS_ROOT = Path("hls_projects")
DEFAULT_STUDIES_DIR = DEFAULT_RUNS_DIR / "studies"
#: exit status of a run stopped by a signal: 128 + the signal number, as shells report it
_EXIT_SIGINT = 128 + signal.SIGINT
_EXIT_SIGTERM = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM turned into an exception, so that it unwinds like Ctrl-C (cleanup included)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


#: seconds after which a signal that a C callback swallowed is sent again
_REDELIVERY_DELAY_S = 0.05


def _redeliver_swallowed_interrupt(unraisable: Any, previous: Callable[[Any], None]) -> None:
    """A ``sys.unraisablehook``: an interrupt raised inside a C callback (numba's cache notice
    to LLVM, a ctypes callback) is only printed there, and the run would go on as if never
    stopped; send the signal again, from a thread a moment later, so that it lands outside
    the callback. Anything else goes to the ``previous`` hook."""
    if not issubclass(unraisable.exc_type, KeyboardInterrupt):
        previous(unraisable)
        return
    signum = signal.SIGTERM if issubclass(unraisable.exc_type, Terminated) else signal.SIGINT
    timer = threading.Timer(_REDELIVERY_DELAY_S, os.kill, (os.getpid(), signum))
    timer.daemon = True
    timer.start()


@contextlib.contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` (Ctrl-C raises KeyboardInterrupt, as always) inside
    the block, also where a C callback swallowed the first one; both handlers restored after.

    >>> with stopped_by_signals():
    ...     pass
    """
    previous_handler = signal.signal(signal.SIGTERM, _raise_terminated)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(_redeliver_swallowed_interrupt, previous=previous_hook)
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        if signal.getsignal(signal.SIGTERM) is _raise_terminated:
            signal.signal(signal.SIGTERM, previous_handler)


# ------------------------------------------------------------------ subcommands
def _cmd_generate(args: argparse.Namespace) -> int:
    from fpgakd.jets.generate import generate_jets
    from fpgakd.jets.options import GenerationOptions

    if args.benchmark:
        from fpgakd.jets.benchmark import benchmark_jets_dir

        path = benchmark_jets_dir(progress=not args.quiet, workers=args.workers,
                                  engine="dask" if args.dask else "processes", scheduler=args.scheduler)
        print(f"benchmark set (150,000 jets): {path}")
        return 0
    if not args.output:
        raise FpgakdError("give an output file (-o FILE), or --benchmark for the cached benchmark set")

    options = GenerationOptions(
        jets_per_class=args.jets_per_class, seed=args.seed, pt_min=args.pt_min,
        pt_max=args.pt_max, jet_r=args.jet_r, smearing=not args.no_smearing,
        n_constituents=args.n_constituents, workers=args.workers, mpi=not args.no_mpi,
    )
    summary = generate_jets(args.output, options, progress=not args.quiet,
                            engine="dask" if args.dask else "processes", scheduler=args.scheduler)
    print(summary.format_table())
    print(f"wrote {args.output}")
    from fpgakd.jets.loading import load_jets
    from fpgakd.jets.jetfile import array_hashes

    output = Path(args.output)
    jets = load_jets(output)
    print("content hashes (SHA-256 of each array's bytes, first 16 hex digits): "
          + "  ".join(f"{name}={digest}" for name, digest in array_hashes(jets).items()))
    if not args.no_plot:
        from fpgakd.jets.jetplots import plot_feature_distributions

        plot = plot_feature_distributions(jets, output.with_name(f"{output.stem}_features.png"))
        print(f"wrote {plot} (groomed mass, multiplicity, D2, C2 per class)")
    return 0


def _cmd_events(args: argparse.Namespace) -> int:
    from fpgakd.jets.events.generate import events_cache_path, generate_events
    from fpgakd.jets.events.options import PileupOptions

    options = PileupOptions(process=args.process, mu=args.mu, n_events=args.events, seed=args.seed,
                            library_size=args.library_size, sigma_z=args.sigma_z,
                            smearing=not args.no_smearing, pythia_settings=tuple(args.pythia or ()),
                            workers=args.workers)
    output = Path(args.output) if args.output else events_cache_path(options)
    summary = generate_events(output, options, progress=not args.quiet)
    print(summary.format_table())
    print(f"wrote {output}")
    if not args.no_plot:
        from fpgakd.jets.events.eventfile import load_events
        from fpgakd.jets.events.eventplots import plot_event_overview

        plot = plot_event_overview(load_events(output), output.with_name(f"{output.stem}_overview.png"))
        print(f"wrote {plot} (pileup per event; pT, |dz| and eta of hard-scatter and pileup particles)")
    return 0


def _jets_or_default(path: str | None, quiet: bool) -> Path:
    if path:
        return Path(path)
    from fpgakd.jets.loading import default_jets_path

    jets = default_jets_path(progress=not quiet)
    log.info("using the embedded default dataset %s", jets)
    return jets


def _cmd_teacher(args: argparse.Namespace) -> int:
    if args.events:
        return _cmd_pileup_teacher(args)
    from fpgakd.config import load_teacher_config
    from fpgakd.learn.teacher import train_teacher

    config = load_teacher_config(args.config) if args.config else None
    jets = _jets_or_default(args.jets, args.quiet)
    out = train_teacher(jets, args.output or DEFAULT_RUNS_DIR / "teacher", config=config, arch=args.arch,
                        epochs=args.epochs, seed=args.seed, n_folds=args.folds, progress=not args.quiet,
                        workers=args.workers)
    print(f"teacher written to {out}")
    return 0


def _refuse_jet_options(args: argparse.Namespace, options: dict[str, object]) -> None:
    given = [name for name, value in options.items() if value]
    if given:
        raise FpgakdError(f"{', '.join(given)}: not for --events (jet data only)")


def _cmd_pileup_teacher(args: argparse.Namespace) -> int:
    import json

    from fpgakd.config import load_pileup_teacher_config
    from fpgakd.learn.pileup.teacher import TEACHER_JSON, train_pileup_teacher

    _refuse_jet_options(args, {"--jets": args.jets, "--arch": args.arch, "--folds": args.folds,
                               "--workers": args.workers})
    config = load_pileup_teacher_config(args.config or "pileup_edgeconv")
    out = train_pileup_teacher(args.events, args.output or DEFAULT_RUNS_DIR / "pileup_teacher",
                               config=config, epochs=args.epochs, seed=args.seed, progress=not args.quiet)
    test = json.loads((out / TEACHER_JSON).read_text())["test"]
    for name in ("teacher", "puppi"):
        if name in test:
            print(f"{name:8s} test particles: accuracy {test[name]['accuracy']:.3f}, AUC {test[name]['auc']:.3f}")
    print(f"pileup teacher written to {out}")
    return 0


def _cmd_distill(args: argparse.Namespace) -> int:
    from fpgakd.config import load_model_config
    from fpgakd.learn.distillation import distill
    from fpgakd.learn.metrics import format_summary_table

    if args.events:
        return _cmd_distill_particles(args)
    from fpgakd.firmware.rtl.jit_warmup import start_jit_warmup

    model_cfg = load_model_config(args.model)
    # synth comes next: its da4ml solver compiles meanwhile, on the cycles training leaves idle
    start_jit_warmup()
    jets = _jets_or_default(args.jets, args.quiet)
    run_dir = Path(args.run_dir) if args.run_dir else DEFAULT_RUNS_DIR / model_cfg.name
    metrics = distill(model_cfg, jets, run_dir, teacher_path=args.teacher,
                      compare_scratch=not args.no_scratch, progress=not args.quiet)
    print(format_summary_table(metrics))
    print(f"run directory: {run_dir}")
    return 0


def _cmd_distill_particles(args: argparse.Namespace) -> int:
    from fpgakd.config import load_model_config
    from fpgakd.learn.pileup.student import distill_particles
    from fpgakd.learn.pileup.metrics import format_particle_table, run_verdict_table

    _refuse_jet_options(args, {"--jets": args.jets, "--no-scratch": args.no_scratch})
    if args.teacher and len(args.teacher) > 1:
        raise FpgakdError("--teacher: one pileup teacher directory with --events (no ensembles)")
    model_cfg = load_model_config(args.model)
    run_dir = Path(args.run_dir) if args.run_dir else DEFAULT_RUNS_DIR / model_cfg.name
    metrics = distill_particles(model_cfg, args.events, run_dir,
                                teacher_path=args.teacher[0] if args.teacher else None,
                                progress=not args.quiet)
    print(format_particle_table(metrics))
    print(run_verdict_table(run_dir))
    print(f"run directory: {run_dir}")
    return 0


def _latest_run(runs_dir: Path) -> Path:
    from fpgakd.learn.rundir import student_file

    candidates = [p.parent for p in runs_dir.glob(f"*/{student_file('kd')}")]
    if not candidates:
        raise FpgakdError(f"{runs_dir}: no distill run found (run `fpgakd distill` first, "
                          "or pass a run directory or a model file)")
    return max(candidates, key=lambda p: (p / student_file("kd")).stat().st_mtime)


def _cmd_synth(args: argparse.Namespace) -> int:
    from fpgakd.config import load_firmware_config
    from fpgakd.firmware.synth import synthesize_run
    from fpgakd.firmware.report_table import format_report_table

    firmware = load_firmware_config(args.firmware_config)
    source = Path(args.source) if args.source else _latest_run(DEFAULT_RUNS_DIR)
    report = synthesize_run(source, firmware=firmware, part=args.part, hls_root=args.hls_root,
                            name=args.name, n_jets=args.n_jets, inputs=args.inputs,
                            allow_tolerance=args.allow_tolerance, rtl=False if args.no_rtl else None,
                            output=args.output, progress=not args.quiet)
    print(format_report_table([report]))
    print(f"HLS project: {report['project']}")
    return 0


def _cmd_scan(args: argparse.Namespace) -> int:
    from fpgakd.scan.pareto import format_front_table
    from fpgakd.scan.table import read_results

    if args.show:
        print(format_front_table(read_results(args.show, must_exist=True)))
        return 0
    if not args.config:
        raise FpgakdError("give a scan YAML (fpgakd scan SCAN.yaml) or --show DIR")
    from fpgakd.scan.run import run_scan

    summary = run_scan(args.config, args.output, scheduler=args.scheduler, workers=args.workers,
                       progress=not args.quiet)
    print(format_front_table(read_results(summary.scan_dir)))
    print(f"{summary.n_points} points: {summary.n_skipped} already done, {summary.n_run} run, "
          f"{summary.n_failed} failed, in {summary.seconds:.0f} s")
    print(f"table: {summary.table} (and results.csv); fronts: {summary.plot}")
    return 0


def _study_setup(args: argparse.Namespace, kind: str) -> tuple[object, Path, Path]:
    """A study's config (``--config``, else ``studies/<kind>.yaml``), jet file and output folder."""
    from fpgakd.studies.spec import load_study_config

    cfg = load_study_config(args.config or kind, kind=kind)
    out = Path(args.output) if args.output else DEFAULT_STUDIES_DIR / cfg.name
    return cfg, _jets_or_default(args.jets, args.quiet), out


def _cmd_study_boost(args: argparse.Namespace) -> int:
    from fpgakd.studies.boost import format_boost_table, run_boost_study

    cfg, jets, out = _study_setup(args, "boost")
    runs = args.run or [DEFAULT_RUNS_DIR / DEFAULT_MODEL]
    results = run_boost_study(cfg, jets, runs, out, teacher_path=args.teacher,
                              augmented_teacher=args.augmented_teacher, progress=not args.quiet)
    print(format_boost_table(results))
    print(f"study directory: {out} (results.json, boost.png)")
    return 0


def _cmd_study_degraded(args: argparse.Namespace) -> int:
    from fpgakd.studies.degraded_distillation import format_degraded_table, run_degraded_study

    cfg, jets, out = _study_setup(args, "degraded")
    run = Path(args.run) if args.run else DEFAULT_RUNS_DIR / DEFAULT_MODEL
    results = run_degraded_study(cfg, jets, run, out, teacher_path=args.teacher, progress=not args.quiet)
    print(format_degraded_table(results))
    print(f"study directory: {out} (results.json, degraded.png)")
    return 0


def _cmd_study_pileup(args: argparse.Namespace) -> int:
    from fpgakd.learn.pileup.verdict import format_verdict_table
    from fpgakd.studies.pileup import run_pileup_study
    from fpgakd.studies.spec import load_study_config

    cfg = load_study_config(args.config or "pileup", kind="pileup")
    out = Path(args.output) if args.output else DEFAULT_STUDIES_DIR / cfg.name
    results = run_pileup_study(cfg, args.runs, out, progress=not args.quiet)
    print(format_verdict_table(results["verdict"]))
    print(f"study directory: {out} (results.json, responses.png, weights.png)")
    return 0


def _cmd_study_transfer(args: argparse.Namespace) -> int:
    from fpgakd.studies.transfer import run_transfer_study
    from fpgakd.studies.transfer_plot import format_transfer_table

    cfg, jets, out = _study_setup(args, "transfer")
    results = run_transfer_study(cfg, jets, out, source_jets=args.source_jets, progress=not args.quiet)
    print(format_transfer_table(results))
    print(f"study directory: {out} (results.json, transfer.png, student/) in {results['seconds']:.0f} s")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from fpgakd.config import load_firmware_config
    from fpgakd.firmware.report_schema import write_reports_json
    from fpgakd.firmware.report_table import format_report_table, plot_resources_vs_accuracy
    from fpgakd.firmware.reports import read_project_report

    firmware = load_firmware_config(args.firmware_config)
    reports = [read_project_report(p, firmware=firmware) for p in args.projects]
    print(format_report_table(reports))
    if args.json:
        write_reports_json(reports, args.json)
        print(f"wrote {args.json}")
    if args.plot:
        plot_resources_vs_accuracy(reports, args.plot)
        print(f"wrote {args.plot}")
    return 0


# ------------------------------------------------------------------ parser
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _add_data_commands(sub: "argparse._SubParsersAction") -> None:
    """Add the data stage's subcommands to ``sub``: generate (jets, the benchmark set), events (pileup)."""
    p = sub.add_parser("generate", help="generate jets with Pythia 8 + FastJet into one HDF5 file")
    p.add_argument("-o", "--output", help="output HDF5 file")
    p.add_argument("--benchmark", action="store_true",
                   help="generate (or resume) the cached 150,000-jet benchmark set and print its directory; "
                        "the jet options below do not apply")
    p.add_argument("--jets-per-class", type=_positive_int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pt-min", type=float, default=900.0, help="jet pT window, GeV")
    p.add_argument("--pt-max", type=float, default=1100.0, help="jet pT window, GeV")
    p.add_argument("--jet-r", type=float, default=0.8, help="anti-kT radius")
    p.add_argument("--n-constituents", type=_positive_int, default=64,
                   help="constituents stored per jet (pT-ordered, zero-padded)")
    p.add_argument("--no-smearing", action="store_true", help="switch the detector response off")
    p.add_argument("--no-mpi", action="store_true",
                   help="switch Pythia's multiparton interactions (underlying event) off: about 2x faster, "
                        "about 8 fewer particles per jet")
    p.add_argument("--workers", type=_positive_int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--dask", action="store_true",
                   help="run the chunks as Dask tasks on a local cluster of --workers processes (same arrays)")
    p.add_argument("--scheduler", help="run the chunks on the Dask cluster at this address, e.g. tcp://host:8786")
    p.add_argument("--no-plot", action="store_true",
                   help="skip the per-class feature plot written next to the output (<name>_features.png)")
    p.set_defaults(func=_cmd_generate)

    from fpgakd.jets.events.options import PROCESSES, PileupOptions

    d = PileupOptions()  # the defaults, said once
    p = sub.add_parser("events", help="generate events with pileup (a hard process + Poisson(mu) minimum-bias "
                                      "interactions, 14 TeV) into one HDF5 event file")
    p.add_argument("-o", "--output", help="output event file (default: the cache, "
                                          "$FPGAKD_CACHE/events_<process>_mu<mu>_<hash>.h5, printed at the end)")
    p.add_argument("--process", default=d.process,
                   help=f"hard process: {', '.join(PROCESSES)} (default {d.process})")
    p.add_argument("--mu", type=float, default=d.mu, help=f"mean pileup interactions per event (default {d.mu:g})")
    p.add_argument("--events", type=int, default=d.n_events, help=f"events to generate (default {d.n_events})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"seed of the hard events and overlays (default {d.seed})")
    p.add_argument("--library-size", type=int, default=d.library_size,
                   help=f"minimum-bias events in the cached overlay library (default {d.library_size})")
    p.add_argument("--sigma-z", type=float, default=d.sigma_z,
                   help=f"vertex spread along the beam, cm (default {d.sigma_z:g})")
    p.add_argument("--no-smearing", action="store_true", help="switch the per-particle detector response off")
    p.add_argument("--pythia", action="append", metavar="SETTING",
                   help="extra Pythia setting for the hard process, repeatable, e.g. 'PhaseSpace:pTHatMin = 50'")
    p.add_argument("--workers", type=_positive_int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--no-plot", action="store_true",
                   help="skip the overview plot written next to the output (<name>_overview.png)")
    p.set_defaults(func=_cmd_events)


def _add_learning_commands(sub: "argparse._SubParsersAction") -> None:
    """Add the learning stage's subcommands to ``sub``: teacher, distill (jets or events)."""
    p = sub.add_parser("teacher", help="train a permutation-invariant teacher on jet constituents "
                                       "(or, with --events, the pileup teacher on whole events)")
    p.add_argument("--jets", help="jet file (default: the embedded default dataset)")
    p.add_argument("--events", help="event file with pileup (fpgakd events): train DistillNet's "
                                    "event-level pileup teacher on its truth flags instead")
    p.add_argument("-o", "--output", default=None,
                   help=f"teacher directory (default {DEFAULT_RUNS_DIR / 'teacher'}, "
                        f"with --events {DEFAULT_RUNS_DIR / 'pileup_teacher'})")
    p.add_argument("--config", help="teacher definition: a name under teachers/ or a YAML path "
                                    "(keys of fpgakd.config.TeacherConfig, with --events of "
                                    "PileupTeacherConfig, default pileup_edgeconv; options below override it)")
    p.add_argument("--arch", choices=("deepsets", "attention", "edgeconv"), default=None,
                   help="teacher architecture (default deepsets)")
    p.add_argument("--epochs", type=_positive_int, default=None, help="training epochs (default 100, early stopping on validation)")
    p.add_argument("--folds", type=_positive_int, default=None,
                   help="train one model per fold for out-of-fold soft targets (default 3; 1 = a single model)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="processes training the fold models side by side (default: one per fold and 2 cores; "
                        "the weights do not depend on it)")
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=_cmd_teacher)

    p = sub.add_parser("distill", help="train a QKeras or HGQ student with knowledge distillation (and its scratch twin)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"student: a name under models/ or a YAML path (default {DEFAULT_MODEL})")
    p.add_argument("--jets", help="jet file (default: the embedded default dataset)")
    p.add_argument("--events", help="event file with pileup: train a per-particle student (--model "
                                    "distillnet or qdistillnet) on the pileup teacher's soft weights")
    p.add_argument("--teacher", action="append",
                   help="teacher: a directory from `fpgakd teacher`, a Keras model file, or a distill run "
                        "directory (a teacher assistant); repeat for an ensemble (mean of the members' "
                        "logits, distillation.ensemble_mean); default: the model's distillation.teachers, "
                        "else the default teacher (shipped for the default dataset, else trained once into the "
                        "cache); with --events: one pileup teacher directory")
    p.add_argument("--run-dir", help="output directory (default runs/<model name>)")
    p.add_argument("--no-scratch", action="store_true", help="skip the comparison student trained without the teacher")
    p.set_defaults(func=_cmd_distill)


def _add_synth_command(sub: "argparse._SubParsersAction") -> None:
    from fpgakd.learn.rundir import CONFIG_FILE

    """Add ``synth`` (HLS project, C-simulation, RTL, report) to ``sub``."""
    p = sub.add_parser("synth", help="convert a student with hls4ml, check C-simulation against Keras, report resources")
    p.add_argument("source", nargs="?", help="distill run directory or student .h5 (default: the latest run under runs/)")
    p.add_argument("--part", default=None, help="FPGA part or alias, e.g. xcvu13p (default from the firmware config)")
    p.add_argument("--firmware-config", default="vu13p_240mhz", help="name under firmware_configs/ or a YAML path")
    p.add_argument("--name", help="project name under hls_projects/ (default: from the model)")
    p.add_argument("--hls-root", default=str(DEFAULT_HLS_ROOT))
    p.add_argument("--n-jets", type=_positive_int, default=None, help="held-out jets for C-simulation (default from config)")
    p.add_argument("--inputs", help="standardized inputs .npy for a bare model file")
    p.add_argument("--allow-tolerance", type=float, default=None,
                   help="accept firmware logits within this |difference| of Keras instead of bit-exact")
    p.add_argument("--no-rtl", action="store_true",
                   help="skip the RTL flow (da4ml Verilog, Verilator check, Yosys counts)")
    p.add_argument("--output", choices=("linear", "sigmoid"), default=None,
                   help=f"what follows the student's logit in firmware (default: the run's {CONFIG_FILE}, else linear)")
    p.set_defaults(func=_cmd_synth)


def _add_scan_command(sub: "argparse._SubParsersAction") -> None:
    """Add ``scan`` (many students on Dask) to ``sub``."""
    p = sub.add_parser("scan", help="accuracy vs firmware cost of many students, KD and scratch, on Dask")
    p.add_argument("config", nargs="?", help="scan YAML (see scans/example.yaml)")
    p.add_argument("-o", "--output", help="scan directory (default scans/<name>); a rerun resumes it")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786 "
                                       "(default: a local cluster)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="local cluster: worker processes of one thread (default: all cores)")
    p.add_argument("--show", metavar="DIR", help="print the Pareto fronts of a scan directory and exit")
    p.set_defaults(func=_cmd_scan)


def _add_study_commands(sub: "argparse._SubParsersAction") -> None:
    from fpgakd.learn.rundir import METRICS_FILE, WEIGHTS_FILE

    """Add ``study`` and one subcommand per study kind to ``sub``."""
    p = sub.add_parser("study", help="studies of trained teachers and students (see studies/*.yaml)")
    studies = p.add_subparsers(dest="study", required=True, metavar="STUDY")
    p = studies.add_parser("boost", help="accuracy of teacher and students on Lorentz-boosted test jets")
    p.add_argument("--config", help="study YAML: a name under studies/ or a path (default boost)")
    p.add_argument("--run", action="append", metavar="DIR",
                   help=f"distill run directory, repeatable (default {DEFAULT_RUNS_DIR / DEFAULT_MODEL})")
    p.add_argument("--teacher", help="teacher directory (default: the first run's teacher/)")
    p.add_argument("--augmented-teacher", action="store_const", const=True, default=None,
                   help="also the second experiment: a teacher trained on boosted jets and alpha=0 students "
                        "(augmented_teacher.enabled in the YAML; 5 min on the default data, 1 min once its teacher is cached)")
    p.add_argument("--jets", help="the runs' jet file (default: the embedded default dataset)")
    p.add_argument("-o", "--output", help=f"study directory (default {DEFAULT_STUDIES_DIR}/<name>)")
    p.set_defaults(func=_cmd_study_boost)
    p = studies.add_parser("degraded", help="KD against scratch for students on degraded inputs, teacher on full ones")
    p.add_argument("--config", help="study YAML: a name under studies/ or a path (default degraded)")
    p.add_argument("--run", help=f"distill run whose student config and teacher are used (default {DEFAULT_RUNS_DIR / DEFAULT_MODEL})")
    p.add_argument("--teacher", help="teacher directory (default: the run's teacher/)")
    p.add_argument("--jets", help="the run's jet file (default: the embedded default dataset)")
    p.add_argument("-o", "--output", help=f"study directory (default {DEFAULT_STUDIES_DIR}/<name>)")
    p.set_defaults(func=_cmd_study_degraded)
    p = studies.add_parser("pileup", help="pT-miss and jet resolution of PUPPI, the teacher and particle "
                                          "students against the no-pileup truth (DistillNet)")
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help=f"particle distill run directory ({METRICS_FILE}, {WEIGHTS_FILE}); runs share test events")
    p.add_argument("--config", help="study YAML: a name under studies/ or a path (default pileup)")
    p.add_argument("-o", "--output", help=f"study directory (default {DEFAULT_STUDIES_DIR}/<name>)")
    p.set_defaults(func=_cmd_study_pileup)
    p = studies.add_parser("transfer", help="teacher pre-trained on another pT window, fine-tuned vs from scratch on fractions of the data")
    p.add_argument("--config", help="study YAML: a name under studies/ or a path (default transfer)")
    p.add_argument("--jets", help="target jet file (default: the embedded default dataset)")
    p.add_argument("--source-jets", help="source-window jet file (default: generated from the study's "
                   "source keys, cached)")
    p.add_argument("-o", "--output", help=f"study directory (default {DEFAULT_STUDIES_DIR}/<name>)")
    p.set_defaults(func=_cmd_study_transfer)


def _add_report_command(sub: "argparse._SubParsersAction") -> None:
    """Add ``report`` (read and compare HLS projects) to ``sub``."""
    p = sub.add_parser("report", help="read, compare and plot HLS project reports")
    p.add_argument("projects", nargs="+", help="project directories (fpgakd's or any hls4ml / Vivado HLS project)")
    p.add_argument("--firmware-config", default="vu13p_240mhz", help="for part resource totals")
    p.add_argument("--json", help="also write the reports as JSON here")
    p.add_argument("--plot", help="also plot resources and latency against accuracy (PNG)")
    p.set_defaults(func=_cmd_report)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``fpgakd`` (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(
        prog="fpgakd",
        description="Distil a jet-tagging teacher into a quantized, pruned student and hls4ml firmware.")
    parser.add_argument("--version", action="version", version=f"fpgakd {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, warnings only")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_data_commands(sub)
    _add_learning_commands(sub)
    _add_synth_command(sub)
    _add_scan_command(sub)
    _add_study_commands(sub)
    _add_report_command(sub)
    return parser


def _configure_logging(quiet: bool, verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    # fpgakd's own messages at the chosen level; other libraries' only when they warn.
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="fpgakd: %(levelname)s: %(name)s: %(message)s" if verbose
                        else "%(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("fpgakd").setLevel(level)
    # TensorFlow's C++ banner and Keras's deprecation chatter (legacy HDF5 saving, which
    # fpgakd uses on purpose: QKeras reloads it) would drown the messages users need.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not verbose:
        warnings.filterwarnings("ignore", category=UserWarning, module=r"keras(\.|$)")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fpgakd`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.quiet, args.verbose)
    try:
        with stopped_by_signals():
            return args.func(args)
    except FpgakdError as err:
        print(f"fpgakd {args.command}: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader (head, less) went away: not an error of ours, and nothing more to say
        sys.stderr.close()
        return 0
    except KeyboardInterrupt as err:
        # a second signal during cleanup would leave temporaries behind: ignore it now
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        name = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
        # a scan's table is rewritten atomically per point: what finished stays, nothing half-written
        kept = "finished points stay in the table" if args.command == "scan" else "no partial output was kept"
        print(f"fpgakd {args.command}: {name}; {kept}", file=sys.stderr)
        return _EXIT_SIGTERM if isinstance(err, Terminated) else _EXIT_SIGINT


if __name__ == "__main__":
    sys.exit(main())
