"""``distillscale ARGS...`` with the study trainer replaced by the fast fake (tests/study/fakes).

Usage: python fault_driver.py STEP_SECONDS ARGS...

The command line is the real one (``distillscale.cli.main``: its messages and exit status);
only the run function of ``run_study`` is the fake's, so a study takes seconds and records in
each run's workdir whether it trained to its end (``trained_to_end.log``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for study.fakes

from distillscale.cli import main  # noqa: E402
from distillscale.study import runner  # noqa: E402
from study.fakes import fast_run_fn  # noqa: E402

if __name__ == "__main__":
    assert runner.run_study.__kwdefaults__ is not None
    runner.run_study.__kwdefaults__["run_fn"] = fast_run_fn(float(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))
