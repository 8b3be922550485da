"""The library's messages name no command-line flag (issue 12).

Every string literal (docstrings aside) in the packages below is scanned for ``--name``: their
errors and fit warnings say fixes in Python terms (``compute=``, ``fixed={'E': VALUE}``) and
``distillscale.cli.errors`` words them as flags. A flag's own parser is exempt: it parses the
flag's text, is called only by the command line, and its errors are about that text. A few
messages quote a whole command line as a how-to (:data:`COMMANDS`): the command that makes the
thing asked for, or another tool's launcher; they tell no one to change a flag of what they ran.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "distillscale"

#: Library parts whose messages are flag-free.
FLAG_FREE = (
    "planning",
    "fitting",
    "table.py",
    "columns.py",
    "runs_import",
    "laws",
    "flops",
    "study",
    "train",
    "report",
    "runs",
)

#: (file, function): the parsers of a flag's own syntax (``--bound E=0.5:3``, ``--map a=b``).
FLAG_PARSERS = {
    ("fitting/constraints.py", "parse_bound"),
    ("columns.py", "parse_column_map"),
}

#: (file, quoted command line) a message may hold: how-tos that name a command, not a flag of
#: the caller's. A study directory and a store are made by those commands (a Python user reads
#: them as where the thing comes from); ``ray start`` and ``torchrun`` launch what both the
#: command line and the Python API then join, and have no other spelling.
COMMANDS = {
    ("report/load.py", "'distillscale run STUDY.yaml --out DIR'"),
    ("study/store/store.py", "'distillscale train --store'"),
    ("study/executors/ray.py", "'ray start --head'"),
    ("train/trainer.py", "torchrun --nproc-per-node"),
}

FLAG = re.compile(r"(?<![\w-])--[a-z]")


def _named(text: str, rel: str) -> bool:
    """``text`` names a flag outside the commands :data:`COMMANDS` allows in ``rel``."""
    for file, command in COMMANDS:
        if file == rel:
            text = text.replace(command, "")
    return bool(FLAG.search(text))


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def flags_in(source: str, rel: str) -> list[str]:
    """``"line: text"`` for each string literal of ``source`` that names a flag."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and (rel, node.name) in FLAG_PARSERS:
            skip |= {id(n) for n in ast.walk(node)}
    return [
        f"{rel}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and _named(node.value, rel)
    ]


def _files() -> list[Path]:
    out: list[Path] = []
    for part in FLAG_FREE:
        path = PKG / part
        out.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return out


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(PKG)))
def test_library_messages_name_no_flag(path: Path) -> None:
    rel = str(path.relative_to(PKG))
    assert flags_in(path.read_text(encoding="utf-8"), rel) == []


def test_the_scan_sees_a_flag_in_a_message_and_not_in_a_docstring_or_a_parser() -> None:
    source = '''
def f(x):
    """Like ``--compute``."""
    raise InputError(f"--compute: {x} is bad")


def parse_bound(text, flag="--bound"):
    raise InputError(f"{flag} {text!r}: expected NAME=LO:HI")
'''
    found = flags_in(source, "fitting/constraints.py")
    assert len(found) == 1 and "--compute: " in found[0]
    assert len(flags_in(source, "planning/other.py")) == 2  # parse_bound elsewhere: no pass
    assert flags_in('linestyle = "--"\n', "planning/plot.py") == []


def test_a_command_line_is_allowed_only_where_it_is_listed() -> None:
    source = (
        """raise InputError("x; start one with 'ray start --head' or use --executor local")\n"""
    )
    found = flags_in(source, "study/executors/ray.py")
    assert len(found) == 1 and "--executor local" in found[0]  # the flag still counts
    assert flags_in("m = \"with 'ray start --head'\"\n", "study/executors/ray.py") == []
    assert len(flags_in("m = \"with 'ray start --head'\"\n", "study/runner.py")) == 1
