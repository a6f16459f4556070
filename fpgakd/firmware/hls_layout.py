"""Find the HLS project in a directory and choose which C-synthesis report stands for it.

Projects are found by looking, not by one constructed path. Three kinds are recognised:

- an hls4ml project: ``project.tcl`` names the project and backend; the HLS project is
  ``<name>_prj/`` (Vivado, Vitis and VivadoAccelerator backends; ``vitis-run --tcl`` keeps
  this layout). Accelerator backends wrap the core ``<name>`` in a top ``<name>_axi``.
- a bare Vivado HLS / Vitis HLS project: a directory holding ``vivado_hls.app`` or
  ``hls.app`` (the directory given, or one of its subdirectories); the top is the .app's
  ``top`` attribute, the solutions are listed in it.
- a Vitis unified-IDE HLS component (``v++ -c --mode hls``, Vitis 2023.2 and later): a
  directory holding ``vitis-comp.json`` and/or ``hls_config.cfg``; the top is ``syn.top``
  in the config, reports are under ``<work_dir>/hls/syn/report``.

A solution's reports are listed (``syn/report/*_csynth.xml``); the top's report is
preferred, the core's is used with a note when the top has none. Of several solutions the
one marked active in the .app is taken, else the newest; a note names it and the others.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from fpgakd.errors import DataError

__all__ = ["HlsProject", "CsynthChoice", "locate_project", "choose_csynth_report", "describe_search"]

_TOOL_BY_APP = {"vivado_hls.app": "vivado_hls", "hls.app": "vitis_hls"}
_COMPONENT_FILES = ("vitis-comp.json", "hls_config.cfg")
#: a C-synthesis report is named after the function it covers
_CSYNTH_SUFFIX = "_csynth.xml"
_REPORT_DIR = Path("syn") / "report"
#: hls4ml's accelerator backends name the wrapper around the core ``<name>`` like this
_ACCELERATOR_SUFFIX = "_axi"


@dataclass
class HlsProject:
    """An HLS project found in ``root``; solutions and reports may not exist yet."""

    root: Path
    project_file: Path
    tool: str | None
    top: str
    core: str | None = None
    solutions: list[Path] = field(default_factory=list)
    active: str | None = None  # solution the project file marks active

    @property
    def looked_for(self) -> str:
        names = [f"{self.top}{_CSYNTH_SUFFIX}"] + ([f"{self.core}{_CSYNTH_SUFFIX}"] if self.core else [])
        return " or ".join(names)


@dataclass(frozen=True)
class CsynthChoice:
    """The C-synthesis report chosen for a project, and why."""

    solution: Path
    function: str
    xml: Path
    notes: tuple[str, ...]


# ----------------------------------------------------------------- project files
def _read_app(app: Path) -> ET.Element:
    try:
        text = app.read_text()
    except OSError as err:
        raise DataError(f"{app}: cannot read HLS project file ({err.strerror})") from None
    # Same namespace workaround as hls4ml: two flavours of .app exist.
    text = re.sub(r' xmlns="[^"]+"', "", text, count=1)
    try:
        return ET.fromstring(text)
    except ET.ParseError as err:
        raise DataError(f"{app}: not valid XML ({err})") from None


def _find_app(prj_dir: Path) -> Path | None:
    return next((prj_dir / n for n in _TOOL_BY_APP if (prj_dir / n).is_file()), None)


def _tcl_value(tcl: Path, text: str, key: str) -> str:
    match = re.search(rf'set\s+{key}\s+"([^"]+)"', text)
    if match is None:
        raise DataError(f"{tcl}: no 'set {key} \"...\"' line (not an hls4ml project.tcl?)")
    return match.group(1)


def _cfg_value(cfg: Path, key: str) -> str | None:
    """``key=value`` from a Vitis config file (sections ignored: keys are unique enough)."""
    try:
        text = cfg.read_text(errors="replace")
    except OSError as err:
        raise DataError(f"{cfg}: cannot read ({err.strerror})") from None
    match = re.search(rf"^\s*{re.escape(key)}\s*=\s*(\S+)", text, flags=re.MULTILINE)
    return match.group(1) if match else None


# ----------------------------------------------------------------- the three kinds
def _solutions_of_app(prj_dir: Path, app: ET.Element) -> tuple[list[Path], str | None]:
    """Solution directories: those the .app lists, plus any other holding a report directory."""
    listed = app.findall("solutions/solution")
    names = [s.get("name") for s in listed if s.get("name")]
    active = next((s.get("name") for s in listed if s.get("status") == "active"), None)
    found = [prj_dir / n for n in names if (prj_dir / n).is_dir()]
    found += [d for d in sorted(prj_dir.iterdir()) if d.is_dir() and d not in found
              and (d / _REPORT_DIR).is_dir()]
    return found, active


def _from_app(root: Path, prj_dir: Path, app: Path, top: str | None = None,
              core: str | None = None, tool: str | None = None) -> HlsProject:
    parsed = _read_app(app)
    if top is None:
        top = parsed.get("top")
        if not top:
            raise DataError(f"{app}: attribute 'top' (the top function) is missing")
        # the project is usually named after the core: <core>_prj around a top <core>_axi
        name = parsed.get("name", "").removesuffix("_prj")
        core = name if name and name != top else None
    solutions, active = _solutions_of_app(prj_dir, parsed)
    return HlsProject(root, app, tool or _TOOL_BY_APP[app.name], top, core, solutions, active)


def _from_project_tcl(root: Path, tcl: Path) -> HlsProject:
    text = tcl.read_text(errors="replace")
    name = _tcl_value(tcl, text, "project_name")
    backend = _tcl_value(tcl, text, "backend").lower()
    accelerator = "accelerator" in backend
    top = name + _ACCELERATOR_SUFFIX if accelerator else name
    prj_dir = root / f"{name}_prj"
    app = _find_app(prj_dir) if prj_dir.is_dir() else None
    tool = "vitis_hls" if backend.startswith("vitis") else "vivado_hls"
    if app is None:  # not built yet: the project is known, its solutions are not
        return HlsProject(root, tcl, tool, top, name if accelerator else None)
    return _from_app(root, prj_dir, app, top, name if accelerator else None, tool)


def _from_component(root: Path, comp: Path) -> HlsProject:
    """A Vitis unified HLS component: top from hls_config.cfg, reports under <work_dir>/hls."""
    manifest, cfg = comp / _COMPONENT_FILES[0], comp / _COMPONENT_FILES[1]
    work_dir = None
    if manifest.is_file():
        try:
            work_dir = json.loads(manifest.read_text()).get("configuration", {}).get("work_dir")
        except (OSError, json.JSONDecodeError, AttributeError) as err:
            raise DataError(f"{manifest}: not a readable component file ({err})") from None
    top = _cfg_value(cfg, "syn.top") if cfg.is_file() else None
    if not top:
        raise DataError(f"{cfg}: no 'syn.top=' line (the top function)")
    work_dirs = [comp / work_dir] if work_dir else [d for d in sorted(comp.iterdir()) if d.is_dir()]
    solutions = [d / "hls" for d in work_dirs if (d / "hls").is_dir()]
    return HlsProject(root, manifest if manifest.is_file() else cfg, "vitis_hls", top, None, solutions)


def _candidates(root: Path) -> list[tuple[Path, str]]:
    """(directory, kind) of every HLS project in root or one level below it."""
    found = []
    for d in [root] + [c for c in sorted(root.iterdir()) if c.is_dir()]:
        if _find_app(d):
            found.append((d, "app"))
        elif any((d / n).is_file() for n in _COMPONENT_FILES):
            found.append((d, "component"))
    return found


def locate_project(root: Path) -> HlsProject | None:
    """The HLS project in ``root`` (hls4ml, Vivado/Vitis HLS or Vitis component), or None.

    >>> locate_project(Path("tests/data/vivado_hls_2020.1_xc7z020")).top   # doctest: +SKIP
    'myproject'
    """
    tcl = root / "project.tcl"
    if tcl.is_file():
        return _from_project_tcl(root, tcl)
    candidates = _candidates(root)
    if not candidates:
        return None
    if len(candidates) > 1:
        raise DataError(f"{root}: several HLS projects found ({', '.join(str(c) for c, _ in candidates)}); "
                        "point at one of them")
    prj_dir, kind = candidates[0]
    return _from_app(root, prj_dir, _find_app(prj_dir)) if kind == "app" else _from_component(root, prj_dir)


# ----------------------------------------------------------------- choosing a report
def _reports_in(solution: Path) -> dict[str, Path]:
    """Function name -> its C-synthesis report, for every report in the solution."""
    return {p.name[: -len(_CSYNTH_SUFFIX)]: p
            for p in sorted((solution / _REPORT_DIR).glob(f"*{_CSYNTH_SUFFIX}"))}


def _newest(solutions: list[Path]) -> Path:
    return max(solutions, key=lambda s: (s / _REPORT_DIR).stat().st_mtime
               if (s / _REPORT_DIR).is_dir() else s.stat().st_mtime)


def _choose_solution(project: HlsProject) -> tuple[Path, list[str]]:
    sols = project.solutions
    if len(sols) == 1:
        return sols[0], []
    by_name = {s.name: s for s in sols}
    if project.active in by_name:
        chosen, why = by_name[project.active], f"marked active in {project.project_file.name}"
    else:
        chosen, why = _newest(sols), "the newest"
    others = ", ".join(s.name for s in sols if s != chosen)
    return chosen, [f"{len(sols)} solutions in {chosen.parent}; using '{chosen.name}' ({why}); "
                    f"not used: {others}"]


def choose_csynth_report(project: HlsProject) -> CsynthChoice | None:
    """The report of the top (else of the core, with a note); None if no solution has reports.

    Raises :class:`~fpgakd.errors.DataError` listing what was found when reports exist but
    none is the top's or the core's.

    >>> choose_csynth_report(project).function     # doctest: +SKIP
    'myproject'
    """
    if not project.solutions:
        return None
    solution, notes = _choose_solution(project)
    reports = _reports_in(solution)
    if not reports:
        return None
    if project.top in reports:
        return CsynthChoice(solution, project.top, reports[project.top], tuple(notes))
    if project.core in reports:
        notes.append(f"no C-synthesis report of the top function '{project.top}' in "
                     f"{solution / _REPORT_DIR}; using the core '{project.core}' "
                     f"({reports[project.core].name}), which leaves out the wrapper")
        return CsynthChoice(solution, project.core, reports[project.core], tuple(notes))
    raise DataError(f"{project.root}: no C-synthesis report fits: {describe_search(project)}")


def describe_search(project: HlsProject) -> str:
    """What was looked for and what was found, for error messages.

    >>> describe_search(project)        # doctest: +SKIP
    "project file .../vivado_hls.app (top 'myproject'); looked for myproject_csynth.xml in ..."
    """
    core = f", core '{project.core}'" if project.core else ""
    text = f"project file {project.project_file} (top '{project.top}'{core}); looked for {project.looked_for}"
    if not project.solutions:
        return text + f" in <solution>/{_REPORT_DIR}, but no solution directory exists"
    found = []
    for sol in project.solutions:
        names = ", ".join(p.name for p in _reports_in(sol).values()) or "no *_csynth.xml"
        found.append(f"{sol / _REPORT_DIR}: {names}")
    return text + "; found " + "; ".join(found)
