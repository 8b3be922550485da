"""Chaos numbers: SIGKILL real tiny studies at seeded moments and count what they survive.

Runs the harness of ``tests/chaos/harness.py`` outside the test suite, for more seeds and kills
than the suite affords, and prints one line per seed (kills survived, rounds, seconds,
invariant checks passed) and a JSON summary. A failed invariant stops it with the assertion.

Usage::

    .venv/bin/python bench/chaos.py --executor local --seeds 1 2 3 --kills 6
    .venv/bin/python bench/chaos.py --executor ray --seeds 1 --kills 4
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _harness():
    spec = importlib.util.spec_from_file_location(
        "chaos_harness", ROOT / "tests" / "chaos" / "harness.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["chaos_harness"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executor", choices=("local", "ray"), default="local")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--kills", type=int, default=6, help="SIGKILLs per seed (at most)")
    parser.add_argument("--budget", type=float, default=300.0, help="kill phase, seconds")
    parser.add_argument(
        "--arm-nodes", type=int, default=1, help="most nodes finishing in a round before a kill"
    )
    parser.add_argument("--max-delay", type=float, default=1.5, help="kill delay, seconds")
    args = parser.parse_args()
    h = _harness()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    results = []
    with tempfile.TemporaryDirectory(prefix="distillscale-chaos-") as tmp:
        base = Path(tmp)
        corpus = h.write_corpus(base / "corpus.txt")
        ref_spec = h.write_spec(base / "reference.yaml", h.tiny_spec(corpus))
        t0 = time.monotonic()
        h.run_cli(ref_spec, base / "reference")
        reference_seconds = time.monotonic() - t0
        print(f"reference study: {reference_seconds:.0f} s", flush=True)
        doc = h.tiny_spec(corpus, executor=args.executor)
        if args.executor == "ray":
            doc["executor"]["address"] = "local"
        spec = h.write_spec(base / "chaos.yaml", doc)
        find = h.ray_workers if args.executor == "ray" else h.local_workers
        for seed in args.seeds:
            out = base / f"seed{seed}"
            log = h.chaos(
                spec,
                out,
                seed=seed,
                max_kills=args.kills,
                budget_seconds=args.budget,
                find_workers=find,
                arm_nodes=args.arm_nodes,
                max_delay=args.max_delay,
            )
            checked = h.check_study(out, base / "reference", log)
            print(f"seed {seed}: {h.summary(log, checked)}", flush=True)
            results.append(
                {
                    "seed": seed,
                    "kills": len(log.kills),
                    "driver_kills": log.count("driver"),
                    "worker_kills": log.count("worker"),
                    "rounds": log.rounds,
                    "seconds": round(log.seconds, 1),
                    "checks": checked.total,
                    "unexpected_exits": len(log.unexpected_exits),
                    "lingering": len(log.lingering),
                    "leftover_tmp_files": len(checked.leftovers),
                }
            )
    print(
        json.dumps(
            {
                "executor": args.executor,
                "machine": f"{platform.node()} {platform.machine()}",
                "commit": commit,
                "reference_seconds": round(reference_seconds, 1),
                "results": results,
                "kills_survived": sum(r["kills"] for r in results),
                "checks_passed": sum(r["checks"] for r in results),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
