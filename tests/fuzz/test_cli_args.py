"""Fuzz the command line with argv drawn from the real subcommands and their options.

Guarantee under test: ``distillscale.cli.main(argv)`` exits 0 or 2, never 1 (an internal
error) and never with a traceback; with ``--json`` and status 0, stdout is one JSON document;
with status 2, stdout is empty and stderr says what was wrong. The options are read from the
typer app itself, so a new subcommand or option is fuzzed without editing this file.
Commands that train (``train``) or run studies (``run``) are left out: ``run --dry-run`` is
fuzzed with study specs in ``test_study_spec.py``.
"""

from __future__ import annotations

import enum
import json
import os
import shutil
import tempfile
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer.main
from hypothesis import event, given
from hypothesis import strategies as st

from distillscale.cli import app, main
from distillscale.fitting import load_fit
from distillscale.study.store import RunOutcome, RunSpecRecord, open_store

from ._fuzz import count, fuzz_settings

#: Subcommands never fuzzed here: they train models or run whole studies (minutes each).
SLOW_COMMANDS = frozenset({("train",), ("run",)})


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionSpec:
    """One option or argument of a subcommand, as the fuzzer sees it."""

    names: tuple[str, ...]  # ("--law",), ("-o", "--output"); () for a positional argument
    off_names: tuple[str, ...]  # ("--untied",) for a --tied/--untied switch
    kind: str  # "flag", "int", "float", "choice", "path", "str"
    choices: tuple[str, ...]
    multiple: bool
    required: bool


def _kind(annotation: object) -> tuple[str, tuple[str, ...], bool]:
    multiple = typing.get_origin(annotation) is list
    if multiple:
        annotation = typing.get_args(annotation)[0]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args:  # X | None
        annotation = args[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "choice", tuple(str(m.value) for m in annotation), multiple
    names = {bool: "flag", int: "int", float: "float", Path: "path", str: "str"}
    return names.get(annotation, "str"), (), multiple  # type: ignore[call-overload]


def _commands() -> dict[tuple[str, ...], list[OptionSpec]]:
    """Every leaf subcommand of the app with its options, read from typer."""
    out: dict[tuple[str, ...], list[OptionSpec]] = {}

    def walk(command: object, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
            return
        specs = []
        for param in command.params:  # type: ignore[attr-defined]
            kind, choices, multiple = _kind(param.type_descriptor.annotation)
            is_option = type(param).__name__ == "TyperOption"
            specs.append(
                OptionSpec(
                    names=tuple(param.opts) if is_option else (),
                    off_names=tuple(param.secondary_opts) if is_option else (),
                    kind="flag" if getattr(param, "is_flag", False) else kind,
                    choices=choices,
                    multiple=multiple,
                    required=bool(param.required),
                )
            )
        out[path] = specs

    walk(typer.main.get_command(app), ())
    return out


COMMANDS = {path: specs for path, specs in _commands().items() if path not in SLOW_COMMANDS}

_INTS = ["-1", "0", "1", "2", "3", "64", "1.5", "x", "", "99999999999999999999"]
_FLOATS = ["-1", "0", "2.5", "0.5", "1e8", "1e21", "nan", "inf", "-inf", "1e400", "1e-320", "x"]
_TEXT = [
    "runs.csv",
    "fit.json",
    "@hoffmann2022",
    "@busbridge2025",
    "@nope",
    "missing.csv",
    "",
    "../escape",
    "store.sqlite",
    "sqlite:///store.sqlite",
    "postgresql+psycopg://u:secret@127.0.0.1:1/db",
    "params=n",
    "loss=loss",
    "E=1.8",
    "c1=@busbridge2025",
    "alpha=nan",
    "2.1,2.3",
    "2.1,,x",
    "loss > 2",
    "params >",
    "out.png",
    "out.svg",
    "out.txt",
    "dir/",
    "-",
    "ünïcødé",
]


#: Plausible values by option name, so that most cases get past parsing into the commands.
_PLAUSIBLE = {
    "--compute": ["1e20", "1e21", "3e22"],
    "--student-params": ["1e8", "5e8"],
    "--teacher-loss": ["2.3", "2.1"],
    "--teacher-params": ["1e9"],
    "--teacher-tokens": ["1e11"],
    "--teachers": ["2.1,2.3,2.5"],
    "--target-loss": ["2.5", "2.2"],
    "--inference-tokens": ["1e12"],
    "--params": ["1e8", "3e9"],
    "--tokens": ["1e10", "2e11"],
    "--depth": ["2", "4", "12"],
    "--layers": ["2", "4"],
    "--d-model": ["128", "256"],
    "--heads": ["2", "4"],
    "--kv-heads": ["1", "2"],
    "--ffn-dim": ["512"],
    "--vocab": ["256", "50304"],
    "--seq-len": ["64", "2048"],
    "--samples": ["2", "3"],
    "--bootstrap": ["0", "3"],
    "--students": ["1", "4"],
    "--seed": ["0", "7"],
    "--mfu": ["0.4"],
    "--peak-flops": ["1e15"],
    "--price-per-hour": ["2.5"],
    "--ci": ["0.9", "0.5"],
    "--delta": ["0.001", "0.0001"],
    "--fit": ["@hoffmann2022", "@busbridge2025", "fit.json"],
    "--supervised": ["@busbridge2025-supervised", "fit.json"],
    "--store": ["store.sqlite", "sqlite:///store.sqlite"],
    "--study": ["a"],
    "--status": ["done", "pending"],
    "--where": ["loss > 2", "params > 1e8"],
    "--train-where": ["params < 1e9"],
    "--test-where": ["params >= 1e9"],
    "--map": ["loss=loss", "params=params"],
    "--fix": ["E=1.8", "alpha=0.34"],
    "--output": ["out.json", "out/fit.json"],
    "-o": ["out.json", "out.csv", "out.parquet"],
    "--plot": ["plot.png", "plot.svg"],
    "--points": ["runs.csv"],
    (("fit",), 0): ["runs.csv"],
    (("predict",), 0): ["fit.json", "@hoffmann2022", "@busbridge2025", "@kaplan2020"],
    (("report",), 0): ["."],
}


#: Text an operating system can pass in argv: anything but NUL (C strings end there).
_ARGV_TEXT = st.text(alphabet=st.characters(exclude_characters="\x00"), max_size=6)


def _value(path: tuple[str, ...], index: int, spec: OptionSpec) -> st.SearchStrategy[str]:
    """A plausible value seven times in eight, else a hostile one of the option's type."""
    pools = {"int": _INTS, "float": _FLOATS, "path": _TEXT, "str": _TEXT}
    hostile = st.one_of(st.sampled_from(pools.get(spec.kind, _TEXT)), _ARGV_TEXT)
    if spec.kind == "choice":
        plausible: list[str] | None = list(spec.choices)
        hostile = st.sampled_from(["nope", "", spec.choices[0].upper()])
    else:
        key = spec.names[-1] if spec.names else (path, index)
        plausible = _PLAUSIBLE.get(key) or (_PLAUSIBLE.get(spec.names[0]) if spec.names else None)
    if not plausible:
        return hostile
    return st.integers(0, 7).flatmap(lambda i: hostile if i == 0 else st.sampled_from(plausible))


@st.composite
def argv_strategy(draw: st.DrawFn) -> list[str]:
    """A subcommand, some of its options (values from typed pools), maybe a stray token."""
    path = draw(st.sampled_from(sorted(COMMANDS)))
    argv = list(path)
    for index, spec in enumerate(COMMANDS[path]):
        if not spec.names:  # positional argument: usually given
            if draw(st.integers(0, 9)) > 0:
                argv.append(draw(_value(path, index, spec)))
            continue
        if not (spec.required or draw(st.integers(0, 3)) == 0):
            continue
        for _ in range(draw(st.integers(1, 2)) if spec.multiple else 1):
            if spec.kind == "flag":
                argv.append(draw(st.sampled_from(spec.names + spec.off_names)))
            else:
                argv += [draw(st.sampled_from(spec.names)), draw(_value(path, index, spec))]
    if draw(st.integers(0, 9)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(["--nope", "x", "--"])))
    if "--json" not in argv and draw(st.booleans()):
        argv.append("--json")
    return argv


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A working directory with a valid run table and fit file; every command runs in it."""
    root = Path(tempfile.mkdtemp(prefix="distillscale-fuzz-cli-"))
    fit = load_fit("@hoffmann2022")
    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(np.log(1e7), np.log(1e10), 12))
    d = np.exp(rng.uniform(np.log(1e9), np.log(1e12), 12))
    loss = fit.predict(params=n, tokens=d)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(12)], "params": n, "tokens": d})
    frame.assign(loss=loss).to_csv(root / "runs.csv", index=False)
    (root / "fit.json").write_text(json.dumps(fit.to_json()))
    with open_store(root / "store.sqlite") as store:
        store.register(
            RunSpecRecord(
                run_id="t", kind="teacher", config="{}", study="a", params=1e6, tokens=2e7
            )
        )
        assert store.claim("t", "w", 60)
        assert store.complete("t", "w", RunOutcome(loss=3.0))
    old = os.getcwd()
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(old)


def test_the_fuzzer_sees_the_real_commands() -> None:
    assert ("fit",) in COMMANDS and ("plan",) in COMMANDS and ("runs", "list") in COMMANDS
    fit_law = next(s for s in COMMANDS[("fit",)] if s.names == ("--law",))
    assert fit_law.kind == "choice" and "chinchilla" in fit_law.choices and fit_law.required
    assert not any(path[0] in ("train", "run") for path in COMMANDS)


@fuzz_settings(120)
@given(argv=argv_strategy())
def test_random_argv_exits_0_or_2_and_json_parses(
    argv: list[str], workdir: Path, capsys: pytest.CaptureFixture[str], fast_cli: None
) -> None:
    count("cli.argv")
    capsys.readouterr()
    status = main(argv)
    captured = capsys.readouterr()
    event(f"{' '.join(argv[:2])}: exit {status}")  # --hypothesis-show-statistics
    assert status in (0, 2), f"{argv}: exit {status}: {captured.err[-2000:]}"
    assert "Traceback" not in captured.err
    if status == 2:
        assert captured.out == "", argv
        assert captured.err.strip(), argv
    elif "--json" in argv and "--help" not in argv and "--" not in argv:
        json.loads(captured.out)  # exactly one document, nothing else on stdout


_REPORT_ROOT = Path(tempfile.mkdtemp(prefix="distillscale-fuzz-report-"))
_STUDY_FILES = [
    "runs.csv",
    "curves.csv",
    "ledger.json",
    "fits/chinchilla.json",
    "fits/distillation.json",
    "plan.json",
    "study.yaml",
]
_JUNK = [
    b"",
    b"garbage",
    b"\xff\xfe",
    b"{}",
    b"[]",
    b"null",
    b'{"schema": "distillscale.fit/1"}',
    b"a,b\n1,2\n",
    b"run,params,tokens,loss\nr,1e8,2e9,3\n",
    b"run,params,tokens,loss,kind\nr,-1,nan,x,teacher\n",
    b"name: x\nteachers: 3\n",
    b"!!python/object/apply:os.system ['echo hi']",
    b'{"mode": "supervised"}',
]


@fuzz_settings(15)
@given(files=st.dictionaries(st.sampled_from(_STUDY_FILES), st.sampled_from(_JUNK), min_size=1))
def test_report_on_a_damaged_study_directory_exits_0_or_2(
    files: dict[str, bytes], capsys: pytest.CaptureFixture[str], fast_cli: None
) -> None:
    count("cli.report_damaged")
    study = _REPORT_ROOT / "study"
    shutil.rmtree(study, ignore_errors=True)
    for name, data in files.items():
        (study / name).parent.mkdir(parents=True, exist_ok=True)
        (study / name).write_bytes(data)
    capsys.readouterr()
    status = main(["report", str(study)])
    captured = capsys.readouterr()
    assert status in (0, 2), captured.err
    assert "Traceback" not in captured.err
    if status == 0:
        assert (study / "report" / "index.html").is_file()
