"""Batched training speed: K same-shape runs in one process vs a plain PyTorch loop.

For each of the quickstart's shapes (depth 1, 2, 3: d_model 32 x depth, head_dim 16, gated FFN,
seq_len 64, batch 8, byte tokens) it measures tokens/s of

* the plain PyTorch GPT loop of ``bench/train_speed.py`` (same shape, AdamW, clipping, data);
* ``distillscale.train.train_run`` (one run);
* ``distillscale.train.batched.train_batched`` with K = 2, 4, 6 runs (seeds 0..K-1), counting
  the tokens of all K runs;

all in this process, interleaved over ``--repeats`` rounds, and prints the ratios against the
plain loop. A step time is the median (and the 10th percentile) of the step times of all
rounds (first and last step of each run dropped: warm-up, final validation).
Target: batched >= 2x the plain loop. Usage (one core, as a quickstart worker):
``taskset -c 0 .venv/bin/python bench/batched_speed.py [--steps 40] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _machine import machine as describe_machine
from distillscale.flops import family_shape
from distillscale.train import DataConfig, RunConfig
from distillscale.train.batched import train_batched
from distillscale.train.data import load_corpus
from train_speed import reference_step_times, trainer_step_times

DATA = DataConfig(max_corpus_bytes=2_000_000, val_fraction=0.1)
KS = (2, 4, 6)


def batched_step_times(configs: list[RunConfig], root: Path) -> list[float]:
    """Seconds per shared step of ``train_batched`` (one progress event of run 0 per step)."""
    first = configs[0].run_id()
    times: list[float] = []
    last = [time.perf_counter()]

    def progress(event) -> None:
        if event.run_id == first:
            now = time.perf_counter()
            times.append(now - last[0])
            last[0] = now

    dirs = [root / f"b{len(configs)}-{i}-{time.monotonic_ns()}" for i in range(len(configs))]
    results = train_batched(configs, dirs, progress=progress)
    assert all(r.status == "done" for r in results)
    return times[1:-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {describe_machine(f'torch {torch.__version__}', f'{args.threads} threads')}")
    corpus = load_corpus(DATA)
    B, T = 8, 64
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for depth in args.depths:
            shape = family_shape(depth, aspect=32, head_dim=16, seq_len=T)
            base = dict(
                shape=shape, tokens=B * T * args.steps, batch_size=B, lr=3e-3, data=DATA,
                eval_every=0, eval_tokens=T * B, device="cpu",
            )  # fmt: skip
            times: dict[str, list[list[float]]] = {"plain": [], "single": []}
            times.update({f"K={k}": [] for k in KS})
            for _ in range(args.repeats):
                times["plain"].append(reference_step_times(RunConfig(**base), corpus, args.steps))
                times["single"].append(trainer_step_times(RunConfig(**base), root, "single"))
                for k in KS:
                    configs = [RunConfig(**base, seed=s) for s in range(k)]
                    times[f"K={k}"].append(batched_step_times(configs, root))
            print(f"\ndepth {depth} (d_model {shape.d_model}), batch {B}x{T}, {args.steps} steps")
            plain = None
            for name, runs in times.items():
                flat = np.concatenate(runs)
                runs_per_step = int(name[2:]) if name.startswith("K=") else 1
                tps = runs_per_step * B * T / float(np.median(flat))
                tps10 = runs_per_step * B * T / float(np.percentile(flat, 10))
                plain = plain or tps
                print(f"  {name:7s} {tps:9,.0f} tokens/s (median step)  {tokens_ratio(tps, plain)}"
                      f"   p10: {tps10:9,.0f} tokens/s")  # fmt: skip


def tokens_ratio(tps: float, plain: float) -> str:
    return f"{tps / plain:5.2f}x plain"


if __name__ == "__main__":
    main()
