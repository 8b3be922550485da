"""Bootstrap coverage: how often the 90% percentile interval covers the true coefficient.

For each supervised law (truth = a published set), draw R synthetic tables of n runs with 0.5%
log-normal noise, fit with huber-grid and K bootstrap resamples, and count how often each
parameter's interval contains its true value. Nominal coverage is 90%; percentile intervals
from ~100 runs typically cover a little less. Prints machine, commit and a table.

Usage: ``.venv/bin/python bench/fit_coverage.py [--reps 40] [--resamples 200] [--runs 100]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import distillscale as ds
from _machine import machine as describe_machine

TRUTH = {
    "chinchilla": "@besiroglu2024",
    "chinchilla-gamma": "@busbridge2025-supervised",
    "kaplan": "@kaplan2020",
    "overtrain": "@gadre2024-c4",
    "downstream": "@gadre2024-c4-downstream",
}


def machine() -> str:
    return describe_machine(f"numpy {np.__version__}")


def table(law: str, truth: ds.Fit, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if law == "downstream":
        x = {"loss": rng.uniform(2.0, 5.0, n)}
    else:
        params = 10 ** rng.uniform(7, 10.5, n)
        x = {"params": params, "tokens": params * 10 ** rng.uniform(0.3, 2.5, n)}
    y = truth.predict(**x) * np.exp(0.005 * rng.standard_normal(n))
    return pd.DataFrame({**x, truth.law_obj.output: y})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--ci", type=float, default=0.9)
    args = parser.parse_args()
    print(machine())
    print(f"{args.reps} tables x {args.runs} runs, 0.5% noise, K={args.resamples}, ci={args.ci}")
    for law, name in TRUTH.items():
        truth = ds.load_fit(name)
        rng = np.random.default_rng(0)
        hits = {p: 0 for p in truth.params}
        t = time.perf_counter()
        for rep in range(args.reps):
            fit = ds.fit(
                table(law, truth, args.runs, rng),
                law,
                bootstrap=args.resamples,
                ci=args.ci,
                seed=rep,
            )
            for p, v in truth.params.items():
                lo, hi = fit.ci[p]
                hits[p] += lo <= v <= hi
        cover = ", ".join(f"{p} {h / args.reps:.0%}" for p, h in hits.items())
        overall = sum(hits.values()) / (args.reps * len(hits))
        print(f"{law:17s} overall {overall:.1%} ({cover}) in {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
