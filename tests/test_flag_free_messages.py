"""The library's messages name no command-line flag (issue 12).

Every string literal (docstrings aside) in the packages below is scanned for ``--name``: their
errors and fit warnings say fixes in Python terms (``compute=``, ``fixed={'E': VALUE}``) and
``distillscale.cli.errors`` words them as flags. A flag's own parser is exempt: it parses the
flag's text, is called only by the command line, and its errors are about that text.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "distillscale"

#: Library parts whose messages are flag-free.
FLAG_FREE = ("planning", "fitting", "table.py", "columns.py", "runs_import", "laws", "flops")

#: (file, function): the parsers of a flag's own syntax (``--bound E=0.5:3``, ``--map a=b``).
FLAG_PARSERS = {
    ("fitting/constraints.py", "parse_bound"),
    ("columns.py", "parse_column_map"),
}

FLAG = re.compile(r"(?<![\w-])--[a-z]")


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
        and FLAG.search(node.value)
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
