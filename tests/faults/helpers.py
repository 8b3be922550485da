"""Shared pieces of the fault tests: a small spec, the CLI with the fake trainer, leak search."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from study.specs import TINY

DRIVER = Path(__file__).with_name("fault_driver.py")


def small_spec(**overrides: Any) -> dict[str, Any]:
    """TINY cut to one teacher and one student budget: a teacher, its cache, a student and
    its baseline (4 tasks, 3 runs)."""
    doc = copy.deepcopy(TINY)
    doc["name"] = "faulty"
    doc["teachers"] = {"depths": [1], "tokens_per_param": [0.05]}
    doc["students"] = {"depths": [1], "tokens": [2048]}
    doc["executor"] = {**doc["executor"], "workers": 1}
    doc.update(overrides)
    return doc


def write_yaml(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", NO_COLOR="1", PYTHONWARNINGS="ignore", COLUMNS="200")
    env.update(extra)
    return env


def start_cli(
    *args: str, step_seconds: float = 0.0, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``distillscale ARGS`` (the study trainer faked) in a subprocess, output captured."""
    return subprocess.Popen(
        [sys.executable, str(DRIVER), str(step_seconds), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or cli_env(),
    )


def run_cli(
    *args: str, step_seconds: float = 0.0, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """:func:`start_cli` to the end."""
    proc = start_cli(*args, step_seconds=step_seconds, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        message = f"distillscale {' '.join(args)} ran past {timeout} s: {err[-3000:]}"
        raise AssertionError(message) from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def result_doc(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The ``--json`` document of a finished ``run``, or a failure showing its stderr."""
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def leaks(root: Path, secrets: list[str]) -> list[str]:
    """Files under ``root`` (every one, binary included) that contain any of ``secrets``."""
    needles = [s.encode() for s in secrets]
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and any(n in path.read_bytes() for n in needles)
    )


def synthetic_runs_csv(tmp_path: Path) -> Path:
    """30 runs drawn from a Chinchilla law (seeded), as ``tmp_path/runs.csv``."""
    rng = np.random.default_rng(0)
    params = 10 ** rng.uniform(7, 10, 30)
    tokens = params * 10 ** rng.uniform(0.5, 2.5, 30)
    loss = 1.8 + 480 / params**0.35 + 2100 / tokens**0.37
    path = tmp_path / "runs.csv"
    pd.DataFrame({"params": params, "tokens": tokens, "loss": loss}).to_csv(path, index=False)
    return path
