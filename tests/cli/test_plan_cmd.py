import json
import re

import pytest

from distillscale.cli import main
from distillscale.cli.app import err_console


def run(capsys, *args):
    code = main(["plan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_supervised_json_on_stdout_table_on_stderr(capsys, monkeypatch):
    monkeypatch.setattr(err_console, "width", 160)
    code, out, err = run(capsys, "--compute", "5.88e23", "--fit", "@besiroglu2024", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["mode"] == "supervised"
    assert doc["tokens_per_param"] == pytest.approx(18.33, abs=0.01)
    assert {"compute", "params", "tokens", "loss", "interval"} <= set(doc)
    assert "tokens per param" in err and "18.33" in err


def test_without_json_stdout_stays_empty(capsys):
    code, out, err = run(capsys, "--compute", "1e21")
    assert code == 0
    assert out == ""
    assert "compute-optimal" in err


def test_distillation_json_keys(capsys):
    code, out, _ = run(
        capsys,
        "--compute",
        "1e21",
        "--student-params",
        "546e6",
        "--scenario",
        "teacher-pretraining-inference",
        "--hardware",
        "h100",
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["mode"] == "distillation"
    assert doc["verdict"] == "supervised"
    assert doc["p_distill_wins"] is None
    assert set(doc["flops"]) == {"student", "teacher_inference", "teacher_pretraining"}
    assert doc["cost"]["device_hours"] == pytest.approx(1e21 / (989e12 * 0.4) / 3600, rel=1e-9)


def test_scenario_table_and_teachers(capsys, monkeypatch):
    monkeypatch.setattr(err_console, "width", 160)
    code, out, err = run(
        capsys, "--compute", "1e21", "--student-params", "546e6", "--scenario", "all", "--json"
    )
    assert code == 0
    assert [p["scenario"] for p in json.loads(out)["plans"]] == [
        "teacher-free",
        "teacher-inference",
        "teacher-pretraining",
        "teacher-pretraining-inference",
    ]
    assert "pretrain+inf" in err
    code, out, err = run(
        capsys, "--compute", "1e21", "--student-params", "546e6", "--teachers", "2.6,2.1,2.3"
    )
    assert code == 0 and "(best)" in err


def test_reverse_question(capsys):
    code, out, _ = run(
        capsys,
        "--target-loss",
        "2.4",
        "--student-params",
        "546e6",
        "--scenario",
        "teacher-inference",
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["mode"] == "compute-for-loss"
    assert doc["ratio"] < 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--compute", "-1e21"], "--compute"),
        (["--compute", "1e50"], "--compute"),
        (["--compute", "1e21", "--student-params", "546e6", "--fit", "@kaplan2020"], "kaplan"),
        (["--target-loss", "1.0"], "floor E"),
        (["--target-loss", "1.1", "--student-params", "1e9"], "floor E"),
        (["--compute", "1e21", "--teachers", "2.1,x", "--student-params", "1e9"], "--teachers"),
        (["--compute", "1e21", "--hardware", "h100", "--mfu", "2"], "--mfu"),
        (["--compute", "1e21", "--fit", "missing.json"], "missing.json"),
        (["--compute", "1e21", "--scenario", "nope", "--student-params", "1e9"], "nope"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, args, needle):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert needle in err


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--compute", "-1"], "--compute -1.0: not a positive FLOPs budget; give training FLOPs"),
        ([], "plan: neither a budget nor a target loss; give exactly one of --compute (a FLOPs"),
        (
            ["--compute", "1e21", "--students", "2"],
            "--students: only for distillation plans; add --student-params N_S",
        ),
        (
            ["--compute", "1e12", "--student-params", "1e9"],
            "; give --compute 7.36e+15 or more, or a smaller --student-params",
        ),
        (
            ["--compute", "1e21", "--student-params", "1e8", "--teacher-loss", "2"]
            + ["--scenario", "teacher-inference"],
            "--teacher-params: the scenario charges teacher inference, which needs the "
            "teacher's size; give --teacher-params or use --scenario teacher-free",
        ),
        (
            ["--compute", "1e21", "--student-params", "1e8", "--teachers", "2.1"]
            + ["--teacher-loss", "2"],
            "--teachers: both a list of teachers and one teacher are given; give either "
            "--teachers or one teacher, not both",
        ),
        (
            ["--compute", "1e21", "--student-params", "1e8", "--fit", "@hoffmann2022"],
            "use a distillation fit such as --fit @busbridge2025, or drop --student-params",
        ),
        (
            ["--compute", "1e21", "--student-params", "1e8", "--teachers", ","],
            "--teachers: the list is empty; give teacher losses in nats per token, e.g. "
            "--teachers 2.1,2.3,2.5",
        ),
        (["--compute", "1e21", "--mfu", "0.4"], "give --peak-flops, --mfu and --price-per-hour"),
        (["--target-loss", "1.23"], "--target-loss 1.23 nats/token is below 1.269"),
    ],
)
def test_plan_errors_name_flags_not_python_arguments(capsys, args, line):
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert line in " ".join(err.split())
    assert (
        re.search(r"\b(compute|student_params|teacher_\w+|teachers|scenario|students)=", err)
        is None
    )


def test_plot_writes_frontier(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "frontier.svg"
    code, _, err = run(
        capsys,
        "--compute",
        "1e21",
        "--student-params",
        "546e6",
        "--scenario",
        "teacher-free",
        "--plot",
        str(target),
    )
    assert code == 0
    text = target.read_text()
    assert text.startswith("<?xml") and "crossover" in text
    code, _, err = run(
        capsys, "--compute", "1e21", "--student-params", "546e6", "--plot", str(tmp_path / "x.pdf")
    )
    assert code == 2 and ".png or .svg" in err
