"""WSD cooldown branches: a run started from a trunk's snapshot equals one trained from scratch."""

import pytest

from distillscale.errors import DamagedFile, InputError
from distillscale.runs.config import decay_start
from distillscale.train import train_run
from distillscale.train.checkpoint import snapshot_name

from .conftest import tiny_config

STEP_TOKENS = 8 * 32  # batch 8 x seq_len 32


def _wsd(steps, **kw):
    return tiny_config(
        tokens=STEP_TOKENS * steps, schedule="wsd", warmup_steps=3, decay_fraction=0.25, **kw
    )


def test_branch_from_snapshot_equals_standalone_run(tmp_path):
    short = _wsd(12)
    s = decay_start(short)
    assert s == 9
    trunk = _wsd(24, snapshot_steps=(s,))
    trunk_result = train_run(trunk, tmp_path / "trunk")
    snap = tmp_path / "trunk" / snapshot_name(s)
    assert snap.is_file() and trunk_result.status == "done"
    branch = _wsd(12, init_from={"path": str(snap), "step": s})
    alone = train_run(short, tmp_path / "alone")
    got = train_run(branch, tmp_path / "branch")
    assert got.status == "done" and got.tokens == alone.tokens
    assert [p[0] for p in got.curve] == list(range(1, 13))
    for a, b in zip(got.curve, alone.curve, strict=True):
        assert a[2] == pytest.approx(b[2], rel=1e-6, abs=1e-6)  # train loss
        assert a[4] == pytest.approx(b[4], rel=1e-12)  # learning rate
    assert got.loss == pytest.approx(alone.loss, rel=1e-6, abs=1e-6)
    assert got.flops.total == pytest.approx(alone.flops.total)  # as if trained from scratch
    # the branch's own checkpoint takes over: a rerun does not read the snapshot again
    snap.unlink()
    again = train_run(branch, tmp_path / "branch")
    assert again.loss == got.loss
    # the trunk with snapshots trains as the plain run: snapshots change no result
    assert trunk_result.loss == pytest.approx(train_run(_wsd(24), tmp_path / "plain").loss)


def test_missing_or_damaged_snapshot_is_damaged_file(tmp_path):
    trunk = _wsd(16, snapshot_steps=(6,))
    train_run(trunk, tmp_path / "trunk")
    snap = tmp_path / "trunk" / snapshot_name(6)
    branch = _wsd(8, init_from={"path": str(tmp_path / "nope.pt"), "step": 6})
    with pytest.raises(DamagedFile, match="nope.pt"):
        train_run(branch, tmp_path / "b1")
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snap.write_bytes(bytes(data))
    branch = _wsd(8, init_from={"path": str(snap), "step": 6})
    with pytest.raises(DamagedFile, match=snapshot_name(6)):
        train_run(branch, tmp_path / "b2")
    # the trunk rewrites a lost snapshot (it retrains: its result is the same)
    snap.unlink()
    before = (tmp_path / "trunk" / "checkpoint.pt").read_bytes()
    assert train_run(trunk, tmp_path / "trunk").status == "done"
    assert snap.is_file() and (tmp_path / "trunk" / "checkpoint.pt").read_bytes() != b""
    assert len(before) > 0
    assert train_run(branch, tmp_path / "b3").status == "done"


def test_incompatible_snapshot_is_refused(tmp_path):
    trunk = _wsd(16, snapshot_steps=(6,))
    train_run(trunk, tmp_path / "trunk")
    snap = str(tmp_path / "trunk" / snapshot_name(6))
    with pytest.raises(InputError, match=r"snapshot .*differs in lr"):
        train_run(_wsd(8, lr=5e-3, init_from={"path": snap, "step": 6}), tmp_path / "a")
    # a fractional warm-up of the shorter run gives other learning rates before the step
    other = tiny_config(
        tokens=STEP_TOKENS * 8,
        schedule="wsd",
        warmup_steps=0.5,
        decay_fraction=0.25,
        init_from={"path": snap, "step": 6},
    )
    with pytest.raises(InputError, match="differs in warmup_steps|learning rates differ"):
        train_run(other, tmp_path / "b")


def test_run_ids_unchanged_without_branch_fields():
    plain = _wsd(12)
    assert "snapshot_steps" not in plain.identity() and "init_from" not in plain.identity()
    moved = _wsd(12, init_from={"path": "a/snapshot-9.pt", "step": 9})
    elsewhere = _wsd(12, init_from={"path": "b/snapshot-9.pt", "step": 9})
    assert moved.run_id() == elsewhere.run_id() != plain.run_id()
    with pytest.raises(InputError, match="snapshot_steps"):
        _wsd(12, snapshot_steps=(12,))
