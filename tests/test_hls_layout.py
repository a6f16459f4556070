"""fpgakd.firmware.hls_layout: finding projects and choosing their report, on real report files.

Fixtures (tests/data, each with its source and licence): an hls4ml Vivado-backend project
synthesized by Vivado HLS 2020.1, and a Vitis HLS 2024.2 unified-IDE component. Other
layouts (a bare .app project, an accelerator wrapper, several solutions) are those real
files rearranged the way the tools lay them out.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fpgakd.errors import DataError
from fpgakd.firmware.hls_layout import choose_csynth_report, locate_project
from fpgakd.firmware.reports import read_project_report

DATA = Path(__file__).parent / "data"
VIVADO = DATA / "vivado_hls_2020.1_xc7z020"
VITIS_COMPONENT = DATA / "vitis_2024.2_unified_xa7a100t"
REPORT_DIR = Path("syn/report")
VIVADO_RESOURCES = {"LUT": 2532, "FF": 7969, "DSP": 73, "BRAM_18K": 0, "URAM": 0}


@pytest.fixture
def hls4ml_project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(VIVADO, tmp_path / "hls4ml_prj"))


def _as_accelerator(project: Path) -> None:
    """hls4ml's VivadoAccelerator backend: the same project.tcl with backend VivadoAccelerator."""
    tcl = project / "project.tcl"
    tcl.write_text(tcl.read_text().replace('set backend "vivado"', 'set backend "vivadoaccelerator"'))


# ----------------------------------------------------------------- three layouts
def test_hls4ml_vivado_project(hls4ml_project: Path) -> None:
    r = read_project_report(hls4ml_project)
    assert (r["hls_tool"], r["hls_tool_version"], r["part"]) == ("vivado_hls", "2020.1", "xc7z020-clg400-1")
    assert r["latency_cycles"] == {"min": 10, "max": 10} and r["ii"] == {"min": 8, "max": 8}
    assert r["resources"] == VIVADO_RESOURCES
    assert r["notes"] == []


def test_bare_vivado_hls_project_one_level_down(tmp_path: Path) -> None:
    """No project.tcl: the .app is found by looking, its 'top' names the report."""
    root = tmp_path / "bare"
    shutil.copytree(VIVADO / "myproject_prj", root / "some_other_name")
    project = locate_project(root)
    assert project is not None and project.top == "myproject" and project.tool == "vivado_hls"
    r = read_project_report(root)
    assert r["latency_cycles"] == {"min": 10, "max": 10} and r["resources"] == VIVADO_RESOURCES
    assert r["logic_synthesis"] is None  # no vivado_synth.rpt in this copy


@pytest.mark.parametrize("where", [".", "hls_component"])
def test_vitis_unified_component(tmp_path: Path, where: str) -> None:
    """Vitis 2024.2 component: top from hls_config.cfg, report under <work_dir>/hls/syn/report."""
    root = Path(shutil.copytree(VITIS_COMPONENT, tmp_path / "vitis")) / where
    project = locate_project(root)
    assert project is not None and project.top == "fxp_sqrt_top"
    assert project.project_file.name == "vitis-comp.json"
    r = read_project_report(root)
    assert (r["hls_tool"], r["hls_tool_version"], r["part"]) == ("vitis_hls", "2024.2.2", "xa7a100t-csg324-1I")
    assert r["clock_ns"] == 10.0 and r["estimated_clock_ns"] == 5.924
    # the top's numbers, not the sub-function's (latency 32, II 30) lying next to it
    assert r["latency_cycles"] == {"min": 34, "max": 34} and r["ii"] == {"min": 35, "max": 35}
    assert r["resources"] == {"LUT": 568, "FF": 332, "DSP": 0, "BRAM_18K": 0, "URAM": 0}
    assert r["available"]["LUT"] == 63400


def test_vitis_component_without_manifest_searches_work_dirs(tmp_path: Path) -> None:
    root = Path(shutil.copytree(VITIS_COMPONENT / "hls_component", tmp_path / "comp"))
    (root / "vitis-comp.json").unlink()
    os.rename(root / "fxp_sqrt_top", root / "renamed_work_dir")
    r = read_project_report(root)
    assert r["latency_cycles"] == {"min": 34, "max": 34}


# ----------------------------------------------------------------- accelerator wrapper
def test_accelerator_prefers_the_top_report(hls4ml_project: Path) -> None:
    _as_accelerator(hls4ml_project)
    report_dir = hls4ml_project / "myproject_prj/solution1" / REPORT_DIR
    # the wrapper's report: the core's report with the wrapper's own numbers put in
    text = (report_dir / "myproject_csynth.xml").read_text()
    (report_dir / "myproject_axi_csynth.xml").write_text(
        text.replace("<Worst-caseLatency>10<", "<Worst-caseLatency>14<").replace("<LUT>2532<", "<LUT>2900<"))
    r = read_project_report(hls4ml_project)
    assert r["latency_cycles"] == {"min": 10, "max": 14} and r["resources"]["LUT"] == 2900
    assert r["notes"] == []


def test_accelerator_falls_back_to_the_core_with_a_note(hls4ml_project: Path) -> None:
    _as_accelerator(hls4ml_project)
    project = locate_project(hls4ml_project)
    assert (project.top, project.core) == ("myproject_axi", "myproject")
    r = read_project_report(hls4ml_project)
    assert r["resources"] == VIVADO_RESOURCES
    assert len(r["notes"]) == 1
    assert "'myproject_axi'" in r["notes"][0] and "'myproject'" in r["notes"][0]


# ----------------------------------------------------------------- several solutions
def _add_solution(project: Path, name: str, lut: int, status: str = "") -> None:
    prj = project / "myproject_prj"
    shutil.copytree(prj / "solution1", prj / name)
    xml = prj / name / REPORT_DIR / "myproject_csynth.xml"
    xml.write_text(xml.read_text().replace("<LUT>2532<", f"<LUT>{lut}<"))
    app = prj / "vivado_hls.app"
    app.write_text(app.read_text().replace(
        '<solution name="solution1" status=""/>',
        f'<solution name="solution1" status=""/>\n        <solution name="{name}" status="{status}"/>'))


def test_solution_marked_active_is_used_and_others_named(hls4ml_project: Path) -> None:
    _add_solution(hls4ml_project, "solution2", lut=3000, status="active")
    r = read_project_report(hls4ml_project)
    assert r["resources"]["LUT"] == 3000
    assert any("using 'solution2'" in n and "active" in n and "solution1" in n for n in r["notes"])


def test_newest_solution_is_used_when_none_is_active(hls4ml_project: Path) -> None:
    _add_solution(hls4ml_project, "solution2", lut=3000)
    old = hls4ml_project / "myproject_prj/solution2" / REPORT_DIR
    os.utime(old, (1_000_000_000, 1_000_000_000))  # solution2's reports are older than solution1's
    r = read_project_report(hls4ml_project)
    assert r["resources"]["LUT"] == 2532
    assert any("using 'solution1' (the newest)" in n and "solution2" in n for n in r["notes"])


def test_unlisted_solution_with_reports_is_found(hls4ml_project: Path) -> None:
    prj = hls4ml_project / "myproject_prj"
    os.rename(prj / "solution1", prj / "vitis_try")  # not listed in the .app
    project = locate_project(hls4ml_project)
    assert [s.name for s in project.solutions] == ["vitis_try"]
    assert choose_csynth_report(project).function == "myproject"


# ----------------------------------------------------------------- nothing fits
def test_nothing_fits_lists_what_was_found(hls4ml_project: Path) -> None:
    report_dir = hls4ml_project / "myproject_prj/solution1" / REPORT_DIR
    os.rename(report_dir / "myproject_csynth.xml", report_dir / "dense_latency_csynth.xml")
    with pytest.raises(DataError) as err:
        read_project_report(hls4ml_project)
    message = str(err.value)
    for text in ("no C-synthesis report fits", "vivado_hls.app", "myproject_csynth.xml",
                 str(report_dir), "dense_latency_csynth.xml"):
        assert text in message, text


def test_accelerator_nothing_fits_names_top_and_core(hls4ml_project: Path) -> None:
    _as_accelerator(hls4ml_project)
    report_dir = hls4ml_project / "myproject_prj/solution1" / REPORT_DIR
    (report_dir / "myproject_csynth.xml").unlink()
    (hls4ml_project / "vivado_synth.rpt").unlink()
    with pytest.raises(DataError, match="no synthesis results") as err:
        read_project_report(hls4ml_project)
    assert "myproject_axi_csynth.xml or myproject_csynth.xml" in str(err.value)
    assert f"{report_dir}: no *_csynth.xml" in str(err.value)


def test_component_without_reports_says_where_it_looked(tmp_path: Path) -> None:
    root = Path(shutil.copytree(VITIS_COMPONENT, tmp_path / "vitis"))
    shutil.rmtree(root / "hls_component/fxp_sqrt_top/hls" / REPORT_DIR)
    with pytest.raises(DataError, match="no synthesis results") as err:
        read_project_report(root)
    assert "fxp_sqrt_top_csynth.xml" in str(err.value) and "vitis-comp.json" in str(err.value)


def test_two_projects_side_by_side_are_refused(tmp_path: Path) -> None:
    shutil.copytree(VIVADO / "myproject_prj", tmp_path / "a_prj")
    shutil.copytree(VITIS_COMPONENT / "hls_component", tmp_path / "comp")
    with pytest.raises(DataError, match="several HLS projects") as err:
        read_project_report(tmp_path)
    assert "a_prj" in str(err.value) and "comp" in str(err.value)
