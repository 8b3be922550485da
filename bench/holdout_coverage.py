"""Held-out coverage of the 90% intervals on public run tables (examples/data).

Each case fits the ``chinchilla`` law with K bootstrap resamples on the small-compute runs and
checks the largest ones (``--train-where``/``--test-where``, as ``distillscale fit`` does):
how many held-out runs lie inside the confidence interval of the curve (``interval``:
parameter uncertainty only, what ``predict`` offered before) and inside the prediction interval
for a new run (``prediction_interval``: plus the fit's residual scatter).

- chinchilla: Hoffmann et al.'s 240 non-outlier runs; fit on C < 1e21 FLOPs, check C >= 1e21.
- datablations: Muennighoff et al.'s single-epoch runs (epochs == 1, tokens >= 1e9: the 1e8-token
  runs are far from converged); fit on 6ND < 1e20, check the rest.
- multipowerlaw: Luo et al.'s constant-LR curves (3 sizes, 72k steps), every 4th logged step,
  ``tokens`` = step (the batch size is not recorded; it only rescales B); fit on steps < 24000,
  check steps >= 48000 (loss after 2-3x more training).

Each table is also split at random into 5 folds (a seeded permutation index mod 5), and each fold
is checked with a fit on the other four (5-fold cross-validation, counts summed over folds):
interpolation, where the law is not extrapolated.

Usage: ``.venv/bin/python bench/holdout_coverage.py [--resamples 200] [--ci 0.9]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import distillscale as ds
from _machine import machine as describe_machine
from distillscale import example_data

DATA = Path(__file__).resolve().parents[1] / "examples" / "data"


def cases() -> dict[str, tuple[pd.DataFrame, str, str]]:
    """name -> (table, train filter, test filter)."""
    chin = pd.read_csv(DATA / "chinchilla.csv").query("outlier == 0")
    dbl = pd.read_csv(example_data.path("data_constrained"))
    dbl = dbl.query("epochs == 1 and tokens >= 1e9").assign(flops=lambda f: 6 * f.params * f.tokens)
    mpl = pd.read_csv(example_data.path("loss_curves"))
    mpl = mpl[mpl.schedule == "constant_72000"].iloc[::4]
    sizes = {"25M": 25e6, "100M": 100e6, "400M": 400e6}
    mpl = pd.DataFrame(
        {
            "run": mpl["run"] + "@" + mpl["step"].astype(str),
            "params": mpl["model_size"].map(sizes),
            "tokens": mpl["step"].astype(float),
            "loss": mpl["loss"],
        }
    )
    out = {
        "chinchilla": (chin, "flops < 1e21", "flops >= 1e21"),
        "datablations": (dbl, "flops < 1e20", "flops >= 1e20"),
        "multipowerlaw": (mpl, "tokens < 24000", "tokens >= 48000"),
    }
    for name, (frame, _, _) in list(out.items()):
        fold = np.random.default_rng(0).permutation(len(frame)) % 5
        for k in range(5):
            out[f"{name} fold {k}"] = (frame.assign(fold=fold), f"fold != {k}", f"fold == {k}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--ci", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(describe_machine(f"numpy {np.__version__}"))
    totals: dict[str, list[int]] = {}
    for name, (frame, train, test) in cases().items():
        t = time.perf_counter()
        fit = ds.fit(
            frame,
            "chinchilla",
            bootstrap=args.resamples,
            ci=args.ci,
            seed=args.seed,
            train_where=train,
            test_where=test,
        )
        rows = fit.holdout or ()
        x = frame.query(test)
        pred = fit.predict(
            params=x["params"].to_numpy(), tokens=x["tokens"].to_numpy(), interval=True
        )
        y = x["loss"].to_numpy()
        in_ci = int(np.sum((pred.lower <= y) & (y <= pred.upper)))
        in_pi = sum(bool(h.inside) for h in rows)
        err = float(np.mean([abs(h.rel_error) for h in rows]))
        print(
            f"{name:20s} fit {fit.n_points:4d} runs, {len(rows):3d} held out, mean |rel error| "
            f"{err:.2%}: inside curve interval {in_ci}/{len(rows)} ({in_ci / len(rows):.0%}), "
            f"inside prediction interval {in_pi}/{len(rows)} ({in_pi / len(rows):.0%}) "
            f"in {time.perf_counter() - t:.0f} s"
        )
        if " fold " in name:
            total = totals.setdefault(name.split(" fold ")[0], [0, 0, 0])
            total[0] += len(rows)
            total[1] += in_ci
            total[2] += in_pi
    for name, (n, in_ci, in_pi) in totals.items():
        print(
            f"{name + ' 5-fold':20s} {n:3d} held out: inside curve interval {in_ci}/{n} "
            f"({in_ci / n:.0%}), inside prediction interval {in_pi}/{n} ({in_pi / n:.0%})"
        )


if __name__ == "__main__":
    main()
