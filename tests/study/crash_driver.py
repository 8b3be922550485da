"""Driver process for the crash-safety test: run a study spec (JSON) with the fake trainer.

Usage: python crash_driver.py SPEC.json OUT_DIR STEP_SECONDS
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for study.fakes

from rich.console import Console  # noqa: E402

from distillscale.study.runner import run_study  # noqa: E402
from distillscale.study.spec import parse_spec  # noqa: E402
from study.fakes import fast_run_fn  # noqa: E402

if __name__ == "__main__":
    doc = json.loads(Path(sys.argv[1]).read_text())
    run_study(
        parse_spec(doc),
        sys.argv[2],
        console=Console(stderr=True, quiet=True),
        run_fn=fast_run_fn(float(sys.argv[3])),
    )
