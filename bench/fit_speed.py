"""Fit speed: distillscale's huber-grid against a per-start SciPy L-BFGS-B loop, same process.

1. Chinchilla (240 runs, Hoffmann's 4500-start grid): distillscale vs SciPy L-BFGS-B run
   separately from a seeded sample of the grid's starts (analytic gradient, SciPy's default
   tolerances, as in Besiroglu et al. 2024), its time scaled to all 4500. Both run with
   single-threaded BLAS. Target: >= 100x faster with an equal or better objective.
2. A 1000-resample bootstrap of that fit. Target: < 30 s on 2 cores.
3. The distillation law's full published start grid (216,000 starts) on 700 synthetic runs.
   Target: < 60 s. ``--distill-loop-starts N`` also runs SciPy L-BFGS-B from the N starts
   with the lowest objective and prints the best it reaches (a check, not a timing).

Usage: ``.venv/bin/python bench/fit_speed.py [--loop-starts 300]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

import distillscale as ds
from _machine import machine as describe_machine
from distillscale.fitting import Bootstrap, HuberGrid
from distillscale.fitting.objective import values, values_grads
from distillscale.fitting.optimise import serial_blas

CHINCHILLA = Path(__file__).resolve().parents[1] / "examples/data/chinchilla.csv"
EPOCH_OBJECTIVE = (
    0.0010182740346  # Besiroglu et al.'s best over the grid (docs/references.md: Chinchilla)
)


def machine() -> str:
    return describe_machine(f"numpy {np.__version__}")


def best_of(fn, repeats: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def chinchilla(loop_starts: int) -> None:
    table = ds.read_runs(CHINCHILLA, where="outlier == 0")
    t_ours, est = best_of(lambda: HuberGrid("chinchilla").fit(table))
    prep = est.prepare(table)
    law, problem = prep.law, prep.problem
    grid = law.start_grid()
    bounds = list(zip(law.lower, law.upper, strict=True))

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = values_grads(problem, z[None, :])
        return float(f[0]), g[0]

    rng = np.random.default_rng(0)
    sample = grid[rng.choice(len(grid), size=min(loop_starts, len(grid)), replace=False)]
    best = np.inf
    t = time.perf_counter()
    with serial_blas():
        for start in sample:
            res = minimize(fun, start, jac=True, method="L-BFGS-B", bounds=bounds)
            if res.success:
                best = min(best, float(res.fun))
    t_loop = (time.perf_counter() - t) * len(grid) / len(sample)
    print(
        f"chinchilla grid ({len(grid)} starts, {problem.n_points} runs): distillscale "
        f"{t_ours:.3f} s, objective {est.objective_:.13g}"
    )
    print(
        f"  SciPy L-BFGS-B per start: {t_loop / len(grid) * 1e3:.2f} ms x {len(grid)} = "
        f"{t_loop:.1f} s (timed {len(sample)} starts); best of those {best:.13g}; "
        f"Epoch's best over the whole grid {EPOCH_OBJECTIVE:.13g}"
    )
    verdict = "<=" if est.objective_ <= min(best, EPOCH_OBJECTIVE) else ">"
    print(f"  speed-up {t_loop / t_ours:.0f}x; objective {verdict} the loop's and Epoch's")
    t = time.perf_counter()
    boot = Bootstrap(HuberGrid("chinchilla"), n_resamples=1000, seed=0).fit(table)
    t_boot = time.perf_counter() - t
    ci = {k: f"[{lo:.4g}, {hi:.4g}]" for k, (lo, hi) in boot.ci_.items()}
    print(f"bootstrap 1000 resamples (full fit included): {t_boot:.1f} s; 90% CI {ci}")


def distillation(loop_starts: int, n_runs: int = 700) -> None:
    rng = np.random.default_rng(0)
    truth = ds.load_fit("@busbridge2025")
    params = 10 ** rng.uniform(7, 10.5, n_runs)
    tokens = params * 10 ** rng.uniform(0.3, 2.5, n_runs)
    teacher_loss = rng.uniform(1.9, 3.2, n_runs)
    loss = truth.predict(params=params, tokens=tokens, teacher_loss=teacher_loss)
    loss = loss * np.exp(0.005 * rng.standard_normal(n_runs))
    frame = pd.DataFrame(
        {"params": params, "tokens": tokens, "teacher_loss": teacher_loss, "loss": loss}
    )
    table = ds.read_runs(frame)
    est = HuberGrid("distillation", supervised="@busbridge2025-supervised")
    n_starts = len(est.prepare(table).law.start_grid())
    t = time.perf_counter()
    est.fit(table)
    elapsed = time.perf_counter() - t
    print(
        f"distillation full grid ({n_starts} starts, {n_runs} runs): {elapsed:.1f} s, "
        f"objective {est.objective_:.9g}, converged {est.result_.diagnostics.converged}"
    )
    if loop_starts <= 0:
        return
    # Check: SciPy L-BFGS-B from the starts with the lowest objective on all runs.
    prep = est.prepare(table)
    law, problem = prep.law, prep.problem
    grid = law.start_grid()
    order = np.argsort(values(problem, grid), kind="stable")[:loop_starts]
    bounds = list(zip(law.lower, law.upper, strict=True))

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = values_grads(problem, z[None, :])
        return float(f[0]), g[0]

    t = time.perf_counter()
    with serial_blas():
        best = min(
            float(minimize(fun, grid[i], jac=True, method="L-BFGS-B", bounds=bounds).fun)
            for i in order
        )
    print(
        f"  SciPy L-BFGS-B from the {len(order)} best grid starts: best objective {best:.9g} "
        f"in {time.perf_counter() - t:.0f} s (distillscale {est.objective_:.9g})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop-starts", type=int, default=300)
    parser.add_argument(
        "--distill-loop-starts",
        type=int,
        default=0,
        help="also run SciPy L-BFGS-B from this many best distillation grid starts (slow)",
    )
    args = parser.parse_args()
    print(machine())
    chinchilla(args.loop_starts)
    distillation(args.distill_loop_starts)


if __name__ == "__main__":
    main()
