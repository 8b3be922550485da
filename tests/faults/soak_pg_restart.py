"""Stop and restart a throwaway PostgreSQL server under several studies; print the fault counts.

Usage: python tests/faults/soak_pg_restart.py

Five small studies (tests/faults/helpers.small_spec, fake trainer at 0.1 s a step), each with one
or two stops of 0.5-6 s, the first after 0 to 3 runs are done. Counts: faults injected, studies
that did not exit 0 (each is rerun, as a user would), then runs lost (not done), trained twice
(to their end in two attempts) and silently wrong (loss or curve unlike the fake trainer's).
Takes 3-4 minutes on two busy cores.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/

from faults.helpers import run_cli, small_spec, start_cli, write_yaml  # noqa: E402
from faults.pg_server import NO_SERVER, ThrowawayPostgres, binaries  # noqa: E402
from faults.test_pg_restart import _check_study, _wait_for_done  # noqa: E402

#: Per study: (runs done before the stop, 0 = 3 s after the start; seconds the server is away).
PLANS = [[(1, 1.0)], [(2, 6.0)], [(1, 2.0), (2, 2.0)], [(0, 3.0)], [(1, 0.5), (3, 4.0)]]


def main() -> int:
    bindir = binaries()
    if bindir is None:
        print(NO_SERVER)
        return 2
    pg = ThrowawayPostgres(bindir)
    totals = {"faults": 0, "exit_not_0": 0, "lost": 0, "trained_twice": 0, "wrong": 0}
    try:
        with tempfile.TemporaryDirectory(prefix="ds-soak-") as tmp:
            for i, plan in enumerate(PLANS):
                url = pg.create_database()
                doc = small_spec(store=url)
                spec = write_yaml(Path(tmp) / f"{i}.yaml", doc)
                study = Path(tmp) / f"study{i}"
                proc = start_cli("run", str(spec), "--out", str(study), step_seconds=0.1)
                for done, outage in plan:
                    if done:
                        _wait_for_done(url, proc, done)
                    else:
                        time.sleep(3.0)
                    if proc.poll() is not None:
                        break
                    pg.stop()
                    time.sleep(outage)
                    pg.start()
                    totals["faults"] += 1
                _, err = proc.communicate(timeout=300)
                if proc.returncode != 0:  # as a user would: rerun the same command
                    totals["exit_not_0"] += 1
                    print(err.strip().splitlines()[-1])
                    rerun = run_cli("run", str(spec), "--out", str(study), step_seconds=0.1)
                    print(f"rerun: exit {rerun.returncode}")
                counts = _check_study(doc, url, study)
                for key, value in counts.items():
                    totals[key] += value
                print(f"study {i}: stops {plan}: exit {proc.returncode}, {counts}", flush=True)
    finally:
        pg.close()
    print(totals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
