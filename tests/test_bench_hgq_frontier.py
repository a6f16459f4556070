"""The HGQ frontier benchmark keeps the rows of an earlier formatted table when their runs are gone."""

import pandas as pd
import pytest

from helpers.benchmarks import load_benchmark

#: two rows in the formatted table's layout (docs/results/hgq_frontier.csv)
EARLIER = """student,epochs,mode,accuracy,seeds,EBOPs,Yosys LUT,LUT seeds,cycles,DSP,W / Z / t rej @30%
hybrid_hgq beta 0.0001,120,kd,65.0 ± 0.2,3,797,760,3,3,0,609 / 362 / 179
hybrid_hgq beta 3e-06,40,kd,69.7 (1 seed),1,"16,566","15,411",1,5,0,"1,020 / 850 / 480"
"""


def _script():
    return load_benchmark("bench_hgq_frontier")


def test_earlier_rows_read_back_into_the_same_formatted_table(tmp_path):
    script = _script()
    (tmp_path / "earlier.csv").write_text(EARLIER)
    rows = script.earlier_rows(tmp_path / "earlier.csv")
    first = rows.iloc[0]
    assert (first["model"], first["student.quantization.beta"], first["mode"]) == ("hybrid_hgq", 1e-4, "kd")
    assert abs(first["accuracy"] - 0.650) < 1e-12 and abs(first["accuracy_std"] - 0.002) < 1e-12
    assert first["LUT"] == 760 and first["latency_cycles"] == 3 and first["resource_source"] == "rtl"
    assert pd.isna(rows.iloc[1]["accuracy_std"]) and rows.iloc[1]["LUT"] == 15411
    assert script.docs_table(rows).to_csv(index=False) == EARLIER
    # a table from before the LUT was averaged over seeds: its LUT is one seed's
    older = EARLIER.replace(",LUT seeds", "").replace(",760,3,", ",760,").replace('"15,411",1,', '"15,411",')
    (tmp_path / "older.csv").write_text(older)
    assert list(script.earlier_rows(tmp_path / "older.csv")["lut_seeds"]) == [1, 1]


def test_the_lut_is_the_mean_of_the_seeds_that_ran_the_rtl_flow():
    script = _script()
    keys = {"model": "hlf_hgq", "student.quantization.beta": 1e-5, "student.training.epochs": 40, "mode": "kd",
            "status": "ok", "ebops": 100.0, "ii": 1, "csim": "bit-exact", "DSP": 0}
    seeds = [(0, 0.60, 1000.0, "rtl", 3), (1, 0.62, 1400.0, "rtl", 4), (2, 0.64, 900.0, "model", 3)]
    rows = pd.DataFrame([{**keys, "student.training.seed": s, "accuracy": a, "LUT": lut, "resource_source": source,
                          "latency_cycles": cycles} for s, a, lut, source, cycles in seeds])
    (row,) = script._firmware_over_seeds(rows, list(keys)[:4]).reset_index().to_dict("records")
    assert (row["LUT"], row["lut_seeds"], row["latency_cycles"], row["resource_source"]) == (1200.0, 2, 4, "rtl")


def test_a_row_measured_again_replaces_the_earlier_one(tmp_path):
    script = _script()
    (tmp_path / "earlier.csv").write_text(EARLIER)
    earlier = script.earlier_rows(tmp_path / "earlier.csv")
    again = earlier.iloc[[0]].assign(accuracy=0.66, LUT=600.0)
    merged = script.with_earlier_rows(again, earlier)
    assert len(merged) == 2
    row = merged[merged["student.quantization.beta"] == 1e-4].iloc[0]
    assert row["accuracy"] == 0.66 and row["LUT"] == 600


def test_earlier_rows_without_an_initiation_interval_still_meet_the_named_goals(tmp_path):
    script = _script()
    (tmp_path / "earlier.csv").write_text(EARLIER)
    earlier = script.earlier_rows(tmp_path / "earlier.csv").assign(accuracy=[0.662, 0.697])
    # a row measured now carries the II column, which the earlier table does not keep
    now = earlier.iloc[[0]].assign(**{"student.training.epochs": 200, "LUT": 900.0, "accuracy": 0.64, "ii": 1.0})
    table = script.with_earlier_rows(now, earlier)
    front = pd.DataFrame([{"student": "hybrid 16", "mode": "scratch", "accuracy": 0.62, "LUT": 2800.0}])
    lines = script.goal_check(table, front)
    assert "QKeras hybrid 16 scratch 62.0% at 2,800 LUT: cheapest as accurate: hybrid_hgq beta 0.0001 kd 66.2% " \
           "at 760 LUT (0.27 of it)" in lines
    assert any(line.startswith("goal >= 66.0% at <= 3,000 LUT") and ": met (" in line for line in lines), lines
    too_slow = table.assign(latency_cycles=7)
    assert any(line.startswith("goal >= 66.0% at <= 3,000 LUT") and ": not met (" in line
               for line in script.goal_check(too_slow, front))


#: two rows in bench_hgq_particles.py's layout (docs/results/hgq_particles.csv)
PARTICLES = """student,particles,particle features,per-particle network,head,beta,epochs,KD T / alpha,KD (%),\
scratch (%),KD - scratch,EBOPs KD / scratch,Yosys LUT KD / scratch,cycles KD,W rej @30% (KD),t rej @30% (KD)
Deep Sets + HLF,16,7,16-16,32-16,3e-06,120,T 2 / alpha 0.2,70.5 (1 seed),70.0 (1 seed),+0.4,"10,492 / 7,046",\
"9,293 (model) / 6,705",-,"1,045","667"
hybrid MLP,4,3,-,48-32-32,0.0002,120,T 2 / alpha 0.5,55.0 (1 seed),-,-,"444 / -","543 / -",3,"233","232"
"""


def test_the_particle_students_count_in_the_goal_check_where_yosys_gave_their_lut(tmp_path):
    script = _script()
    (tmp_path / "particles.csv").write_text(PARTICLES)
    rows = script.particle_rows(tmp_path / "particles.csv")
    # the KD twin of the first row has the cost model's LUT, the scratch twin of the second did not run
    assert list(zip(rows["model"], rows["mode"], rows["accuracy"], rows["LUT"])) == [
        ("Deep Sets + HLF 16 x 16-16 / 32-16 (7 features)", "scratch", 0.70, 6705.0),
        ("hybrid MLP 48-32-32 (3 features)", "kd", 0.55, 543.0)]
    front = pd.DataFrame([{"student": "hybrid 64-32-32", "mode": "kd", "accuracy": 0.70, "LUT": 28613.0}])
    assert "(met at 1 of 1 points)" in script.goal_check(rows, front)[-3]


@pytest.mark.parametrize("name, written", [("bench_hgq_frontier", "hgq_frontier.csv"),
                                           ("bench_hgq_sweep", "hgq_sweep.csv")])
def test_a_table_that_is_not_the_formatted_one_is_named_in_one_line(tmp_path, capsys, name, written):
    bad = tmp_path / "frontier.csv"
    bad.write_text("student,accuracy\nhlf 16,62.7 ± 0.6\n")     # the QKeras table's layout, not this one's
    with pytest.raises(SystemExit) as stopped:
        load_benchmark(name).main(["--report-only", "--out", str(tmp_path), "--earlier-csv", str(bad)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"{bad}: not a formatted HGQ frontier table")
    assert not (tmp_path / written).exists()


def test_a_student_whose_widths_a_scan_changed_is_named_with_them():
    script = _script()
    assert script.sized_name("hybrid_hgq", "[48, 32, 32]") == "hybrid_hgq"
    assert script.sized_name("hlf_hgq", "[16]") == "hlf_hgq 16"
    assert script.sized_name("hlf_hgq", "[8, 4]") == "hlf_hgq 8-4"
    assert script.sized_name("hlf_hgq", "[]") == "hlf_hgq linear"
    assert script.recipe_suffix(1.9, "constant") == " clip 1.9"         # its twin without clip stays apart
    assert script.recipe_suffix(None, "cosine") == " cosine"
    assert script.recipe_suffix(None, None, 6) == " input floor 6"
    assert script.recipe_suffix(None, None, None, 2) == " hidden floor 2"


def test_the_plot_marks_each_qkeras_point_met_or_not_at_a_quarter_of_its_lut(tmp_path):
    script = _script()
    (tmp_path / "earlier.csv").write_text(EARLIER)
    (tmp_path / "particles.csv").write_text(PARTICLES)
    # an earlier table's rows (a spread over seeds) beside the particle table's (none): both drawn
    table = pd.concat([script.earlier_rows(tmp_path / "earlier.csv"),
                       script.particle_rows(tmp_path / "particles.csv")], ignore_index=True)
    front = pd.DataFrame([{"student": "hybrid 16", "family": "hybrid", "mode": "scratch", "accuracy": 0.64,
                           "LUT": 2800.0},
                          {"student": "hybrid 64-32-32", "family": "hybrid", "mode": "scratch", "accuracy": 0.698,
                           "LUT": 28436.0}])
    # 65.0% at 760 LUT is over a quarter of 2,800; 70.0% at 6,705 is under a quarter of 28,436
    assert script.quarter_matches(table, front)["met"].tolist() == [False, True]
    path = script.plot_frontier(table, front, tmp_path / "frontier.png")
    assert path.stat().st_size > 0
