"""Safe loading and secrets: no unsafe deserialisers in ``src/``, passwords never printed.

1. An ``ast`` scan of every module under ``src/distillscale`` refuses ``torch.load`` without
   ``weights_only=True``, ``yaml.load``/``load_all`` without a safe loader, ``yaml.unsafe_load``
   and ``full_load``, ``pickle``/``marshal``/``dill``/``shelve`` loads, ``numpy.load`` with
   ``allow_pickle=True``, builtin ``eval``/``exec`` and ``subprocess`` with ``shell=True``.
   The scanner is tested on a synthetic module so that it can fail.
2. A store URL's password never reaches stdout or stderr, whatever the command.
"""

from __future__ import annotations

import ast
import json
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import distillscale
from distillscale.cli import main

from ._fuzz import count, fuzz_settings

SRC = Path(distillscale.__file__).resolve().parent
_SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}
_UNSAFE_MODULE_LOADS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("pickle", "Unpickler"),
    ("cPickle", "load"),
    ("cPickle", "loads"),
    ("dill", "load"),
    ("dill", "loads"),
    ("marshal", "load"),
    ("marshal", "loads"),
    ("shelve", "open"),
    ("jsonpickle", "decode"),
    ("yaml", "unsafe_load"),
    ("yaml", "unsafe_load_all"),
    ("yaml", "full_load"),
    ("yaml", "full_load_all"),
}


def _dotted(node: ast.expr) -> str:
    """``torch.load`` for ``Attribute(Name('torch'), 'load')``; '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def unsafe_calls(source: str, filename: str = "<src>") -> list[str]:
    """Every unsafe deserialising or code-running call in ``source``, as ``file:line: what``."""
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}  # local name -> module.attr, from imports
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        head, _, rest = name.partition(".")
        full = f"{aliases.get(head, head)}.{rest}" if rest else aliases.get(head, head)
        module, _, attr = full.rpartition(".")
        where = f"{filename}:{node.lineno}"
        if full == "torch.load" and not _is_true(_keyword(node, "weights_only")):
            found.append(f"{where}: torch.load without weights_only=True")
        elif full in ("yaml.load", "yaml.load_all"):
            loader = _keyword(node, "Loader") or (node.args[1] if len(node.args) > 1 else None)
            if loader is None or _dotted(loader).rpartition(".")[2] not in _SAFE_YAML_LOADERS:
                found.append(f"{where}: {full} without a safe Loader")
        elif (module.rpartition(".")[2], attr) in _UNSAFE_MODULE_LOADS:
            found.append(f"{where}: {full}")
        elif full in ("numpy.load", "np.load") and _is_true(_keyword(node, "allow_pickle")):
            found.append(f"{where}: numpy.load with allow_pickle=True")
        elif isinstance(node.func, ast.Name) and node.func.id in ("eval", "exec"):
            found.append(f"{where}: builtin {node.func.id}")
        elif module == "subprocess" and _is_true(_keyword(node, "shell")):
            found.append(f"{where}: subprocess.{attr} with shell=True")
    return found


def test_the_scanner_finds_each_unsafe_call() -> None:
    bad = """
import pickle, yaml, torch, subprocess
import numpy as np
from pickle import loads as unpickle
from yaml import load
torch.load("x.pt")
torch.load("x.pt", weights_only=False)
yaml.load(text)
yaml.load(text, Loader=yaml.Loader)
load(text, Loader=yaml.FullLoader)
yaml.unsafe_load(text)
pickle.load(handle)
unpickle(data)
np.load("a.npy", allow_pickle=True)
eval("1 + 1")
subprocess.run("ls", shell=True)
"""
    assert len(unsafe_calls(bad)) == 11, unsafe_calls(bad)
    good = """
import yaml, torch, numpy as np
torch.load("x.pt", map_location="cpu", weights_only=True)
yaml.safe_load(text)
yaml.load(text, Loader=yaml.SafeLoader)
np.load("a.npy")
model.eval()
frame.eval("a + b")
"""
    assert unsafe_calls(good) == []


def test_no_module_under_src_loads_unsafely() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 20  # the scan sees the whole package
    found = [hit for f in files for hit in unsafe_calls(f.read_text(encoding="utf-8"), str(f))]
    assert found == []


# --- secrets in store URLs -------------------------------------------------------------------
_STORE_COMMANDS = (
    ["runs", "list", "--store"],
    ["runs", "list", "--json", "--store"],
    ["runs", "export", "-o", "out.csv", "--store"],
)


@pytest.mark.parametrize("command", _STORE_COMMANDS)
@pytest.mark.parametrize(
    "password",
    ["secret", "se cret", "pass/word", "pa:ss", "sec#ret", "sec?ret", "s%40cret", "p@Zq9tail"],
)
def test_store_passwords_are_redacted_in_errors(
    command: list[str], password: str, capsys: pytest.CaptureFixture[str], fast_cli: None
) -> None:
    url = f"postgresql+psycopg://u:{password}@127.0.0.1:1/db"  # port 1: refused at once
    capsys.readouterr()
    assert main([*command, url]) == 2
    captured = capsys.readouterr()
    assert password not in captured.err and password not in captured.out
    assert "***" in captured.err


@fuzz_settings(30)
@given(
    secret=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF),  # '@' included
        min_size=1,
        max_size=12,
    ),
    encode=st.booleans(),
)
def test_random_store_passwords_never_reach_the_output(
    secret: str, encode: bool, capsys: pytest.CaptureFixture[str], fast_cli: None
) -> None:
    count("safety.store_password")
    password = "Zq9" + secret  # a prefix no message contains by chance
    url = (
        f"postgresql+psycopg://u:{quote(password, safe='') if encode else password}@127.0.0.1:1/db"
    )
    capsys.readouterr()
    status = main(["runs", "list", "--store", url])
    captured = capsys.readouterr()
    assert status == 2, captured.err
    shown = quote(password, safe="") if encode else password
    assert shown not in captured.err and password not in captured.err
    assert "Traceback" not in captured.err


def test_a_spec_store_password_is_not_printed_by_a_dry_run(
    capsys: pytest.CaptureFixture[str], fast_cli: None
) -> None:
    from .test_study_spec import TINY

    path = Path(tempfile.mkdtemp(prefix="distillscale-fuzz-safety-")) / "study.yaml"
    doc = dict(TINY, store="postgresql+psycopg://u:Zq9s3cret@127.0.0.1:1/db")
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    for extra in ([], ["--json"]):
        capsys.readouterr()
        assert main(["run", str(path), "--dry-run", *extra]) == 0
        captured = capsys.readouterr()
        assert "Zq9s3cret" not in captured.out + captured.err
        if extra:
            json.loads(captured.out)
