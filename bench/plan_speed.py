"""Speed of the planner on @busbridge2025: a full scenario table and the threshold search.

Baseline, measured in the same process: the paper's method (SciPy SLSQP on log D_S, log N_T,
log D_T with the Eq. 9 budget as an equality constraint, one fixed start) on the same recipes.
Prints wall times, the ratio planner/SLSQP, and how often SLSQP ends worse than the planner.

Run: .venv/bin/python bench/plan_speed.py
"""

from __future__ import annotations

import math
import platform
import subprocess
import time

import numpy as np
from scipy.optimize import minimize

from distillscale.flops import SCENARIOS
from distillscale.planning import distillation_threshold, optimal_recipe
from distillscale.planning.distill import switches
from distillscale.planning.fits import resolve_fit, surfaces

BUDGETS = (1e19, 1e20, 1e21, 1e22, 1e23, 1e24)
STUDENT = 1.82e9
LO, HI = math.log(1e6), math.log(1e17)


def slsqp_recipe(surface, n_s: float, c: float, scenario: str) -> float:
    """Student loss found by SLSQP from one start (log D_S, log N_T, log D_T)."""
    lgt, pre = switches(scenario)
    fl = surface.flops

    def loss(x):
        d_s, n_t, d_t = np.exp(x)
        return float(surface.student_loss(n_s, d_s, surface.supervised.loss(n_t, d_t)))

    def budget(x):
        d_s, n_t, d_t = np.exp(x)
        f_t = float(fl.forward(n_t))
        spent = float(fl.train(n_s)) * d_s + f_t * (lgt * d_s + pre * 3 * d_t)
        return math.log(spent) - math.log(c)

    x0 = np.array([math.log(c / float(fl.train(n_s))) - 1.0, math.log(n_s), math.log(20 * n_s)])
    x0 = np.clip(x0, LO, HI)
    res = minimize(
        loss,
        x0,
        method="SLSQP",
        bounds=[(LO, HI)] * 3,
        constraints=[{"type": "eq", "fun": budget}],
        options={"maxiter": 500, "ftol": 1e-12},
    )
    ok = abs(budget(res.x)) < 1e-6
    return loss(res.x) if ok else math.inf


def main() -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}",
        f"python {platform.python_version()}",
    )
    print(f"commit: {commit}")
    fs = surfaces(resolve_fit("@busbridge2025"), distillation=True, max_samples=0)
    surface = fs.distillation
    assert surface is not None

    optimal_recipe(surface, student_params=STUDENT, compute=1e21, scenario="teacher-free")  # warm

    t0 = time.perf_counter()
    ours = {
        (s, c): optimal_recipe(surface, student_params=STUDENT, compute=c, scenario=s).student_loss
        for s in SCENARIOS
        for c in BUDGETS
    }
    t_table = time.perf_counter() - t0

    t0 = time.perf_counter()
    base = {(s, c): slsqp_recipe(surface, STUDENT, c, s) for s in SCENARIOS for c in BUDGETS}
    t_base = time.perf_counter() - t0

    worse = sum(base[k] > ours[k] + 1e-6 for k in ours)
    failed = sum(not math.isfinite(v) for v in base.values())
    better = sum(base[k] < ours[k] - 1e-6 for k in ours)
    n = len(ours)
    print(
        f"scenario table ({len(SCENARIOS)} scenarios x {len(BUDGETS)} budgets, N_S={STUDENT:.3g}):"
    )
    print(f"  planner {t_table:.3f} s ({1e3 * t_table / n:.1f} ms/recipe)")
    print(f"  SLSQP baseline {t_base:.3f} s; ratio planner/SLSQP = {t_table / t_base:.2f}")
    print(
        f"  SLSQP worse than planner on {worse}/{n} (infeasible {failed}), better on {better}/{n}"
    )

    t0 = time.perf_counter()
    found = {}
    for n_s in (546e6, 1.82e9, 7.75e9):
        for s in ("teacher-free", "teacher-inference"):
            found[(n_s, s)] = distillation_threshold(surface, student_params=n_s, scenario=s)
    t_thr = time.perf_counter() - t0
    print(
        f"threshold search: {len(found)} thresholds in {t_thr:.3f} s",
        f"({t_thr / len(found):.3f} s each)",
    )
    for (n_s, s), t in found.items():
        print(f"  N_S={n_s:.3g} {s:<18} distillation wins below {t.compute:.3g} FLOPs")


if __name__ == "__main__":
    main()
