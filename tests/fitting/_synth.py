"""Synthetic run tables drawn from each law with known coefficients (the published sets)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from distillscale import load_fit

#: law -> published set whose coefficients are the synthetic truth.
TRUTH = {
    "chinchilla": "@besiroglu2024",
    "chinchilla-gamma": "@busbridge2025-supervised",
    "kaplan": "@kaplan2020",
    "overtrain": "@gadre2024-c4",
    "downstream": "@gadre2024-c4-downstream",
    "distillation": "@busbridge2025",
}


def design(law: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Inputs spread over the range the law was fitted on."""
    if law == "downstream":
        return {"loss": rng.uniform(2.0, 5.0, n)}
    params = 10 ** rng.uniform(7, 10.5, n)
    tokens = params * 10 ** rng.uniform(0.3, 2.5, n)  # 2 to 300 tokens per parameter
    x = {"params": params, "tokens": tokens}
    if law == "distillation":
        x["teacher_loss"] = rng.uniform(1.9, 3.2, n)
    return x


def synthetic_table(
    law: str, n: int, *, noise: float = 0.005, seed: int = 0, truth: str | None = None
) -> pd.DataFrame:
    """n runs from ``law`` at the published truth, with log-normal noise of ``noise`` (0.5%)."""
    rng = np.random.default_rng(seed)
    fit = load_fit(truth or TRUTH[law])
    x = design(law, n, rng)
    y = fit.predict(**x)
    y = y * np.exp(noise * rng.standard_normal(n))
    frame = pd.DataFrame(x)
    frame[fit.law_obj.output] = y
    frame.insert(0, "run", [f"r{i:04d}" for i in range(n)])
    return frame
