"""Run identity under edits: an edited corpus, an edited spec, two drivers, an old store.

Issue 9 items 3, 7 and 8. Studies run with the fake trainer (tests/study/fakes.py), so each
test takes seconds; what is counted is which runs and caches train again.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console
from typer.testing import CliRunner

from distillscale.cli import app
from distillscale.cli.errors import cli_message
from distillscale.errors import InputError
from distillscale.runs.config import DataConfig
from distillscale.study.graph import build_graph
from distillscale.study.runner import run_study
from distillscale.study.spec import parse_spec
from distillscale.study.store import open_store
from distillscale.train.corpus_id import corpus_fingerprint, iter_documents
from distillscale.train.data import load_corpus
from study.fakes import fast_run_fn
from study.specs import TINY


def _quiet() -> Console:
    return Console(stderr=True, quiet=True)


def _run(doc: dict[str, Any], out: Path) -> Any:
    return run_study(parse_spec(doc), out, console=_quiet(), run_fn=fast_run_fn(), finish=False)


def _trained_dirs(study: Path) -> set[str]:
    """Run workdirs and cache files present in a study directory."""
    runs = {p.name for p in (study / "runs").iterdir()} if (study / "runs").exists() else set()
    caches = {p.name for p in (study / "caches").glob("*.logits")}
    return runs | caches


def _ids(doc: dict[str, Any]) -> dict[str, str]:
    """run id -> label of the spec's graph."""
    return {r.run_id: r.label for r in build_graph(parse_spec(doc)).runs}


def _list(store: Path, *extra: str) -> list[dict[str, Any]]:
    args = ["runs", "list", "--store", str(store), "--study", "tiny", "--json", *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["runs"]


def _text_corpus(root: Path) -> Path:
    root.mkdir()
    for i in range(12):
        (root / f"doc{i:02d}.txt").write_text(f"document {i}: " + "lorem ipsum dolor " * 150)
    return root


# --- item 3: the corpus's content, not its path, identifies the runs ---------------------------


def test_editing_the_corpus_retrains_every_run_and_reuses_nothing(tmp_path: Path) -> None:
    corpus = _text_corpus(tmp_path / "corpus")
    doc = copy.deepcopy(TINY)
    doc["data"]["corpus"] = str(corpus)
    study = tmp_path / "s"
    first = _run(doc, study)
    assert first.trained == first.runs + 2  # every run and both caches
    old_ids = set(_ids(doc))

    again = _run(doc, study)  # nothing edited: everything skipped
    assert again.trained == 0 and again.done == again.runs

    # edit one file in place, same size and same modification time: content decides
    target = corpus / "doc03.txt"
    stat = target.stat()
    text = target.read_bytes()
    target.write_bytes(text.replace(b"lorem", b"LOREM", 1))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert target.stat().st_size == stat.st_size and target.stat().st_mtime_ns == stat.st_mtime_ns

    new_ids = set(_ids(doc))
    assert not new_ids & old_ids  # every run reads the corpus: no id survives
    before = _trained_dirs(study)
    edited = _run(doc, study)
    assert edited.trained == edited.runs + 2  # retrained, caches rebuilt: nothing stale reused
    assert edited.done == edited.runs and edited.failed == 0
    assert _trained_dirs(study) - before == new_ids | {
        c.path.split("/")[1] for c in build_graph(parse_spec(doc)).caches
    }
    # the old runs stay in the store, marked stale, out of the study's listing by default
    store = study / "store.sqlite"
    assert {r["run_id"] for r in _list(store) if r["kind"] != "cache"} == new_ids
    listed = {r["run_id"]: r["stale"] for r in _list(store, "--stale") if r["kind"] != "cache"}
    assert listed == {**dict.fromkeys(new_ids, False), **dict.fromkeys(old_ids, True)}


def test_a_corpus_moved_elsewhere_keeps_its_runs(tmp_path: Path) -> None:
    corpus = _text_corpus(tmp_path / "corpus")
    doc = copy.deepcopy(TINY)
    doc["data"]["corpus"] = str(corpus)
    ids = _ids(doc)
    moved = tmp_path / "elsewhere" / "corpus"
    moved.parent.mkdir()
    shutil.move(corpus, moved)
    doc["data"]["corpus"] = str(moved)
    assert _ids(doc) == ids


def test_the_stdlib_identity_is_its_content_not_its_location(tmp_path: Path) -> None:
    data = DataConfig(corpus="stdlib", max_corpus_bytes=200_000)
    names = []
    copy_root = tmp_path / "lib"
    from distillscale.train.corpus_id import stdlib_root

    for name, _ in iter_documents(data):
        names.append(name)
        (copy_root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stdlib_root() / name, copy_root / name)
    here = corpus_fingerprint(data)
    assert here == corpus_fingerprint(data)  # stable
    # the same sources at another path (another machine's install) fingerprint the same ...
    assert corpus_fingerprint(DataConfig(corpus=str(copy_root), max_corpus_bytes=200_000)) == here
    # ... and one changed byte in them does not
    victim = copy_root / names[0]
    victim.write_bytes(b"#" + victim.read_bytes()[1:])
    assert corpus_fingerprint(DataConfig(corpus=str(copy_root), max_corpus_bytes=200_000)) != here


def test_a_corpus_edited_after_planning_is_refused_by_the_trainer(tmp_path: Path) -> None:
    corpus = _text_corpus(tmp_path / "corpus")
    data = DataConfig(corpus=str(corpus), val_fraction=0.3)
    planned = dataclasses.replace(data, fingerprint=corpus_fingerprint(data))
    assert load_corpus(planned).n_documents == 12
    (corpus / "doc05.txt").write_text("edited while the study ran")
    with pytest.raises(InputError, match=r"changed since this run was planned.*rerun"):
        load_corpus(planned)


# --- item 8: an edited spec retrains only what changed ----------------------------------------


def _budget_edit(tmp_path: Path, new_tokens: list[int]) -> tuple[Any, set[str], set[str], Path]:
    doc = copy.deepcopy(TINY)
    study = tmp_path / "s"
    _run(doc, study)
    old = _ids(doc)
    doc["students"]["tokens"] = new_tokens
    new = _ids(doc)
    before = _trained_dirs(study)
    result = _run(doc, study)
    changed = set(new) - set(old)
    trained = _trained_dirs(study) - before
    return result, changed, trained, study


def test_lowering_the_largest_budget_retrains_only_its_runs_and_reuses_the_caches(
    tmp_path: Path,
) -> None:
    result, changed, trained, study = _budget_edit(tmp_path, [2048, 3072])
    # 4096 -> 3072: its 2 students and 2 compute-matched baselines are new runs; the 2048
    # students, the teachers and the baselines of 2048 keep their ids
    assert len(changed) == 4
    assert trained == changed  # no cache rebuilt: the 4096-token caches cover 3072
    assert result.trained == 4 and result.done == result.runs and result.failed == 0
    assert len(list((study / "caches").glob("*.logits"))) == 2
    assert len(_list(study / "store.sqlite")) == result.runs + 2  # current runs + 2 caches
    stale = [r for r in _list(study / "store.sqlite", "--stale") if r["stale"]]
    assert len(stale) == 4 and all(r["kind"] in ("student", "baseline") for r in stale)


def test_raising_the_largest_budget_builds_bigger_caches_but_keeps_the_other_students(
    tmp_path: Path,
) -> None:
    result, changed, trained, study = _budget_edit(tmp_path, [2048, 8192])
    assert len(changed) == 4  # the 8192 students and baselines
    caches = {t for t in trained if t.endswith(".logits")}
    assert len(caches) == 2  # the old caches cover 4096 tokens only: new ones are needed
    assert trained - caches == changed  # the 2048 students are not retrained
    assert result.trained == 6 and result.failed == 0


# --- item 7: two drivers on one store with different --out ------------------------------------


def test_a_second_driver_with_another_out_is_refused_naming_both_directories(
    tmp_path: Path,
) -> None:
    doc = copy.deepcopy(TINY)
    doc["store"] = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    doc["students"]["tokens"] = [2048]
    a, b = tmp_path / "a", tmp_path / "b"
    _run(doc, a)
    doc["students"]["tokens"] = [2048, 4096]  # B needs new caches from A's teachers
    with pytest.raises(InputError) as info:
        _run(doc, b)
    message = str(info.value)
    # run_study's argument out= for a Python caller, the flag --out on the command line
    assert message.startswith(f"out={str(b)!r}: store ") and f"with out={str(a)!r} (" in message
    line = cli_message(info.value)
    assert line.startswith(f"--out {b}: store ") and f"with --out {a} (a shared" in line
    assert not b.exists()  # refused before writing anything
    # the same directory joins the study and finishes it
    result = _run(doc, a)
    assert result.failed == 0 and result.done == result.runs


def test_a_study_directory_moved_on_this_host_is_taken_over(tmp_path: Path) -> None:
    doc = copy.deepcopy(TINY)
    doc["store"] = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    _run(doc, tmp_path / "a")
    shutil.move(tmp_path / "a", tmp_path / "c")
    result = _run(doc, tmp_path / "c")
    assert result.trained == 0 and result.done == result.runs


def test_a_copied_study_with_its_own_store_runs_where_it_is(tmp_path: Path) -> None:
    doc = copy.deepcopy(TINY)
    _run(doc, tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "copy")
    doc["students"]["tokens"] = [2048, 8192]
    result = _run(doc, tmp_path / "copy")  # default store: the copy's own store.sqlite
    assert result.failed == 0 and result.done == result.runs


# --- a 0.1.0 (schema 1) store ----------------------------------------------------------------


def test_a_schema_1_store_is_upgraded_and_its_runs_become_stale(tmp_path: Path) -> None:
    from distillscale.study.store.records import RunSpecRecord

    path = tmp_path / "s" / "store.sqlite"
    with open_store(path) as store:
        store.register(RunSpecRecord(run_id="0123456789abcdef", kind="teacher", config="{}",
                                     study="tiny"))  # fmt: skip
        with store._engine.begin() as conn:  # what distillscale 0.1.0 left: schema 1
            conn.execute(sa.text("DROP TABLE study_runs"))
            conn.execute(sa.text("DROP TABLE studies"))
            conn.execute(sa.text("UPDATE meta SET value = '1' WHERE key = 'schema_version'"))
    before = path.read_bytes()
    assert [r["run_id"] for r in _list(path)] == ["0123456789abcdef"]  # read as it is
    assert [r["run_id"] for r in _list(path, "--stale")] == ["0123456789abcdef"]
    assert path.read_bytes() == before  # a read-only command does not upgrade it
    result = _run(copy.deepcopy(TINY), tmp_path / "s")
    assert result.trained == result.runs + 2
    with open_store(path) as store, store._engine.connect() as conn:
        version = conn.execute(sa.text("SELECT value FROM meta")).scalar()
    assert version == "2"
    listed = {r["run_id"]: r["stale"] for r in _list(path, "--stale")}
    assert listed.pop("0123456789abcdef") is True and not any(listed.values())
