"""Bootstrap coverage: how often the 90% intervals cover the true coefficient or a new run.

For each supervised law (truth = a published set), draw R synthetic tables of n runs with 0.5%
log-normal noise, fit with huber-grid and K bootstrap resamples, and count how often each
parameter's interval contains its true value. Nominal coverage is 90%; percentile intervals
from ~100 runs typically cover a little less.

``--new-runs M`` also draws M new noisy runs per table from the same design (same noise) and
counts how often the two prediction intervals of ``Fit.predict(..., interval=True)`` contain
the new run's observed value: the confidence interval of the curve (``lower``/``upper``,
parameter uncertainty only: far below nominal) and the prediction interval
(``prediction_lower``/``prediction_upper``, plus residual scatter: near nominal).
``--noise t3`` draws the noise from a Student t with 3 degrees of freedom (scaled to the same
0.5% MAD-equivalent width) instead of a normal. Prints machine, commit and a table.

Usage: ``.venv/bin/python bench/fit_coverage.py [--reps 40] [--resamples 200] [--runs 100]
[--new-runs 200] [--noise normal|t3] [--laws chinchilla,kaplan]``
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


def table(
    law: str, truth: ds.Fit, n: int, rng: np.random.Generator, noise: str = "normal"
) -> pd.DataFrame:
    if law == "downstream":
        x = {"loss": rng.uniform(2.0, 5.0, n)}
    else:
        params = 10 ** rng.uniform(7, 10.5, n)
        x = {"params": params, "tokens": params * 10 ** rng.uniform(0.3, 2.5, n)}
    if noise == "t3":  # heavy tails; 0.765 = MAD of t3 / MAD of a normal
        e = rng.standard_t(3, n) / 0.765 / 1.4826 * 0.6745
    else:
        e = rng.standard_normal(n)
    y = truth.predict(**x) * np.exp(0.005 * e)
    return pd.DataFrame({**x, truth.law_obj.output: y})


def new_run_coverage(fit: ds.Fit, new: pd.DataFrame) -> tuple[float, float]:
    """Fractions of new runs inside the curve (confidence) and prediction intervals."""
    law = fit.law_obj
    pred = fit.predict(**{k: new[k].to_numpy() for k in law.inputs}, interval=True)
    y = new[law.output].to_numpy()
    assert pred.prediction_lower is not None and pred.prediction_upper is not None
    ci = np.mean((pred.lower <= y) & (y <= pred.upper))
    pi = np.mean((pred.prediction_lower <= y) & (y <= pred.prediction_upper))
    return float(ci), float(pi)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--ci", type=float, default=0.9)
    parser.add_argument("--new-runs", type=int, default=0)
    parser.add_argument("--noise", choices=("normal", "t3"), default="normal")
    parser.add_argument("--laws", default=",".join(TRUTH))
    args = parser.parse_args()
    print(machine())
    print(
        f"{args.reps} tables x {args.runs} runs, 0.5% {args.noise} noise, K={args.resamples}, "
        f"ci={args.ci}, {args.new_runs} new runs per table"
    )
    for law in args.laws.split(","):
        truth = ds.load_fit(TRUTH[law])
        rng = np.random.default_rng(0)
        hits = {p: 0 for p in truth.params}
        ci_cover, pi_cover = [], []
        t = time.perf_counter()
        for rep in range(args.reps):
            fit = ds.fit(
                table(law, truth, args.runs, rng, args.noise),
                law,
                bootstrap=args.resamples,
                ci=args.ci,
                seed=rep,
            )
            for p, v in truth.params.items():
                lo, hi = fit.ci[p]
                hits[p] += lo <= v <= hi
            if args.new_runs:
                c, p_ = new_run_coverage(fit, table(law, truth, args.new_runs, rng, args.noise))
                ci_cover.append(c)
                pi_cover.append(p_)
        cover = ", ".join(f"{p} {h / args.reps:.0%}" for p, h in hits.items())
        overall = sum(hits.values()) / (args.reps * len(hits))
        print(f"{law:17s} overall {overall:.1%} ({cover}) in {time.perf_counter() - t:.0f} s")
        if args.new_runs:
            print(
                f"{'':17s} new runs inside: curve interval {np.mean(ci_cover):.1%}, "
                f"prediction interval {np.mean(pi_cover):.1%}"
            )


if __name__ == "__main__":
    main()
