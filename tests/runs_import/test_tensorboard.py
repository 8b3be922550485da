"""TensorBoard event files written by torch's SummaryWriter (tensorboard: the ``dev`` extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from distillscale.errors import InputError
from distillscale.runs_import import import_runs
from distillscale.runs_import._proto import crc32c, records

torch_tb = pytest.importorskip("torch.utils.tensorboard", reason="needs torch (train extra)")

RUNS = {"n1e6-lr1e-3": (1e6, 1e-3), "n1e6-lr3e-3": (1e6, 3e-3), "n4e6-lr3e-3": (4e6, 3e-3)}


def _loss(n: float, lr: float, step: int) -> float:
    return 2.0 + 100 / n**0.3 + abs(lr - 3e-3) * 30 + 1.0 / (1 + step)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tb") / "logs"
    for name, (n, lr) in RUNS.items():
        writer = torch_tb.SummaryWriter(str(root / name))
        for step in range(0, 400, 100):
            writer.add_scalar("train/tokens_seen", 5120.0 * (step + 1), step)
            writer.add_scalar("train/loss_step", 9.0, step)  # not an alias: kept as is
            writer.add_histogram("weights", np.arange(10.0), step)  # skipped
            if step % 200 == 0 or step == 300:  # eval every 200 steps, and at the end
                # TF2-style tensor summary (new_style) for the eval loss
                writer.add_scalar("val/loss", _loss(n, lr, step), step, new_style=True)
        # hyperparameters in the run's own folder (run_name="."), with a final metric
        writer.add_hparams({"n_params": n, "lr": lr, "kind": "baseline"}, {}, run_name=".")
        writer.close()
    return root


def test_scalars_and_hparams_per_step(logdir: Path) -> None:
    result = import_runs(logdir, required=("params", "tokens", "loss"))
    assert result.read == 3 * 3 and result.skipped_steps == 3  # step 100: no eval
    first = result.rows[0]
    assert first["run"] == "n1e6-lr1e-3" and first["step"] == 0
    assert first["params"] == 1e6 and first["lr"] == 1e-3 and first["kind"] == "baseline"
    assert first["tokens"] == 5120.0 and first["train/loss_step"] == 9.0
    assert first["loss"] == pytest.approx(_loss(1e6, 1e-3, 0), rel=1e-6)  # float32 on disk
    assert "weights" not in first


def test_last_step_and_best_lr(logdir: Path) -> None:
    result = import_runs(logdir, last="run", best="params")
    assert [(r["run"], r["step"]) for r in result.rows] == [("n1e6-lr3e-3", 300),
                                                            ("n4e6-lr3e-3", 300)]  # fmt: skip
    assert result.rows[0]["tokens"] == 5120.0 * 301


def test_single_event_file(logdir: Path) -> None:
    path = sorted((logdir / "n4e6-lr3e-3").glob("events.out.tfevents.*"))[0]
    rows = import_runs(path, required=("loss",)).rows
    assert [r["step"] for r in rows] == [0, 200, 300] and rows[0]["run"] == "n4e6-lr3e-3"


def test_crc32c_known_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value


def test_corrupt_record_is_named(logdir: Path, tmp_path: Path) -> None:
    path = sorted((logdir / "n1e6-lr1e-3").glob("events.out.tfevents.*"))[0]
    data = bytearray(path.read_bytes())
    bad = tmp_path / path.name
    data[200] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"tfevents.*: record \d+ \(byte \d+\): .*checksum"):
        import_runs(bad, required=("loss",))


def test_truncated_tail_is_a_record_still_being_written(logdir: Path) -> None:
    path = sorted((logdir / "n1e6-lr1e-3").glob("events.out.tfevents.*"))[0]
    data = path.read_bytes()
    whole = list(records(data, "x"))
    assert len(whole) > 5
    assert list(records(data[:-3], "x")) == whole[:-1]  # no error: the writer may be running


def test_a_folder_without_event_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="neither an MLflow store .* nor a TensorBoard"):
        import_runs(tmp_path / "empty")


def test_add_hparams_default_subfolder_is_its_own_run(tmp_path: Path) -> None:
    writer = torch_tb.SummaryWriter(str(tmp_path / "logs" / "exp"))
    writer.add_scalar("val_loss", 3.0, 10)  # the run's own history, without params
    writer.add_hparams({"n_params": 5e6, "tokens": 1e8}, {"hparam/val_loss": 2.75})
    writer.close()
    result = import_runs(tmp_path / "logs")
    (row,) = result.rows
    assert row["run"].startswith("exp/") and row["run"] != "exp"  # torch's timestamp folder
    assert (row["params"], row["tokens"], row["loss"]) == (5e6, 1e8, 2.75)
    assert result.skipped_steps == 1  # exp's step 10 has no params
