"""``distillscale fit``: JSON artifact, output file, and one-line errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from distillscale.cli import main
from distillscale.fitting import load_fit

CHINCHILLA = Path(__file__).resolve().parents[2] / "examples/data/chinchilla.csv"
GADRE = Path(__file__).resolve().parents[2] / "examples/data/gadre2024.csv"


def _synthetic(tmp_path: Path, n: int = 30, name: str = "runs.csv") -> Path:
    rng = np.random.default_rng(0)
    params = 10 ** rng.uniform(7, 10, n)
    tokens = params * 10 ** rng.uniform(0.5, 2.5, n)
    loss = 1.8 + 480 / params**0.35 + 2100 / tokens**0.37
    path = tmp_path / name
    pd.DataFrame(
        {"run": [f"r{i}" for i in range(n)], "n_params": params, "tokens": tokens, "loss": loss}
    ).to_csv(path, index=False)
    return path


def _err_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    return " ".join(captured.err.split())


def test_fit_json_and_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _synthetic(tmp_path)
    out = tmp_path / "fit.json"
    code = main(
        [
            "fit",
            str(data),
            "--law",
            "chinchilla",
            "--map",
            "params=n_params",
            "--json",
            "-o",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    assert doc["schema"] == "distillscale.fit/1"
    assert doc["law"] == "chinchilla" and doc["n_points"] == 30
    assert doc["params"]["alpha"] == pytest.approx(0.35, rel=1e-3)
    assert doc["params"]["E"] == pytest.approx(1.8, rel=1e-3)
    for key in (
        "ci",
        "ci_level",
        "estimator",
        "delta",
        "objective",
        "diagnostics",
        "data_sha256",
        "version",
    ):
        assert key in doc
    assert load_fit(out).params == pytest.approx(doc["params"])
    assert "alpha" in captured.err  # the human table went to stderr


def test_fit_holdout_and_bootstrap(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "fit", str(CHINCHILLA), "--law", "chinchilla", "--where", "outlier == 0",
            "--train-where", "loss > 2.3", "--test-where", "loss <= 2.3",
            "--bootstrap", "20", "--seed", "1", "--ci", "0.8", "--json",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    assert doc["n_points"] == 218
    assert len(doc["holdout"]) == 22
    for row in doc["holdout"]:
        assert row["rel_error"] == pytest.approx(
            (row["predicted"] - row["observed"]) / row["observed"]
        )
        assert abs(row["rel_error"]) < 0.05
        lo, hi = row["prediction_interval"]
        assert row["inside"] == (lo <= row["observed"] <= hi)
    hit = sum(row["inside"] for row in doc["holdout"])
    assert f"80% prediction interval covers {hit} of 22 held-out runs" in captured.err
    assert doc["ci_level"] == 0.8
    assert np.asarray(doc["bootstrap_samples"]).shape == (20, 5)
    for name, (lo, hi) in doc["ci"].items():
        assert lo <= doc["params"][name] <= hi or name in ("A", "B")


def test_least_squares_reproduces_gadre_headline(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "fit", str(GADRE), "--law", "overtrain", "--estimator", "least-squares",
            "--where", "train_set == 'redpajama'", "--train-where", "fit_loss == 1",
            "--test-where", "params > 1e9 and fit_error == 0", "--json",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    assert doc["estimator"] == "least-squares" and doc["n_points"] == 5
    errors = {row["run"]: 100 * row["rel_error"] for row in doc["holdout"]}
    assert errors == {
        "rpj-open_lm_1b-32.0": pytest.approx(0.710, abs=0.005),
        "rpj-open_lm_7b-1.0": pytest.approx(0.732, abs=0.005),
    }
    assert "held out: 2 runs, mean |rel error| 0.721%, max 0.732%" in " ".join(captured.err.split())


def test_fix_holds_parameter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _synthetic(tmp_path)
    code = main(
        [
            "fit",
            str(data),
            "--law",
            "chinchilla",
            "--map",
            "params=n_params",
            "--fix",
            "E=1.8",
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["params"]["E"] == 1.8 and doc["fixed"] == {"E": 1.8}
    assert doc["params"]["beta"] == pytest.approx(0.37, rel=1e-3)


def test_bound_and_tie_are_applied_and_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _synthetic(tmp_path)
    args = ["fit", str(data), "--law", "chinchilla", "--map", "params=n_params", "--json"]
    code = main([*args, "--bound", "E=1.9:3", "--tie", "alpha=beta"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    assert doc["bounds"] == {"E": [1.9, 3.0]} and doc["ties"] == {"alpha": "beta"}
    assert doc["params"]["E"] == pytest.approx(1.9) and "E" in doc["diagnostics"]["at_bound"]
    assert doc["params"]["alpha"] == doc["params"]["beta"]
    assert "tied to beta" in captured.err and "E fitted at its lower bound 1.9" in captured.err
    # the warning's fixes are flags here; the artifact keeps the library's Python wording
    assert "fix E (--fix E=VALUE), or loosen --bound E=LO:HI if you set one" in captured.err
    assert "fixed=" not in captured.err and "bounds=" not in captured.err
    assert "fix E (fixed={'E': VALUE})" in doc["diagnostics"]["warnings"][0]


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        ("params,loss\n1e8,3.0\n", [], "missing required column(s) tokens"),
        # the library gives the place and a Python fix; the command line writes it as a flag
        ("params,loss\n1e8,3.0\n", [], "; map one with --map tokens=<your column>"),
        (
            "params,tokens,loss\n1e8,2e9,-3.0\n",
            [],
            "line 2, column 'loss': -3.0 is not positive; loss must be > 0 (held-out "
            "cross-entropy, nats per token); a loss in other units: pass --loss-unit bits or "
            "bpb; fix the value or pass --drop-invalid to skip rows",
        ),
        ("params,tokens,loss\n1e8,2e9,3.0\n1e8,abc,3.0\n", [], "pass --drop-invalid to skip"),
        (
            "params,tokens,loss\n1e8,2e9,3.0\n",
            ["--map", "params=nope"],
            "error: --map params=nope: ",
        ),
        ("params,tokens,loss\n1e8,2e9,3.0\n", ["--where", "loss > 9"], "--where '((loss > 9))' on"),
        ("params,tokens,loss\n1e8,2e9,3.0\n2e8,nan,2.9\n", [], "line 3"),
        ("params,tokens,loss\n1e8,2e9,3.0\n2e8,abc,2.9\n", [], "'tokens'"),
        ("params,tokens,loss\n1e8,2e9,-3.0\n", [], "not positive"),
        (
            "params,tokens,loss\n1e8,2e9,3.0\n2e8,3e9,2.9\n",
            [],
            "2 runs but law 'chinchilla' has 5 free",
        ),
        ("params,tokens,loss\n1e8,2e9,3.0\n", ["--fix", "Q=1"], "no parameter 'Q'"),
        ("params,tokens,loss\n1e8,2e9,3.0\n", ["--fix", "E"], "expected NAME=VALUE"),
        ("params,tokens,loss\n1e8,2e9,3.0\n", ["--train-where", "loss > 1"], "go together"),
        ("params,tokens,loss\n1e8,2e9,3.0\n", ["--bound", "E=2"], "--bound 'E=2': expected"),
        ("params,tokens,loss\n1e8,2e9,3.0\n", ["--bound", "E=3:2"], "--bound E=3:2: need"),
        ("params,tokens,loss\n1e8,2e9,3.0\n", ["--tie", "alpha"], "--tie 'alpha': expected"),
        ("params,tokens,loss\n1e8,2e9,3.0\n", ["--tie", "alpha=Q"], "no parameter 'Q'"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, args: list[str], expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code = main(["fit", str(path), "--law", "chinchilla", *args])
    line = _err_line(capsys)
    assert code == 2
    assert expected in line


def test_unknown_law_and_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _synthetic(tmp_path)
    assert main(["fit", str(data), "--law", "no-such-law"]) == 2
    assert "no-such-law" in _err_line(capsys)
    missing = tmp_path / "missing.csv"
    assert main(["fit", str(missing), "--law", "chinchilla"]) == 2
    assert "missing.csv" in _err_line(capsys)


def test_distillation_needs_supervised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "students.csv"
    path.write_text("params,tokens,teacher_loss,loss\n1e8,2e9,2.5,3.0\n")
    assert main(["fit", str(path), "--law", "distillation"]) == 2
    assert "--supervised" in _err_line(capsys)


@pytest.mark.parametrize("output", ["DIR", ""])
def test_output_that_is_a_directory_is_refused_before_fitting(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    output: str,
) -> None:
    # The fit used to run, then os.replace onto the directory failed with exit 1.
    import distillscale.fitting as fitting

    def no_fit(*args: object, **kwargs: object) -> None:
        raise AssertionError("the fit ran before the output was checked")

    monkeypatch.setattr(fitting, "fit", no_fit)
    monkeypatch.chdir(tmp_path)
    data = _synthetic(tmp_path)
    target = str(tmp_path) if output == "DIR" else output
    assert main(["fit", str(data), "--law", "chinchilla", "-o", target]) == 2
    line = _err_line(capsys)
    assert "is a directory" in line and "fit.json" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]


def test_an_unwritable_output_is_exit_2_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # its "subfolder" cannot be created, even by root
    data = _synthetic(tmp_path)
    argv = ["fit", str(data), "--law", "chinchilla", "--map", "params=n_params"]
    assert main([*argv, "-o", str(blocker / "fit.json")]) == 2
    line = _err_line(capsys)
    # refused before fitting, naming the file that stands where a directory should be
    assert line.startswith("error: -o ") and "a-file is a file, not a directory" in line
