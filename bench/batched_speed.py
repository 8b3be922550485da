"""Batched training speed: K same-shape runs in one process vs a plain PyTorch loop.

For each of the quickstart's shapes (depth 1, 2, 3: d_model 32 x depth, head_dim 16, gated FFN,
seq_len 64, batch 8, byte tokens) it measures tokens/s of

* the plain PyTorch GPT loop of ``bench/train_speed.py`` (same shape, AdamW, clipping, data);
* ``distillscale.train.train_run`` (one run);
* ``distillscale.train.batched.train_batched`` with K = 2, 4, 6 runs (seeds 0..K-1), counting
  the tokens of all K runs;

all in this process, interleaved over ``--repeats`` rounds, and prints the ratios against the
plain loop. ``--options`` adds, against the same plain loop in the same process:

* ``compile``: the plain loop, ``train_run`` and ``train_batched`` (K = 4) with
  ``torch.compile`` (inductor C++ codegen; ``RunConfig.compile``);
* ``compile-time``: the compile time per shape, cold (an empty inductor cache) and warm (a
  second process with the cache the first one filled), each measured in a fresh subprocess running
  ``train_run(compile=True)`` (first step: the training graph; last step: the evaluation graph);
* ``bf16``: the plain loop under ``torch.autocast("cpu", dtype=torch.bfloat16)`` (float32
  master weights), with ``compile`` also compiled; ``--bf16-loss-steps N`` also trains the plain
  loop N steps in float32 and in bf16 and prints both held-out losses;
* ``stack-compile``: the batched trainer's step (its stacked forward, the runs' cross-entropy,
  backward, its AdamW) for K = 4 runs with the forward and loss under ``torch.compile``, against
  the same step eager; no data loading, checkpoints or evaluation (``train_batched`` refuses
  ``compile``: this measures what it would gain);
* ``ceiling``: the step's matrix products alone (every forward and backward GEMM of the shape,
  attention's included, float32, and in bf16 with ``bf16``), i.e. the tokens/s a step would reach
  if everything that is not a matmul took no time.

A step time is the median (and the 10th percentile) of the step times of all rounds (first and
last step of each run dropped: warm-up and compilation, final validation).
Target: batched >= 2x the plain loop. Usage (one core, as a quickstart worker):
``taskset -c 0 .venv/bin/python bench/batched_speed.py [--steps 40] [--repeats 3]
[--options compile bf16 ceiling] [--bf16-loss-steps 300]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from _machine import machine as describe_machine
from distillscale.flops import family_shape
from distillscale.train import DataConfig, RunConfig, trainer
from distillscale.train.batched import _Run, _Stack, train_batched
from distillscale.train.data import load_corpus, train_batch, val_batches
from distillscale.train.model import GPT
from train_speed import reference_step_times, reference_train, trainer_step_times

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


def gemms(shape, B: int) -> list[tuple[int, int, int, int]]:
    """Every matrix product of one training step: ``(batch, m, k, n)`` of ``(m,k) @ (k,n)``.

    Each linear layer ``in -> out`` over ``N = B T`` tokens costs a forward product and two in
    the backward pass (input gradient, weight gradient); attention's ``Q K^T`` and ``P V`` per
    head likewise (the score matrix's gradient, then one gradient for each operand).
    """
    T, d, hd = shape.seq_len, shape.d_model, shape.head_dim
    kv = shape.kv_heads * hd
    f = shape.ffn_width
    N, BH = B * T, B * shape.n_heads
    linears = [(d, d + 2 * kv), (d, d), (d, 2 * f if shape.ffn == "gated" else f), (f, d)]
    out = []
    for i, o in linears * shape.n_layers + [(d, shape.vocab_size)]:
        out += [(1, N, i, o), (1, N, o, i), (1, o, N, i)]
    for _ in range(shape.n_layers):
        out += [(BH, T, hd, T), (BH, T, T, hd)]  # forward: scores, weighted values
        out += [(BH, T, hd, T), (BH, hd, T, T), (BH, T, T, hd), (BH, T, T, hd)]  # backward
    return out


def matmul_step_times(shape, B: int, reps: int, dtype=torch.float32) -> list[float]:
    """Seconds of the step's matrix products alone (:func:`gemms`), ``reps`` times."""
    ops = [(torch.randn(b, m, k, dtype=dtype), torch.randn(b, k, n, dtype=dtype))
           for b, m, k, n in gemms(shape, B)]  # fmt: skip
    times = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        for a, w in ops:
            torch.bmm(a, w)
        times.append(time.perf_counter() - t0)
    return times[1:]


def stack_step_times(config: RunConfig, corpus, K: int, steps: int, compiled: bool) -> list[float]:
    """Seconds per step of the batched trainer's stack of K runs, its forward and loss compiled
    or not (first two steps dropped: compilation)."""
    shape, B, T = config.shape, config.batch_size, config.shape.seq_len
    runs = []
    for seed in range(K):
        torch.manual_seed(seed)
        model = GPT(shape)
        opt = trainer._optimizer(model, config, torch.device("cpu"))
        runs.append(_Run(config, Path(), corpus, None, [], model, opt, torch.get_rng_state()))
    stack = _Stack(runs)
    rope = runs[0].model.rope

    def objective(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        stack.params = params
        logits = stack.forward(x, shape, rope)
        losses = [F.cross_entropy(z.reshape(-1, z.size(-1)), t.reshape(-1))
                  for z, t in zip(logits, y.unbind(0), strict=True)]  # fmt: skip
        return torch.stack(losses).sum()

    fn = torch.compile(objective) if compiled else objective
    times = []
    for step in range(steps):
        t0 = time.perf_counter()
        batches = [train_batch(corpus, seed, step, B, T) for seed in range(K)]
        x = torch.stack([torch.from_numpy(b[0]) for b in batches])
        y = torch.stack([torch.from_numpy(b[1]) for b in batches])
        fn(stack.params, x, y).backward()
        stack.update([config.lr] * K, [config.weight_decay] * K, [config.grad_clip] * K)
        times.append(time.perf_counter() - t0)
    return times[2:]


def compile_seconds(depth: int, steps: int, cache: str, threads: int) -> tuple[float, float]:
    """Compile time of ``train_run(compile=True)`` in a fresh process with inductor cache
    ``cache``: (first step minus a later step, last step minus a later step), seconds: the
    training graph and the evaluation graph."""
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache)
    code = f"""
import sys, tempfile, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
import torch
torch.set_num_threads({threads})
from batched_speed import DATA
from distillscale.flops import family_shape
from distillscale.train import RunConfig, train_run
shape = family_shape({depth}, aspect=32, head_dim=16, seq_len=64)
c = RunConfig(shape=shape, tokens=8 * 64 * {steps}, batch_size=8, data=DATA, eval_every=0,
              eval_tokens=64 * 8, device="cpu", compile=True)
t = []
last = [time.perf_counter()]
def progress(event):
    now = time.perf_counter(); t.append(now - last[0]); last[0] = now
with tempfile.TemporaryDirectory() as tmp:
    last[0] = time.perf_counter()
    train_run(c, tmp, progress=progress)
step = sorted(t[1:-1])[len(t[1:-1]) // 2]
print(t[0] - step, t[-1] - step)
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()  # fmt: skip
    return float(out[-2]), float(out[-1])


def held_out_loss(model, corpus, T: int, B: int, bf16: bool) -> float:
    """Mean held-out cross-entropy of the plain loop's model, nats per token."""
    total, count = 0.0, 0
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for x, y in val_batches(corpus, T, 65_536, B):
            logits = model(torch.from_numpy(x)).float()
            target = torch.from_numpy(y).reshape(-1)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target, reduction="sum")
            total += loss.item()
            count += y.size
    return total / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--options",
        nargs="*",
        default=[],
        choices=["compile", "compile-time", "bf16", "ceiling", "stack-compile"],
    )
    parser.add_argument("--bf16-loss-steps", type=int, default=0)
    args = parser.parse_args()
    opts = set(args.options)
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
            if "compile-time" in opts:
                with tempfile.TemporaryDirectory() as cache:
                    cold = compile_seconds(depth, 6, cache, args.threads)
                    warm = compile_seconds(depth, 6, cache, args.threads)
                print(f"\ndepth {depth}: train_run(compile=True) compile time, cold cache: "
                      f"{cold[0]:.1f} s (training graph) + {cold[1]:.1f} s (evaluation graph); "
                      f"warm cache (2nd process): {warm[0]:.1f} s + {warm[1]:.1f} s")  # fmt: skip
            times: dict[str, list[list[float]]] = {"plain": [], "single": []}
            times.update({f"K={k}": [] for k in KS})
            variants = {"plain": {}}
            if "compile" in opts:
                variants["plain+compile"] = {"compiled": True}
            if "bf16" in opts:
                variants["plain+bf16"] = {"bf16": True}
                if "compile" in opts:
                    variants["plain+bf16+compile"] = {"compiled": True, "bf16": True}
            times.update({name: [] for name in variants})
            if "compile" in opts:
                times["single+compile"] = []
                times["K=4+compile"] = []
            if "stack-compile" in opts:
                times["K=4 stack"] = []
                times["K=4 stack+compile"] = []
            if "ceiling" in opts:
                times["matmuls"] = []
                if "bf16" in opts:
                    times["matmuls bf16"] = []
            for _ in range(args.repeats):
                for name, kw in variants.items():
                    c = RunConfig(**base)
                    times[name].append(reference_step_times(c, corpus, args.steps, **kw))
                times["single"].append(trainer_step_times(RunConfig(**base), root, "single"))
                if "compile" in opts:
                    c = RunConfig(**base, compile=True)
                    times["single+compile"].append(trainer_step_times(c, root, "single-c"))
                    configs = [RunConfig(**base, seed=s, compile=True) for s in range(4)]
                    times["K=4+compile"].append(batched_step_times(configs, root))
                for k in KS:
                    configs = [RunConfig(**base, seed=s) for s in range(k)]
                    times[f"K={k}"].append(batched_step_times(configs, root))
                if "stack-compile" in opts:
                    for name, flag in (("K=4 stack", False), ("K=4 stack+compile", True)):
                        c = RunConfig(**base)
                        times[name].append(stack_step_times(c, corpus, 4, args.steps, flag))
                if "ceiling" in opts:
                    times["matmuls"].append(matmul_step_times(shape, B, args.steps))
                    if "bf16" in opts:
                        times["matmuls bf16"].append(
                            matmul_step_times(shape, B, args.steps, torch.bfloat16)
                        )
            print(f"\ndepth {depth} (d_model {shape.d_model}), batch {B}x{T}, {args.steps} steps")
            plain = None
            for name, runs in times.items():
                flat = np.concatenate(runs)
                runs_per_step = (
                    int(name.split()[0].split("+")[0][2:]) if name.startswith("K=") else 1
                )
                tps = runs_per_step * B * T / float(np.median(flat))
                tps10 = runs_per_step * B * T / float(np.percentile(flat, 10))
                plain = plain or tps
                print(f"  {name:18s} {tps:9,.0f} tokens/s (median step)  "
                      f"{tokens_ratio(tps, plain)}   p10: {tps10:9,.0f} tokens/s")  # fmt: skip
            if args.bf16_loss_steps:
                c = RunConfig(**{**base, "tokens": B * T * args.bf16_loss_steps})
                losses = []
                for bf16 in (False, True):
                    model, _ = reference_train(c, corpus, args.bf16_loss_steps, bf16=bf16)
                    losses.append(held_out_loss(model, corpus, T, B, bf16))
                print(f"  held-out loss after {args.bf16_loss_steps} steps (plain loop, "
                      f"lr 3e-3): float32 {losses[0]:.4f}, bf16 autocast {losses[1]:.4f} "
                      f"nats/token, difference {losses[1] - losses[0]:+.4f}")  # fmt: skip


def tokens_ratio(tps: float, plain: float) -> str:
    return f"{tps / plain:5.2f}x plain"


if __name__ == "__main__":
    main()
