"""Bad input found by trying the command line as a hostile user: exit 2, one line, no change.

Each case exited 1 (an internal error), 0 (accepted), or changed a user's file before the fix;
``docs/robustness.md`` has the table. The contract under test: exit status 2, exactly one line
on stderr naming the flag or file, nothing on stdout, and no file created or modified.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import pytest
import yaml
from tests.study.specs import TINY

from distillscale.cli import main

from .helpers import synthetic_runs_csv


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The single stderr line of a refused command (stdout empty, no traceback)."""
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


# -- numbers that overflow, negative seeds and counts -------------------------------------------

TRAIN = ["train", "--depth", "1", "--tokens", "4096", "--seq-len", "16", "--device", "cpu"]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["flops", "--depth", "4", "--tokens", "1e400"], "--tokens"),
        (["train", "--depth", "1", "--tokens", "1e400"], "--tokens"),
        ([*TRAIN, "--warmup", "1e400"], "warmup_steps"),
        ([*TRAIN, "--seed", "99999999999999999999"], "seed"),
        ([*TRAIN, "--seed", "-1"], "seed"),
        ([*TRAIN, "--peak-flops", "1e400"], "peak_flops"),
        # sizes far past this machine's memory failed deep in torch or numpy (exit 1)
        (["train", "--depth", "99999", "--tokens", "4096"], "GiB of memory"),
        ([*TRAIN, "--batch-size", "99999999999999999999"], "GiB of memory"),
        ([*TRAIN, "--ffn-dim", "99999999999999999999"], "GiB of memory"),
        ([*TRAIN, "--teacher-cache", "t.logits", "--top-k", "99999999999999999999"], "kd.top_k"),
    ],
)
def test_overflowing_and_negative_numbers_are_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    named: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    line = _one_line(capsys)
    assert line.startswith("error: ") and named in line
    assert not (tmp_path / "runs").exists()  # train wrote nothing


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--bootstrap", "3", "--seed", "-1"], "--seed -1"),
        (["--seed", "-1"], "--seed -1"),
        (["--bootstrap", "99999999999999999999"], "--bootstrap"),
        (["--bootstrap", "4294967296"], "--bootstrap"),
    ],
)
def test_fit_seed_and_bootstrap_out_of_range_are_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], named: str
) -> None:
    out = tmp_path / "fit.json"
    argv = ["fit", str(synthetic_runs_csv(tmp_path)), "--law", "chinchilla", "-o", str(out), *extra]
    assert main(argv) == 2
    assert named in _one_line(capsys)
    assert not out.exists()


def test_huber_mle_with_a_huge_delta_fits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """delta = 1e308 is least squares: huber_log_z overflowed (exit 1) before."""
    data = str(synthetic_runs_csv(tmp_path))
    argv = ["fit", data, "--law", "chinchilla", "--estimator", "huber-mle", "--delta", "1e308"]
    assert main([*argv, "--json"]) == 0
    assert '"law": "chinchilla"' in capsys.readouterr().out


# -- a file where a directory is expected, and the reverse --------------------------------------


def test_train_workdir_that_is_a_file_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine\n")
    for workdir in (blocker, blocker / "sub"):
        assert main([*TRAIN, "--workdir", str(workdir)]) == 2
        line = _one_line(capsys)
        assert line.startswith(f"error: --workdir {workdir}:") and "is a file" in line
    assert blocker.read_text() == "mine\n"


def test_runs_export_to_a_directory_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store.sqlite"
    from distillscale.study.store import open_store

    open_store(store).close()
    folder = tmp_path / "out"
    folder.mkdir()
    assert (
        main(["runs", "export", "-o", str(folder), "--format", "csv", "--store", str(store)]) == 2
    )
    assert "is a directory" in _one_line(capsys)
    assert list(folder.iterdir()) == []


def test_train_teacher_that_is_not_a_checkpoint_is_exit_2_without_torch_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = synthetic_runs_csv(tmp_path)
    assert main([*TRAIN, "--teacher", str(table), "--workdir", str(tmp_path / "w")]) == 2
    line = _one_line(capsys)
    assert f"checkpoint {table}: not a distillscale checkpoint" in line
    assert "weights_only" not in line and "torch.load" not in line
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("target", ["a-file/frontier.png", "folder.png"])
def test_plan_plot_to_an_unwritable_path_is_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "folder.png").mkdir()
    argv = ["plan", "--compute", "1e21", "--student-params", "1e8", "--teacher-loss", "2.3"]
    assert main([*argv, "--plot", target]) == 2
    assert _one_line(capsys).startswith(f"error: --plot {target}: cannot be written")


# -- read-only commands never create or change a store ------------------------------------------


def _not_stores(tmp_path: Path) -> list[Path]:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    table = synthetic_runs_csv(tmp_path)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    return [empty, table, other]


@pytest.mark.parametrize("command", [["runs", "list"], ["runs", "export", "-o", "x.csv"]])
def test_reading_a_file_that_is_not_a_store_changes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for path in _not_stores(tmp_path):
        before = _digest(path), _tree(tmp_path)
        assert main([*command, "--store", str(path)]) == 2
        line = _one_line(capsys)
        assert f"store {str(path)!r}" in line and "not a run store" in line
        assert (_digest(path), _tree(tmp_path)) == before  # no tables, no WAL, no x.csv
    missing = tmp_path / "missing.sqlite"
    assert main([*command, "--store", str(missing)]) == 2
    assert "no such file" in _one_line(capsys)
    assert not missing.exists()


def test_reading_a_store_does_not_convert_it_to_wal(tmp_path: Path) -> None:
    from distillscale.study.store import open_store

    path = tmp_path / "store.sqlite"
    open_store(path).close()
    with sqlite3.connect(path) as conn:  # a store copied without its WAL, in rollback mode
        conn.execute("PRAGMA journal_mode=DELETE")
    before = _digest(path)
    with open_store(path, create=False) as store:
        assert store.list_runs() == []
    assert _digest(path) == before


# -- study directories ---------------------------------------------------------------------------


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def test_run_into_a_non_empty_folder_that_is_not_a_study_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "project"
    out.mkdir()
    (out / "README.md").write_text("my project\n")
    before = _tree(out)
    assert main(["run", str(_spec(tmp_path)), "--out", str(out)]) == 2
    line = _one_line(capsys)
    assert line.startswith(f"error: --out {out}: is not empty and not a study directory")
    assert "'README.md'" in line
    assert _tree(out) == before


def test_a_study_folder_is_recognised(tmp_path: Path) -> None:
    from distillscale.study.runner import prepare_study

    spec = _spec(tmp_path)
    fresh = tmp_path / "fresh"
    prepare_study(spec, fresh)
    (fresh / "notes.txt").write_text("the user's notes beside a study are fine\n")
    prepare_study(spec, fresh)  # holds spec.json: a study
    partial = tmp_path / "partial"  # a first run killed after creating its folders
    (partial / "runs").mkdir(parents=True)
    (partial / "caches").mkdir()
    (partial / ".runs.csv.123.tmp").write_text("")
    prepare_study(spec, partial)
    assert (partial / "spec.json").exists()


def test_report_on_a_folder_that_is_not_a_study_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8")
    assert main(["report", str(folder)]) == 2
    assert "not a study" in _one_line(capsys)
    assert _tree(folder) == ["cat.jpg"]


# -- YAML alias bombs ----------------------------------------------------------------------------


def _bomb(tmp_path: Path, levels: int = 9) -> Path:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    lines += ["name: bomb", f"teachers: *a{levels - 1}"]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_billion_laughs_spec_is_refused_in_under_a_second(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = _bomb(tmp_path)  # 9**9 = 387 million strings once expanded; 600 bytes of text
    assert bomb.stat().st_size < 1000
    main(["run", str(_spec(tmp_path)), "--dry-run"])  # warm the imports
    capsys.readouterr()
    start = time.perf_counter()
    code = main(["run", str(bomb), "--dry-run"])
    seconds = time.perf_counter() - start
    assert code == 2
    line = _one_line(capsys)
    assert line.startswith(f"error: {bomb}: invalid YAML: the document expands to more than")
    assert seconds < 1.0


def test_a_recursive_alias_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "loop.yaml"
    spec.write_text("name: loop\nteachers: &t {depths: [1], again: *t}\n")
    assert main(["run", str(spec), "--dry-run"]) == 2
    assert "recursive alias" in _one_line(capsys)


def test_aliases_within_the_limit_still_work(tmp_path: Path) -> None:
    from distillscale.study.spec import load_spec, parse_spec

    text = yaml.safe_dump(TINY, default_flow_style=None)
    text = text.replace("seq_len: 16", "seq_len: &sixteen 16")
    text = text.replace("{aspect: 16, head_dim: 16}", "{aspect: *sixteen, head_dim: *sixteen}")
    assert text.count("*sixteen") == 2
    path = tmp_path / "alias.yaml"
    path.write_text(text)
    assert load_spec(path) == parse_spec(TINY).resolve_corpus(tmp_path)


# -- usage errors: one line ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["fit", "--bogus"], "distillscale fit: no such option: --bogus"),
        (["fit"], "distillscale fit: missing argument 'data'"),
        (["train"], "distillscale train: missing option '--tokens'"),
        (["plan", "--compute"], "distillscale plan: option '--compute' requires an argument"),
        (["runs", "list", "--bogus"], "distillscale runs list: no such option: --bogus"),
        (["no-such-command"], "distillscale: no such command 'no-such-command'"),
        (["flops", "--depth", "x"], "distillscale flops: invalid value for '--depth'"),
    ],
)
def test_usage_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    assert main(argv) == 2
    got = _one_line(capsys)
    assert got.startswith(line)
    assert got.endswith(f"(see {line.split(':')[0]} --help)")


# -- the last resort: one line even for an internal error, exit 2 for memory ---------------------


def _raising(exc: BaseException):
    def app(*args, **kwargs):
        raise exc

    return app


def test_an_internal_error_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import distillscale.cli as cli

    torch_like = RuntimeError("Overflow when unpacking long long\nframe #0: ...\nframe #1: ...")
    monkeypatch.setattr(cli, "app", _raising(torch_like))
    assert main(["version"]) == 1
    assert _one_line(capsys) == (
        "internal error: RuntimeError: Overflow when unpacking long long (rerun with --debug)"
    )


def test_running_out_of_memory_is_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import distillscale.cli as cli

    monkeypatch.setattr(cli, "app", _raising(MemoryError("Unable to allocate 7.66 TiB")))
    assert main(["version"]) == 2
    assert _one_line(capsys).startswith("error: out of memory (Unable to allocate 7.66 TiB)")
