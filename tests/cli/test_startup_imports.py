"""CLI start-up stays light: the quick commands never import the heavy dependencies.

Each command runs in a fresh interpreter (``distillscale.cli.main``) and reports which of the
heavy modules ended up in ``sys.modules``. Not a timing test: timings are measured by hand (see
docs/architecture.md); this guards the cause, an eager import at module level.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Modules that `laws`, `predict` and `--help` must not load (each costs 0.1-1 s to import).
HEAVY = (
    "pandas",
    "scipy",
    "sqlalchemy",
    "torch",
    "matplotlib",
    "yaml",
    "pyarrow",
    "ray",
    "transformers",
    "datasets",
    "distillscale.table",
    "distillscale.fitting.api",
    "distillscale.planning",
    "distillscale.study",
    "distillscale.report",
    "distillscale.train",
    "distillscale.runs_import",
)

_PROBE = """
import json, sys
from distillscale.cli import main
code = main(sys.argv[1:])
heavy = json.loads(sys.stdin.read())
print(json.dumps({"code": code, "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""

COMMANDS = {
    "laws": ["laws"],
    "predict": [
        "predict", "@busbridge2025", "--params", "1e9", "--tokens", "2e10", "--teacher-loss", "2.2"
    ],
    "help": ["--help"],
}  # fmt: skip


@pytest.mark.parametrize("name", list(COMMANDS))
def test_quick_commands_do_not_import_heavy_modules(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *COMMANDS[name]],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr[-2000:]
    assert report["loaded"] == [], f"`distillscale {' '.join(COMMANDS[name])}` imported {report}"
