"""The README's and docs' examples run as written, and print the numbers they quote.

Every indented ``distillscale ...`` line of README.md and its Python example run through the
real command line and API; so do the fenced shell and Python blocks of the fitting, planning,
FLOPs and laws docs, block by block in each document's order. Left out: lines that train
(``train``, ``run`` without ``--dry-run``) or read a finished study (``runs``, ``report``); the
study and training tests cover those. A number with a decimal point in a trailing comment
(``# 18.33 tokens/param``, ``# array(1.9734)``) must be what the line prints or evaluates to, at
the quoted precision.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest

from distillscale.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NEEDS_A_STUDY = {"train", "runs", "report"}
QUOTED = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")
DOCS = ("fitting.md", "planning.md", "flops.md", "laws.md")


def _split_comment(line: str) -> tuple[str, str]:
    code, _, comment = line.strip().partition("  # ")
    return code.strip(), comment.strip()


def _readme_commands() -> list[tuple[str, str]]:
    """(command line, trailing comment) for each indented ``distillscale`` line."""
    return [
        _split_comment(line)
        for line in README.read_text().splitlines()
        if line.startswith("    distillscale ")
    ]


def _doc_blocks(name: str) -> list[tuple[str, str]]:
    """(language, text) of each fenced block of ``docs/NAME``, in order."""
    blocks, lang, lines = [], None, []
    for line in (ROOT / "docs" / name).read_text().splitlines():
        if line.startswith("```"):
            if lang is None:
                lang, lines = line[3:].strip() or "bash", []
            else:
                blocks.append((lang, "\n".join(lines)))
                lang = None
            continue
        if lang is not None:
            lines.append(line)
    return blocks


def _shell_commands(text: str) -> list[tuple[str, str]]:
    """``distillscale`` lines of a shell block, continuation lines joined."""
    out, pending = [], ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        pending = ""
        if line.startswith("distillscale "):
            out.append(_split_comment(line))
    return out


def _runnable(command: str) -> bool:
    words = command.split()
    return words[1] not in NEEDS_A_STUDY and (words[1] != "run" or "--dry-run" in words)


def _absolute(arg: str) -> str:
    """Paths given relative to the checkout, made absolute (the examples run in tmp)."""
    if arg.startswith("examples/"):
        return str(ROOT / arg)
    return arg


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def _check_quoted(comment: str, printed: str, where: str) -> None:
    """Every decimal number of ``comment`` is, to its precision, one of ``printed``'s numbers."""
    found = _numbers(printed)
    for quoted in QUOTED.findall(comment):
        mantissa, _, exponent = quoted.partition("e")
        half_ulp = 0.5 * 10.0 ** (int(exponent or 0) - len(mantissa.split(".")[1]))
        ok = any(abs(p - float(quoted)) <= half_ulp * (1 + 1e-9) for p in found)
        assert ok, f"{where}: the docs say {quoted}; it printed {printed[:300]!r}"


def _run_command(command: str, comment: str, capsys, variables: dict[str, str]) -> None:
    argv = [variables.get(w[1:], w) if w.startswith("$") else w for w in shlex.split(command)]
    argv = [_absolute(w) for w in argv[1:]]
    redirect = None
    if ">" in argv:  # `... --json > FILE`: what the shell would write
        argv, redirect = argv[: argv.index(">")], argv[argv.index(">") + 1]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, f"{command}\n{captured.err}"
    if redirect is not None:
        Path(redirect).write_text(captured.out)
    _check_quoted(comment, captured.out + captured.err, command)


def _run_python(code: str, namespace: dict, where: str) -> None:
    """Execute a Python block statement by statement, checking commented expressions."""
    code = code.replace('"examples/', f'"{ROOT}/examples/')
    lines = code.splitlines()
    for node in ast.parse(code).body:
        source = ast.get_source_segment(code, node) or ""
        comment = lines[node.end_lineno - 1].partition("# ")[2] if node.end_lineno else ""
        if isinstance(node, ast.Expr) and QUOTED.search(comment):
            value = eval(compile(ast.Expression(node.value), where, "eval"), namespace)
            _check_quoted(comment, repr(value), f"{where}: {source}")
        else:
            exec(compile(ast.Module([node], type_ignores=[]), where, "exec"), namespace)


README_COMMANDS = [c for c in _readme_commands() if _runnable(c[0])]
README_VARIABLES = dict(re.findall(r"(?m)^ {4}([A-Z_]+)=(\S+)$", README.read_text()))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One folder for all README commands, run in the README's order."""
    return tmp_path_factory.mktemp("readme")


def test_the_examples_cover_every_fast_command():
    subs = {c.split()[1] for c, _ in README_COMMANDS}
    assert {"fit", "predict", "plan", "flops", "run"} <= subs
    in_docs = [
        c for d in DOCS for lang, t in _doc_blocks(d) if lang == "bash" for c in _shell_commands(t)
    ]
    assert len(README_COMMANDS) >= 15 and len(in_docs) >= 20


@pytest.mark.parametrize(
    ("command", "comment"), README_COMMANDS, ids=[c for c, _ in README_COMMANDS]
)
def test_readme_command_runs_as_written(command, comment, workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)  # shared: a later command reads what an earlier one wrote
    _run_command(command, comment, capsys, README_VARIABLES)


def test_readme_python_example_runs_as_written(tmp_path, monkeypatch):
    block = README.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    _run_python(block, namespace, "README.md")
    assert namespace["fit"].params["E"] == pytest.approx(1.8172, abs=1e-4)
    assert (tmp_path / "fit.json").exists()


@pytest.mark.parametrize("doc", DOCS)
def test_doc_examples_run_as_written(doc, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    ran = 0
    for lang, text in _doc_blocks(doc):
        if lang == "python":
            _run_python(text, namespace, f"docs/{doc}")
            ran += 1
        elif lang == "bash":
            for command, comment in _shell_commands(text):
                if _runnable(command):
                    _run_command(command, comment, capsys, {})
                    ran += 1
    assert ran >= 2
