"""fpgakd.firmware.reports on a real Vivado HLS 2020.1 report set laid out as an hls4ml project."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from fpgakd.config import FirmwareConfig
from fpgakd.errors import DataError
from fpgakd.firmware.report_schema import (FPGAKD_REPORT_NAME, new_report, read_reports_json,
                                           write_reports_json)
from fpgakd.firmware.report_table import format_report_table, plot_resources_vs_accuracy
from fpgakd.firmware.reports import read_project_report

FIXTURE = Path(__file__).parent / "data" / "vivado_hls_2020.1_xc7z020"
CSYNTH_XML = Path("myproject_prj/solution1/syn/report/myproject_csynth.xml")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the fixture: an hls4ml project synthesized by Vivado HLS 2020.1."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "myproject"))


def test_csynth_and_logic_synthesis_numbers(project: Path) -> None:
    r = read_project_report(project)
    assert r["source"] == "csynth"
    assert r["part"] == "xc7z020-clg400-1"
    assert (r["hls_tool"], r["hls_tool_version"]) == ("vivado_hls", "2020.1")
    assert r["clock_ns"] == 5.0 and r["estimated_clock_ns"] == 4.049
    assert r["latency_cycles"] == {"min": 10, "max": 10}
    assert r["latency_ns"] == {"min": 50.0, "max": 50.0}
    assert r["ii"] == {"min": 8, "max": 8}
    assert r["resources"] == {"LUT": 2532, "FF": 7969, "DSP": 73, "BRAM_18K": 0, "URAM": 0}
    logic = r["logic_synthesis"]["resources"]
    assert (logic["LUT"], logic["FF"], logic["DSP"], logic["BRAM_18K"]) == (1526, 2428, 66, 0)
    # xc7z020 is not in the config's part list: utilization against the report's own totals
    assert r["available"]["DSP"] == 220
    assert r["utilization_pct"]["DSP"] == pytest.approx(100 * 73 / 220, abs=1e-3)
    assert r["utilization_pct"]["URAM"] is None  # 0 available on this part


def test_utilization_prefers_the_config_part_totals(project: Path) -> None:
    fw = FirmwareConfig(name="z", part_resources={"xc7z020-clg400-1": {
        "LUT": 1000, "FF": 2000, "DSP": 100, "BRAM_18K": 10, "URAM": 0}})
    r = read_project_report(project, firmware=fw)
    assert r["utilization_pct"]["DSP"] == 73.0
    assert r["logic_synthesis"]["utilization_pct"]["LUT"] == pytest.approx(152.6)


def test_table_side_by_side(project: Path, tmp_path: Path) -> None:
    other = Path(shutil.copytree(FIXTURE, tmp_path / "other"))
    (other / "project.tcl").unlink()  # a bare Vivado HLS project, no hls4ml project.tcl
    (other / FPGAKD_REPORT_NAME).write_text(json.dumps({
        **new_report(source="estimate", resources={"LUT": 1}),
        "csim": {"n_jets": 1000, "bit_exact": True, "max_abs_diff": 0.0, "n_values": 5000,
                 "testbench": {"n_different": 0}, "bridge": {"n_different": 2}},
        "accuracy": {"accuracy": 0.75},
    }))
    reports = [read_project_report(project), read_project_report(other)]
    assert reports[1]["source"] == "csynth"  # the tool's numbers replace the estimate
    assert reports[1]["estimate"]["resources"]["LUT"] == 1
    assert reports[1]["csim"]["bit_exact"] is True
    table = format_report_table(reports)
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("| project"))
    assert "myproject" in header and "other [csynth]" in header and "other [estimate]" in header
    for text in ("xc7z020-clg400-1", "vivado_hls 2020.1", "4.049", "csynth", "2532", "7969", "73",
                 "1526", "2428", "66"):
        assert text in table, text
    row = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
           for line in lines if line.startswith("|")}
    # one column per source: the estimate the tool's numbers replaced keeps its own column
    assert row["source"] == ["csynth", "csynth", "ESTIMATE (no synthesis)"]
    assert row["latency (cycles)"] == ["10", "10", "-"]
    assert row["latency (ns)"] == ["50", "50", "-"]
    assert row["II (cycles)"] == ["8", "8", "-"]
    assert row["LUT"][0] == "2532 (4.76%)" and row["LUT"][2] == "1"
    assert row["logic synth DSP"] == ["66 (30%)", "66 (30%)", "-"]
    assert row["csim bit-exact"] == ["-", "yes", "yes"]
    assert row["csim jets"] == ["-", "1000", "1000"]
    assert row["csim values differing"] == ["-", "testbench 0 / bridge 2 of 5000", "testbench 0 / bridge 2 of 5000"]
    assert row["accuracy"] == ["-", "0.75", "0.75"]


def test_json_round_trip(project: Path, tmp_path: Path) -> None:
    reports = [read_project_report(project)]
    path = write_reports_json(reports, tmp_path / "out" / "reports.json")
    assert read_reports_json(path) == reports
    assert [p.name for p in path.parent.iterdir()] == ["reports.json"]  # no temporary left behind


def test_estimate_only_project(tmp_path: Path) -> None:
    report = new_report(source="estimate", part="xcvu13p-flga2577-2-e", clock_ns=4.167,
                        latency_cycles=(6, 6), ii=(1, 1), resources={"LUT": 2379, "DSP": 6},
                        available={"LUT": 1728000, "DSP": 12288})
    (tmp_path / FPGAKD_REPORT_NAME).write_text(json.dumps(report))
    r = read_project_report(tmp_path)
    assert r["source"] == "estimate" and r["resources"]["LUT"] == 2379
    assert r["project"] == str(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=str(tmp_path / "nope")):
        read_project_report(tmp_path / "nope")


def test_foreign_layout_says_what_was_looked_for(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a project")
    with pytest.raises(DataError, match="project.tcl") as err:
        read_project_report(tmp_path)
    assert str(tmp_path) in str(err.value) and FPGAKD_REPORT_NAME in str(err.value)


def test_corrupt_xml_names_the_file(project: Path) -> None:
    xml = project / CSYNTH_XML
    xml.write_text(xml.read_text()[:500])
    with pytest.raises(DataError, match="not valid XML") as err:
        read_project_report(project)
    assert str(xml) in str(err.value)


def test_xml_missing_a_field_names_it(project: Path) -> None:
    xml = project / CSYNTH_XML
    xml.write_text(xml.read_text().replace("<Interval-max>8</Interval-max>", ""))
    with pytest.raises(DataError, match="Interval-max"):
        read_project_report(project)


def test_corrupt_own_report(tmp_path: Path) -> None:
    (tmp_path / FPGAKD_REPORT_NAME).write_text("{not json")
    with pytest.raises(DataError, match=FPGAKD_REPORT_NAME):
        read_project_report(tmp_path)


def test_reader_does_not_print(project: Path, capsys: pytest.CaptureFixture) -> None:
    read_project_report(project)
    assert capsys.readouterr().out == ""


def test_plot(project: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with_acc = dict(read_project_report(project), accuracy=0.76, name="a")
    other = dict(with_acc, accuracy={"accuracy": 0.74}, name="b")
    without = dict(with_acc, accuracy=None, name="c")
    with caplog.at_level(logging.WARNING, logger="fpgakd.firmware.reports"):
        path = plot_resources_vs_accuracy([with_acc, other, without], tmp_path / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "c: no accuracy" in caplog.text
    with pytest.raises(DataError, match="none of the 1 reports"):
        plot_resources_vs_accuracy([without], tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_unsynthesized_hls4ml_project_says_what_is_missing(project: Path) -> None:
    shutil.rmtree(project / "myproject_prj")
    (project / "vivado_synth.rpt").unlink()
    with pytest.raises(DataError, match="no synthesis results") as err:
        read_project_report(project)
    assert "myproject_csynth.xml" in str(err.value)
