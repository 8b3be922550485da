"""The README's and docs' commands run as written, and print the numbers they quote.

Every indented ``distillscale ...`` line of README.md (and of the fenced blocks of the fitting,
planning, FLOPs and laws docs) is run through the real command line,
except those that train (``train``, ``run`` without ``--dry-run``) or read a finished study
(``runs``, ``report``): the study and training tests cover those. A number with a decimal point
in a line's trailing comment (``# 18.33 tokens/param``) must appear, to its printed precision, in
what the command prints.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from distillscale.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED = next(
    (p for p in (ROOT.parent / "shared", Path("/work/shared")) if (p / "datasets").is_dir()), None
)
NEEDS_A_STUDY = {"train", "runs", "report"}
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def _readme_commands() -> list[tuple[str, str]]:
    """(command line, trailing comment) for each indented ``distillscale`` line."""
    out = []
    for line in README.read_text().splitlines():
        if not line.startswith("    distillscale "):
            continue
        code, _, comment = line.strip().partition("  # ")
        out.append((code.strip(), comment.strip()))
    return out


def _doc_commands(name: str, blocks: int | None = None) -> list[tuple[str, str]]:
    """``distillscale`` lines of the fenced blocks of ``docs/NAME`` (first ``blocks`` of them)."""
    out: list[tuple[str, str]] = []
    fence, seen, pending = False, 0, ""
    for line in (ROOT / "docs" / name).read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
            seen += fence
            continue
        if not fence or (blocks is not None and seen > blocks):
            continue
        line = pending + line.strip()
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        pending = ""
        if line.startswith("distillscale "):
            code, _, comment = line.partition("  # ")
            out.append((code.strip(), comment.strip()))
    return out


def _variables() -> dict[str, str]:
    """Shell variables the README sets (``DATA=...``)."""
    found = {}
    for line in README.read_text().splitlines():
        m = re.fullmatch(r"\s{4}([A-Z_]+)=(\S+)", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def _runnable(command: str) -> bool:
    words = command.split()
    sub = words[1]
    return sub not in NEEDS_A_STUDY and (sub != "run" or "--dry-run" in words)


COMMANDS = [
    c
    for c in (
        _readme_commands()
        + _doc_commands("fitting.md", blocks=1)  # later blocks read files a Python example writes
        + _doc_commands("planning.md")
        + _doc_commands("flops.md")
        + _doc_commands("laws.md")
    )
    if _runnable(c[0])
]
COMMANDS = [c for i, c in enumerate(COMMANDS) if c[0] not in {d for d, _ in COMMANDS[:i]}]


def _absolute(arg: str) -> str:
    """Paths the README gives relative to the checkout, made absolute (the test runs in tmp)."""
    for prefix in ("../shared/", "/work/shared/"):
        if arg.startswith(prefix) and SHARED is not None:
            return str(SHARED / arg.removeprefix(prefix))
    if arg.startswith("examples/"):
        return str(ROOT / arg)
    return arg


def _printed_numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def _appears(quoted: str, printed: list[float]) -> bool:
    """A number printed at least as precisely as ``quoted`` rounds to it."""
    value = float(quoted)
    mantissa = quoted.split("e")[0]
    decimals = len(mantissa.split(".")[1])
    exponent = int(quoted.split("e")[1]) if "e" in quoted else 0
    half_ulp = 0.5 * 10.0 ** (exponent - decimals)
    return any(abs(p - value) <= half_ulp * (1 + 1e-9) for p in printed)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One folder for all README commands, run in the README's order."""
    return tmp_path_factory.mktemp("readme")


def test_the_readme_lists_the_commands_this_test_runs():
    subs = {c.split()[1] for c, _ in COMMANDS}
    assert {"fit", "predict", "plan", "flops", "run"} <= subs
    assert len(COMMANDS) >= 15


@pytest.mark.skipif(SHARED is None, reason="the shared datasets folder is not beside the checkout")
@pytest.mark.parametrize(("command", "comment"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_readme_command_runs_as_written(command, comment, workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)  # shared: a later command reads what an earlier one wrote
    variables = _variables()
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
    printed = _printed_numbers(captured.out + captured.err)
    for quoted in NUMBER.findall(comment):
        assert _appears(quoted, printed), f"{command}: README says {quoted}, not printed"


@pytest.mark.skipif(SHARED is None, reason="the shared datasets folder is not beside the checkout")
def test_readme_python_example_runs_as_written(tmp_path, monkeypatch):
    text = README.read_text()
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    code = block.replace('"../shared/', f'"{SHARED}/')
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    fit = namespace["fit"]
    assert fit.params["E"] == pytest.approx(1.8172, abs=1e-4)
    assert float(fit.predict(params=70e9, tokens=1.4e12)) == pytest.approx(1.973, abs=1e-3)
    assert (tmp_path / "fit.json").exists()
