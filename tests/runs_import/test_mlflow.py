"""MLflow file stores, written by mlflow itself (the ``dev`` extra), read without it."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

from distillscale.cli import main
from distillscale.errors import InputError
from distillscale.runs_import import import_runs

SIZES = (1e6, 4e6)
BUDGETS = (2e7, 8e7)
LRS = (1e-3, 3e-3, 1e-2)


def _loss(n: float, d: float, lr: float, step: int) -> float:
    """A made-up final loss, worse away from lr = 3e-3, improving with steps."""
    return 1.9 + 300 / n**0.3 + 900 / d**0.3 + abs(lr - 3e-3) * 20 + 0.1 / (1 + step)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 runs (2 sizes x 2 budgets x 3 learning rates), 4 eval steps each, one run deleted."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # mlflow >= 3.x keeps file stores opt-in
    import mlflow

    root = tmp_path_factory.mktemp("ml") / "mlruns"
    mlflow.set_tracking_uri(root.as_uri())
    mlflow.set_experiment("sweep")
    for n, d, lr in itertools.product(SIZES, BUDGETS, LRS):
        with mlflow.start_run(run_name=f"n{n:g}-d{d:g}-lr{lr:g}"):
            mlflow.log_params({"n_params": n, "train_tokens": d, "learning_rate": lr})
            mlflow.set_tag("kind", "baseline")
            for step in range(4):
                mlflow.log_metric("tokens_seen", d * (step + 1) / 4, step=step)
                mlflow.log_metric("val_loss", _loss(n, d, lr, step), step=step)
                mlflow.log_metric("train_loss", 5.0, step=step)
    with mlflow.start_run(run_name="deleted") as run:
        mlflow.log_params({"n_params": 1, "train_tokens": 1, "learning_rate": 1})
        mlflow.log_metric("val_loss", 0.001, step=0)
    mlflow.delete_run(run.info.run_id)
    mp.undo()
    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")]:
        del sys.modules[name]  # leave no tracking state behind for other tests
    return root


def test_every_step_of_every_live_run(store: Path) -> None:
    result = import_runs(store, columns={"tokens": "tokens_seen"})
    assert len(result) == 12 * 4
    names = {row["run_name"] for row in result.rows}
    assert "deleted" not in names and len(names) == 12
    row = result.rows[0]
    assert row["experiment"] == "sweep" and row["kind"] == "baseline"
    assert row["status"] == "FINISHED" and len(row["run"]) == 32
    assert row["params"] in SIZES and row["train_loss"] == 5.0 and "train_tokens" not in row
    assert [r["tokens"] for r in result.rows[:4]] == [row["tokens"] * k for k in (1, 2, 3, 4)]


def test_two_token_keys_are_refused_until_mapped(store: Path) -> None:
    with pytest.raises(InputError, match=r"keys 'train_tokens' and 'tokens_seen' both name"):
        import_runs(store)
    result = import_runs(store, columns={"tokens": "train_tokens"})
    assert {row["tokens"] for row in result.rows} == set(BUDGETS)


def test_last_step_then_best_lr_per_size_and_budget(store: Path, tmp_path: Path) -> None:
    result = import_runs(
        store, columns={"tokens": "train_tokens"}, last="run", best=("params", "tokens")
    )
    assert result.read == 48 and len(result) == 4
    for row in result.rows:
        assert row["step"] == 3 and row["lr"] == 3e-3
        assert row["loss"] == pytest.approx(_loss(row["params"], row["tokens"], 3e-3, 3))
    assert {(r["params"], r["tokens"]) for r in result.rows} == set(
        itertools.product(SIZES, BUDGETS)
    )
    out = tmp_path / "best.csv"
    result.write(out)
    again = import_runs(out)
    assert again.rows == result.rows  # the canonical table round-trips


def test_cli_writes_a_table_fit_reads(store: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "runs.jsonl"
    code = main(
        ["runs", "import", str(store), "--map", "tokens=train_tokens", "--last-per", "run",
         "--best-per", "params,tokens", "-o", str(out), "--json"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert '"rows": 4' in captured.out and "(mlflow)" in captured.err
    assert main(["fit", str(out), "--law", "chinchilla", "--fix", "alpha=0.3", "--fix",
                 "beta=0.3"]) == 0  # fmt: skip


def test_one_experiment_or_one_run_folder(store: Path) -> None:
    experiment = next(p for p in store.iterdir() if p.is_dir() and p.name not in ("0", ".trash"))
    tokens = {"tokens": "tokens_seen"}
    assert len(import_runs(experiment, columns=tokens)) == 48
    run = next(p for p in experiment.iterdir() if p.is_dir())
    rows = import_runs(run, columns=tokens).rows
    assert len(rows) == 4 and rows[0]["experiment"] == "sweep"


def test_bad_metric_line_names_file_and_line(store: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "mlruns"
    shutil.copytree(store, copy)
    metric = next(copy.rglob("metrics/val_loss"))
    lines = metric.read_text().splitlines()
    lines[1] = lines[1].split()[0] + " oops 1"
    metric.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=rf"{metric} line 2: metric 'val_loss': value 'oops'"):
        import_runs(copy, columns={"tokens": "train_tokens"})
