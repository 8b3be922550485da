"""Where a training step of a quickstart shape goes: torch.profiler self CPU time by category.

For each ``--depths`` shape (d_model 32 x depth, head_dim 16, gated FFN, seq_len 64, batch 8,
byte tokens) it profiles ``--steps`` steps of the single-run step (``GPT``, cross-entropy,
backward, ``clip_grad_norm_``, the trainer's AdamW) and, with ``--k K``, the batched trainer's
step of K runs (its stacked forward, the runs' cross-entropy, backward, its AdamW), on random
tokens. Each op's self time goes to a category (matmul, flash attention, softmax/cross-entropy,
optimiser and clipping, other elementwise ops and copies) or, for time inside a phase but in
no op, to "Python/autograd between ops"; the wall step time without the profiler is printed
too. Usage: ``taskset -c 0 .venv/bin/python bench/step_profile.py [--depths 1 2 3] [--k 4]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile, record_function

from _machine import machine
from distillscale.flops import family_shape
from distillscale.runs.config import RunConfig
from distillscale.train import trainer
from distillscale.train.batched import _Run, _Stack
from distillscale.train.model import GPT

B, T, V = 8, 64, 256


def single_step(config: RunConfig) -> Callable[[], None]:
    """One training step of one run, in the trainer's phases."""
    torch.manual_seed(0)
    model = GPT(config.shape)
    opt = trainer._optimizer(model, config, torch.device("cpu"))
    x, y = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))

    def step() -> None:
        with record_function("PH_forward"):
            logits = model(x)
        with record_function("PH_loss"):
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        with record_function("PH_backward"):
            opt.zero_grad(set_to_none=True)
            loss.backward()
        with record_function("PH_optimizer"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
        loss.item()

    return step


def batched_step(config: RunConfig, K: int) -> Callable[[], None]:
    """One step of the batched trainer's stack of K runs, in the same phases."""
    runs = []
    for seed in range(K):
        torch.manual_seed(seed)
        model = GPT(config.shape)
        opt = trainer._optimizer(model, config, torch.device("cpu"))
        runs.append(_Run(config, Path(), None, None, [], model, opt, torch.get_rng_state()))
    stack = _Stack(runs)
    rope = runs[0].model.rope
    x, y = torch.randint(0, V, (K, B, T)), torch.randint(0, V, (K, B, T))

    def step() -> None:
        with record_function("PH_forward"):
            logits = stack.forward(x, config.shape, rope)
        with record_function("PH_loss"):
            losses = [F.cross_entropy(z.reshape(-1, V), t.reshape(-1))
                      for z, t in zip(logits, y.unbind(0), strict=True)]  # fmt: skip
            total = torch.stack(losses).sum()
        with record_function("PH_backward"):
            total.backward()
        with record_function("PH_optimizer"):
            stack.update([config.lr] * K, [config.weight_decay] * K, [config.grad_clip] * K)
        total.item()

    return step


def category(name: str) -> str:
    if name in ("aten::mm", "aten::bmm", "aten::addmm"):
        return "matmul"
    if "scaled_dot_product" in name:
        return "attention (flash SDPA)"
    if "log_softmax" in name or "nll_loss" in name:
        return "softmax / cross-entropy"
    if name.startswith("PH_"):
        return "Python/autograd between ops"
    return "elementwise ops and copies"


def report(title: str, step: Callable[[], None], steps: int) -> None:
    for _ in range(10):
        step()
    wall = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        wall.append(time.perf_counter() - t0)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    totals: dict[str, float] = {}
    phases: dict[str, float] = {}
    for event in prof.events():
        phase, parent = None, event
        while parent is not None:
            if parent.name.startswith("PH_"):
                phase = parent.name[3:]
                break
            parent = parent.cpu_parent
        if phase is None:
            continue
        cat = category(event.name)
        if phase == "optimizer" and not event.name.startswith("PH_"):
            cat = "optimiser and clipping"
        totals[cat] = totals.get(cat, 0.0) + event.self_cpu_time_total
        phases[phase] = phases.get(phase, 0.0) + event.self_cpu_time_total
    total = sum(totals.values())
    print(f"\n{title}: {statistics.median(wall) * 1e3:.1f} ms a step (median, no profiler), "
          f"{total / steps / 1e3:.1f} ms profiled")  # fmt: skip
    for cat, us in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {cat:30s} {us / total:6.1%}  {us / steps / 1e3:6.2f} ms")
    print("  phases: " + ", ".join(f"{k} {v / total:.0%}" for k, v in phases.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--k", type=int, default=0, help="also profile K batched runs")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {machine(f'torch {torch.__version__}', '1 thread')}")
    for depth in args.depths:
        shape = family_shape(depth, aspect=32, head_dim=16, seq_len=T)
        config = RunConfig(shape=shape, tokens=B * T * 100, batch_size=B, device="cpu")
        report(f"depth {depth} (d_model {shape.d_model}), one run", single_step(config),
               args.steps)  # fmt: skip
        if args.k:
            report(f"depth {depth}, batched K={args.k}", batched_step(config, args.k), args.steps)


if __name__ == "__main__":
    main()
