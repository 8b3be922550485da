"""W&B exports: the JSON of run configs/summaries/histories, and a runs-table CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distillscale.errors import InputError
from distillscale.runs_import import detect_format, import_runs

RUNS = [
    {
        "id": "a1b2",
        "name": "gpt-small-lr1e-3",
        "state": "finished",
        "config": {"model": {"n_params": 1.2e7}, "train_tokens": 2.4e8, "lr": 1e-3,
                   "_wandb": {"value": {"cli_version": "0.16"}}},
        "summary": {"val_loss": 3.4, "train_loss": 3.2, "_step": 999, "_runtime": 12.5},
    },
    {
        "id": "c3d4",
        "name": "gpt-small-lr3e-3",
        "state": "finished",
        # a run's raw config.yaml wraps values as {"value": ..., "desc": ...}
        "config": {"model": {"value": {"n_params": 1.2e7}, "desc": None},
                   "train_tokens": {"value": 2.4e8}, "lr": {"value": 3e-3, "desc": "peak"}},
        "summary": {"val_loss": 3.3, "train_loss": 3.1, "_step": 999},
    },
]  # fmt: skip


def test_summaries_one_row_per_run(tmp_path: Path) -> None:
    src = tmp_path / "runs.json"
    src.write_text(json.dumps(RUNS))
    assert detect_format(src) == "wandb"
    result = import_runs(src, columns={"params": "config.model.n_params"})
    assert [r["run"] for r in result.rows] == ["a1b2", "c3d4"]
    assert result.rows[1] == {
        "run": "c3d4",
        "params": 1.2e7,
        "tokens": 2.4e8,
        "loss": 3.3,
        "lr": 3e-3,
        "step": 999.0,  # summary._step: the run's last step
        "summary.train_loss": 3.1,
        "run_name": "gpt-small-lr3e-3",
        "state": "finished",
    }
    best = import_runs(src, columns={"params": "config.model.n_params"}, best="params,tokens")
    assert [r["run"] for r in best.rows] == ["c3d4"]


def test_jsonl_with_history_and_last_step(tmp_path: Path) -> None:
    record = dict(RUNS[0])
    record["history"] = [
        {"_step": 0, "tokens_seen": 1e6, "val_loss": 6.0, "_runtime": 1},
        {"_step": 10, "tokens_seen": 1e7, "train_loss": 4.0},  # no eval at this step
        {"_step": 20, "tokens_seen": 2e7, "val_loss": 4.5},
    ]
    src = tmp_path / "runs.jsonl"
    src.write_text(json.dumps(record) + "\n" + json.dumps(RUNS[1]) + "\n")
    assert detect_format(src) == "wandb"
    cols = {"params": "config.model.n_params", "tokens": "tokens_seen"}
    result = import_runs(src, columns={**cols}, required=("params", "loss"))
    assert [(r["run"], r["step"]) for r in result.rows] == [
        ("a1b2", 0), ("a1b2", 20), ("c3d4", 999)]  # fmt: skip
    assert result.skipped_steps == 1
    last = import_runs(src, columns=cols, last="run", required=("params", "loss"))
    assert [(r["run"], r["step"], r["loss"]) for r in last.rows] == [
        ("a1b2", 20, 4.5), ("c3d4", 999, 3.3)]  # fmt: skip
    src.write_text(json.dumps(RUNS[1] | {"summary": {"val_loss": 3.0}}) + "\n")
    with pytest.raises(InputError, match=r"runs.jsonl line 1 \(run c3d4\): no value for .*step"):
        import_runs(src, columns=cols, last="run", required=("params", "loss"))


def test_runs_table_csv_download(tmp_path: Path) -> None:
    src = tmp_path / "wandb_export_2026-01-01.csv"
    src.write_text(
        '"Name","State","Notes","User","Tags","Created","Runtime","Sweep","lr","n_params",'
        '"tokens_seen","val_loss"\n'
        '"gpt-a","finished","-","me","","2026-01-01T00:00:00.000Z","120","","0.001",'
        '"12000000","240000000","3.4"\n'
    )
    assert detect_format(src) == "csv"
    (row,) = import_runs(src).rows
    assert row["run"] == "gpt-a" and row["params"] == 1.2e7 and row["loss"] == 3.4
    assert row["State"] == "finished" and row["Runtime"] == 120


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"runs": 3}, "expected a JSON array of W&B runs"),
        ([{"name": "x", "config": []}], r"runs\[0\] \(run x\): key 'config' must be a JSON object"),
        ([{"config": {}, "summary": {}}], r"runs\[0\]: key 'id' is missing"),
        ([{"id": "x", "config": {"n_params": "big"}, "summary": {"val_loss": 3, "tokens": 1}}],
         r"runs\[0\] \(run x\), key 'config.n_params' \(params\): 'big' is not a number"),
    ],
)  # fmt: skip
def test_refusals_name_the_run_and_key(tmp_path: Path, doc: object, message: str) -> None:
    src = tmp_path / "runs.json"
    src.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=message):
        import_runs(src)


def test_zero_tokens_at_the_first_step_is_no_value(tmp_path: Path) -> None:
    history = [{"_step": 0, "tokens_seen": 0, "val_loss": 6.0},
               {"_step": 5, "tokens_seen": 5e6, "val_loss": 4.0}]  # fmt: skip
    src = tmp_path / "runs.json"
    src.write_text(json.dumps([{"id": "r", "config": {"n_params": 1e6}, "history": history}]))
    result = import_runs(src)
    assert [r["step"] for r in result.rows] == [5] and result.skipped_steps == 1
    history[0]["tokens_seen"] = -1  # a negative count is still an error
    src.write_text(json.dumps([{"id": "r", "config": {"n_params": 1e6}, "history": history}]))
    with pytest.raises(InputError, match=r"history\[0\], key 'tokens_seen' \(tokens\): -1 is not"):
        import_runs(src)
