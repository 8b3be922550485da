"""Deterministic global minimisers on boxes in log space: a dense grid, then zoomed grids.

The planner's objectives are cheap, vectorised and sometimes flat or multi-modal, so a dense
grid followed by shrinking grids around the best few cells is both robust and reproducible (no
random starts). One dimension polishes with bounded Brent inside the best grid bracket.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar

__all__ = ["LOG_MAX", "LOG_MIN", "bisect_increasing", "minimize_1d", "minimize_2d"]

Array = NDArray[np.float64]

#: Bounds on N_T, D_S, D_T (and every size or token count the planner searches), as natural
#: logs: 1e6 .. 1e17, Busbridge et al. 2025 Sec. 5.3 (docs/references.md: Busbridge).
LOG_MIN = float(np.log(1e6))
LOG_MAX = float(np.log(1e17))


def _clean(values: Array) -> Array:
    return np.where(np.isfinite(values), values, np.inf)


def minimize_1d(
    f: Callable[[Array], Array], lo: float, hi: float, n: int = 257
) -> tuple[float, float]:
    """Minimise a vectorised ``f`` on ``[lo, hi]``: grid of ``n`` points, then bounded Brent.

    Returns
    -------
    x, fx : float
        The minimiser and its value; ``fx`` is ``inf`` when ``f`` is infinite everywhere.
    """
    xs = np.linspace(lo, hi, n)
    ys = _clean(f(xs))
    i = int(np.argmin(ys))
    if not np.isfinite(ys[i]):
        return float(xs[i]), float("inf")
    a, b = xs[max(i - 1, 0)], xs[min(i + 1, n - 1)]
    # Brent's parabolic steps subtract values (inf - inf is NaN, with a RuntimeWarning) and the
    # best cell often borders an infeasible one (inf): give Brent a finite penalty above every
    # finite grid value there instead.
    finite = ys[np.isfinite(ys)]
    penalty = 2.0 * float(finite.max()) - float(ys[i]) + 1.0

    def polish(x: float) -> float:
        value = float(f(np.array([x]))[0])
        return value if np.isfinite(value) else penalty

    res = minimize_scalar(
        polish,
        bounds=(a, b),
        method="bounded",
        options={"xatol": 1e-10 * max(1.0, abs(hi - lo))},
    )
    if np.isfinite(res.fun) and res.fun <= ys[i]:
        return float(res.x), float(res.fun)
    return float(xs[i]), float(ys[i])


def _candidates(values: Array, keep: int, sep: int) -> list[tuple[int, int]]:
    """Indices of up to ``keep`` best cells, at least ``sep`` cells apart (Chebyshev)."""
    order = np.argsort(values, axis=None)
    chosen: list[tuple[int, int]] = []
    for flat in order:
        if not np.isfinite(values.flat[flat]) or len(chosen) == keep:
            break
        i, j = np.unravel_index(flat, values.shape)
        if all(max(abs(i - a), abs(j - b)) > sep for a, b in chosen):
            chosen.append((int(i), int(j)))
    return chosen


def minimize_2d(
    f: Callable[[Array, Array], Array],
    lo: tuple[float, float],
    hi: tuple[float, float],
    *,
    n: int = 65,
    zoom_points: int = 11,
    rounds: int = 14,
    keep: int = 3,
) -> tuple[float, float, float]:
    """Minimise a vectorised ``f(u, v)`` on a box: dense grid, then zoom around the best cells.

    Each zoom round lays a ``zoom_points`` square grid over +-2 current cells around the
    incumbent (clipped to the box), so the cell shrinks by 4/(zoom_points-1) per round, except
    along an axis where the best point lies on the window's edge (the window then moves on at
    full size, following a valley); the ``keep`` best well-separated coarse cells are refined
    together and the best result wins.

    Returns
    -------
    u, v, fuv : float
        The minimiser and its value (``inf`` when ``f`` is infinite everywhere).
    """
    lo_a, hi_a = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    axes = [np.linspace(lo_a[k], hi_a[k], n) for k in range(2)]
    uu, vv = np.meshgrid(*axes, indexing="ij")
    values = _clean(f(uu, vv))
    starts = _candidates(values, keep, sep=3)
    if not starts:
        return float(uu.flat[0]), float(vv.flat[0]), float("inf")
    # refine every candidate at once: centres (K, 2), one (K, z, z) grid per round
    centre = np.array([[axes[0][i], axes[1][j]] for i, j in starts])
    fc = np.array([values[i, j] for i, j in starts])
    step = np.tile((hi_a - lo_a) / (n - 1), (len(starts), 1))
    frac = np.linspace(-1.0, 1.0, zoom_points)
    for _ in range(rounds):
        a = np.clip(centre - 2 * step, lo_a, hi_a)  # (K, 2)
        b = np.clip(centre + 2 * step, lo_a, hi_a)
        mid, half = (a + b) / 2, (b - a) / 2
        zu = mid[:, 0, None, None] + half[:, 0, None, None] * frac[None, :, None]  # (K, z, 1)
        zv = mid[:, 1, None, None] + half[:, 1, None, None] * frac[None, None, :]  # (K, 1, z)
        zu, zv = np.broadcast_arrays(zu, zv)  # (K, z, z)
        zf = _clean(f(zu, zv)).reshape(len(starts), -1)
        k = np.argmin(zf, axis=1)
        rows = np.arange(len(starts))
        better = zf[rows, k] <= fc
        picked = np.stack(
            [zu.reshape(len(starts), -1)[rows, k], zv.reshape(len(starts), -1)[rows, k]], axis=1
        )
        centre = np.where(better[:, None], picked, centre)
        fc = np.where(better, zf[rows, k], fc)
        # shrink, except along an axis where the best point sits on the window's edge (and
        # not on the box's): there the valley continues, so the window walks on at full size
        iu, iv = np.divmod(k, zoom_points)
        edge = np.stack(
            [(iu == 0) | (iu == zoom_points - 1), (iv == 0) | (iv == zoom_points - 1)], 1
        )
        on_box = (picked <= lo_a + 1e-12) | (picked >= hi_a - 1e-12)
        walk = edge & ~on_box & better[:, None]
        step = np.where(walk, step, step * 4 / (zoom_points - 1))
    best = int(np.argmin(fc))
    return float(centre[best, 0]), float(centre[best, 1]), float(fc[best])


def bisect_increasing(
    g: Callable[[float], float], lo: float, hi: float, iterations: int = 60
) -> float:
    """Root of ``g`` on ``[lo, hi]`` by bisection, given ``g(lo) <= 0 < g(hi)``."""
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if g(mid) <= 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
