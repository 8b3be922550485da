"""What every benchmark prints first: the machine, its load, library versions and the commit.

Benchmarks are run as scripts (``python bench/NAME.py``), so this module is imported as
``_machine`` from the script's own folder.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def git_commit() -> str:
    """Short hash of the checked-out commit, or ``"unknown"`` outside a git checkout."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine(*versions: str) -> str:
    """One line: host, processor, CPUs, 1-minute load, the given versions, the commit."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    parts = [
        f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs, load {load:.1f}",
        f"Python {platform.python_version()}",
        *versions,
        f"commit {git_commit()}",
    ]
    return ", ".join(parts)
