"""Cooldown branches in a study: one WSD trunk per group of budgets, branches from its snapshots."""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from distillscale.errors import InputError
from distillscale.runs.config import batch_key, decay_start
from distillscale.study.graph import build_graph
from distillscale.study.runner import run_study
from distillscale.study.spec import parse_spec

from .specs import TINY


def _doc(branches: bool = True) -> dict:
    doc = copy.deepcopy(TINY)
    doc["teachers"] = {"depths": [1], "tokens_per_param": [0.5, 1]}
    doc["students"] = {"depths": [1], "tokens": [1024, 2048]}
    doc["training"].update(schedule="wsd", warmup=0.1, branches=branches, checkpoint_every=0)
    doc["data"].update(max_corpus_bytes=300_000, val_fraction=0.2)
    doc["executor"].update(workers=1)
    return doc


def test_branches_need_wsd():
    doc = _doc()
    doc["training"]["schedule"] = "cosine"
    with pytest.raises(InputError, match="training.branches.*schedule: wsd|branches: true needs"):
        parse_spec(doc)


def test_graph_wires_trunks_and_branches_and_counts_only_cooldowns():
    plain = build_graph(parse_spec(_doc(branches=False)))
    graph = build_graph(parse_spec(_doc()))
    assert len(graph.runs) == len(plain.runs) == 8  # 2 teachers, 2x2 students, 2 baselines
    by_id = {r.run_id: r for r in graph.runs}
    branches = [r for r in graph.runs if r.trunk_run is not None]
    assert sorted(r.kind for r in branches) == ["baseline", "student", "student", "teacher"]
    for b in branches:
        trunk = by_id[b.trunk_run]
        assert trunk.kind == b.kind and trunk.tokens > b.tokens and trunk.trunk_run is None
        assert b.trunk_run in b.depends
        s = decay_start(b.config)
        assert b.config.init_from == {"path": f"runs/{trunk.run_id}/snapshot-{s}.pt", "step": s}
        assert s in trunk.config.snapshot_steps
        assert b.config.warmup_steps == trunk.config.warmup_steps >= 1  # absolute steps
        assert b.full_ledger.total == pytest.approx(
            plain.by_id().get(b.run_id, b).full_ledger.total  # same budget as from scratch
        )
        assert b.ledger.total == pytest.approx(b.full_ledger.total * (1 - s / b.config.steps))
        # the batched trainer neither writes snapshots nor starts from one: they train alone
        assert batch_key(b.config) is None and batch_key(trunk.config) is None
    # students name the trunk teacher's new id, and the branch teacher's
    teacher_ids = {r.run_id for r in graph.runs if r.kind == "teacher"}
    assert {r.teacher_run for r in graph.runs if r.kind == "student"} <= teacher_ids
    order = [graph.node_id(n) for n in graph.nodes()]  # dependencies first
    assert all(
        order.index(d) < order.index(graph.node_id(n)) for n in graph.nodes() for d in n.depends
    )
    saved = graph.saved.total
    assert saved > 0
    assert graph.ledger.total + saved == pytest.approx(plain.ledger.total, rel=1e-9)
    # branches off: the runs are those of a study without the key (ids of 0.2 unchanged)
    unset = _doc(branches=False)
    del unset["training"]["branches"]
    assert [r.run_id for r in build_graph(parse_spec(unset)).runs] == [r.run_id for r in plain.runs]


def _quiet() -> Console:
    return Console(stderr=True, quiet=True)


def _losses(study: Path) -> dict[str, float]:
    db = sqlite3.connect(study / "store.sqlite")
    out = {r[0]: r[1] for r in db.execute("select run_id, loss from runs where kind != 'cache'")}
    db.close()
    return out


def test_study_with_branches_finishes_and_rebuilds_a_damaged_snapshot(tmp_path):
    spec = parse_spec(_doc())
    graph = build_graph(spec)
    study = tmp_path / "s"
    result = run_study(spec, study, console=_quiet(), finish=False)
    assert result.done == result.runs == 8 and result.failed == 0
    ledger = json.loads((study / "ledger.json").read_text())
    assert ledger["saved_by_branches"]["total"] == pytest.approx(graph.saved.total)
    assert ledger["total"] == pytest.approx(graph.ledger.total, rel=1e-6)  # cooldowns only
    rows = {r["run"]: r for r in result_rows(study)}
    for b in (r for r in graph.runs if r.trunk_run is not None):
        assert int(rows[b.run_id]["tokens"]) == b.tokens  # the full budget, for the laws
        assert float(rows[b.run_id]["flops"]) == pytest.approx(b.full_ledger.total, rel=1e-6)
    reference = _losses(study)
    # a branch whose trunk's snapshot is damaged: the trunk is retrained, the branch reruns
    branch = next(r for r in graph.runs if r.trunk_run is not None and r.kind == "baseline")
    snap = study / branch.config.init_from["path"]
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0x01
    snap.write_bytes(bytes(data))
    db = sqlite3.connect(study / "store.sqlite")
    db.execute("update runs set status='pending', loss=NULL, attempts=0 where run_id=?",
               (branch.run_id,))  # fmt: skip
    db.commit()
    db.close()
    shutil.rmtree(study / "runs" / branch.run_id)
    again = run_study(spec, study, console=_quiet(), finish=False)
    assert again.done == again.runs and again.failed == 0
    assert (study / f"{branch.config.init_from['path']}.damaged").exists()
    trunk_log = (study / "runs" / branch.trunk_run / "attempts.log").read_text()
    assert trunk_log.count("start") == 2  # retrained once to rewrite the snapshot
    assert _losses(study) == pytest.approx(reference, rel=1e-6, abs=1e-6)


def result_rows(study: Path) -> list[dict[str, str]]:
    import csv

    with open(study / "runs.csv", newline="") as fh:
        return list(csv.DictReader(fh))
