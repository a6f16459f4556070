"""The CLI turns library errors into one clear line and a non-zero exit."""

from pathlib import Path

import pytest

from fpgakd.cli import build_parser, main


def test_every_stage_has_a_subcommand() -> None:
    parser = build_parser()
    for command in ("generate", "teacher", "distill", "synth", "report"):
        assert parser.parse_args([command] + (["-o", "x.h5"] if command == "generate" else [])
                                 + (["prj"] if command == "report" else [])).command == command


def test_impossible_generation_options_exit_nonzero(tmp_path: Path, capsys) -> None:
    out = tmp_path / "jets.h5"
    with pytest.raises(SystemExit) as info:
        main(["generate", "-o", str(out), "--jets-per-class", "-5"])
    assert info.value.code == 2
    assert "--jets-per-class" in capsys.readouterr().err
    assert main(["-q", "generate", "-o", str(out), "--pt-min", "1100", "--pt-max", "900"]) == 1
    err = capsys.readouterr().err
    assert "pt_min" in err or "pt-min" in err
    assert not out.exists()


def test_bad_model_config_names_the_key(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\npruning: {target_sparsity: 2}\n")
    assert main(["-q", "distill", "--model", str(bad), "--jets", str(tmp_path / "none.h5")]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "pruning.target_sparsity" in err


def test_missing_jet_file_is_named(tmp_path: Path, capsys) -> None:
    assert main(["-q", "distill", "--jets", str(tmp_path / "missing.h5")]) == 1
    assert "missing.h5" in capsys.readouterr().err


def test_report_on_a_missing_project_fails_cleanly(tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path / "no_such_project")]) == 1
    assert "no_such_project" in capsys.readouterr().err


def test_synth_without_any_run_says_what_to_do(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "synth", "--part", "xcvu13p"]) == 1
    assert "fpgakd distill" in capsys.readouterr().err
