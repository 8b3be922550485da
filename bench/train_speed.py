"""Trainer speed on this machine, against baselines measured in the same process.

1. Tokens/s of ``distillscale.train.train_run`` against a plain PyTorch GPT training loop of the
   same shape written below (same AdamW, clipping, batch and data; no checkpoints, no eval).
   Target on CPU for a ~1M-parameter model: ratio >= 1.0. MFU is reported against this
   machine's measured float32 matmul peak (same thread count).
2. Distillation step time: a student reading a teacher-logit cache vs the same student trained
   supervised. Target: <= 1.15x.
3. Online teacher 4x the student's size: measured step-time ratio vs the accountant's
   prediction ``(3 F_S + F_T) / (3 F_S)`` (``flops.forward_flops_per_token``).

Step times come from the trainer's per-step progress events (the loop's own timer for the
reference); each figure is the 10th percentile of the step times of ``--repeats`` interleaved
runs, to damp noise from other processes sharing the CPUs.
Usage: ``.venv/bin/python bench/train_speed.py [--threads 1] [--steps 40] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from _machine import machine as describe_machine
from distillscale.flops import count_params, family_shape, forward_flops_per_token
from distillscale.train import DataConfig, KDConfig, RunConfig, build_logit_cache, train_run
from distillscale.train.data import load_corpus, sequence_starts
from distillscale.train.trainer import load_teacher

DATA = DataConfig(max_corpus_bytes=2_000_000, val_fraction=0.1)


def machine() -> str:
    return describe_machine(f"torch {torch.__version__}", f"{torch.get_num_threads()} threads")


def matmul_peak(n: int = 1024, seconds: float = 2.0) -> float:
    """Best float32 matmul FLOP/s over ``seconds`` of (n x n) @ (n x n)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        for _ in range(4):
            torch.mm(a, b)
        best = max(best, 4 * 2 * n**3 / (time.perf_counter() - t0))
    return best


# --- the plain PyTorch reference: a GPT of the same shape, written independently ------------


class RefBlock(nn.Module):
    def __init__(self, d: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.heads = heads
        self.n1, self.n2 = nn.RMSNorm(d), nn.RMSNorm(d)
        self.qn, self.kn = nn.RMSNorm(d // heads), nn.RMSNorm(d // heads)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d, bias=False)
        self.up = nn.Linear(d, 2 * ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        q, k, v = self.qkv(self.n1(x)).view(B, T, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k = self.qn(q), self.kn(k)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, d))
        gate, up = self.up(self.n2(x)).chunk(2, dim=-1)
        return x + self.down(F.silu(gate) * up)


def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class RefGPT(nn.Module):
    def __init__(self, shape) -> None:
        super().__init__()
        self.emb = nn.Embedding(shape.vocab_size, shape.d_model)
        self.blocks = nn.ModuleList(
            RefBlock(shape.d_model, shape.n_heads, shape.ffn_dim) for _ in range(shape.n_layers)
        )
        self.norm = nn.RMSNorm(shape.d_model)
        self.head = nn.Linear(shape.d_model, shape.vocab_size, bias=False)
        hd = shape.head_dim
        freq = 10_000.0 ** (-torch.arange(0, hd, 2).float() / hd)
        ang = torch.outer(torch.arange(shape.seq_len).float(), freq)
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.emb(idx)
        for block in self.blocks:
            x = block(x, self.cos, self.sin)
        return self.head(self.norm(x))


def reference_step_times(
    config: RunConfig, corpus, steps: int, *, compiled: bool = False, bf16: bool = False
) -> list[float]:
    """Seconds per step of the plain loop (first step dropped: allocator warm-up, compile)."""
    return reference_train(config, corpus, steps, compiled=compiled, bf16=bf16)[1][1:]


def reference_train(
    config: RunConfig, corpus, steps: int, *, compiled: bool = False, bf16: bool = False
) -> tuple[RefGPT, list[float]]:
    """Train the plain loop for ``steps`` steps; the model and every step's seconds.

    ``compiled`` wraps the model's forward in ``torch.compile`` (inductor; the first step
    then includes the compilation); ``bf16`` runs forward and loss under
    ``torch.autocast("cpu", dtype=torch.bfloat16)`` (float32 master weights and AdamW).
    """
    shape = config.shape
    torch.manual_seed(0)
    model = RefGPT(shape)
    net = torch.compile(model) if compiled else model
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.95))
    B, T = config.batch_size, shape.seq_len
    times = []
    for step in range(steps):
        t0 = time.perf_counter()
        starts = sequence_starts(0, step * B, B, corpus.train.size, T)
        w = torch.from_numpy(corpus.train[starts[:, None] + np.arange(T + 1)].astype(np.int64))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = net(w[:, :-1])
            loss = F.cross_entropy(logits.view(-1, shape.vocab_size).float(), w[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
        times.append(time.perf_counter() - t0)
    return model, times


def trainer_step_times(config: RunConfig, root: Path, tag: str) -> list[float]:
    """Seconds per step of ``train_run``, from its progress events (first step dropped)."""
    times: list[float] = []
    last = [0.0]

    def progress(event) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    last[0] = time.perf_counter()
    result = train_run(config, root / f"{tag}-{time.monotonic_ns()}", progress=progress)
    assert result.status == "done", result.failure_reason
    return times[1:-1]  # first: setup and warm-up; last: includes the final validation


def step_time(runs: list[list[float]]) -> float:
    """10th percentile of all step times over the repeats, seconds.

    On a machine shared with other jobs a step is only ever slowed down by them, so a low
    percentile estimates the intrinsic step time better than a mean or median.
    """
    return float(np.percentile(np.concatenate(runs), 10))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}")
    peak = matmul_peak()

    shape = family_shape(3, seq_len=128)  # 1.33M non-embedding parameters
    B, steps = 16, args.steps
    base = dict(
        shape=shape, tokens=B * 128 * steps, batch_size=B, lr=3e-3, data=DATA, eval_every=0,
        eval_tokens=128, device="cpu", peak_flops=peak,
    )  # fmt: skip
    corpus = load_corpus(DATA)
    ours, ref = [], []
    tok = B * 128
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for _ in range(args.repeats):
            ours.append(trainer_step_times(RunConfig(**base), root, "ours"))
            ref.append(reference_step_times(RunConfig(**base), corpus, steps))
            peak = max(peak, matmul_peak(seconds=1.0))  # the best moment of a shared machine
        print(f"measured float32 matmul peak (best of the run): {peak / 1e9:.1f} GFLOP/s")
        ours_tps, ref_tps = tok / step_time(ours), tok / step_time(ref)
        f_train = 3 * forward_flops_per_token(shape)
        print(
            f"\n1. supervised, depth 3 ({shape.d_model} wide, 1.33M non-embedding params), "
            f"batch {B}x128, {steps} steps"
        )
        print(f"   trainer   {ours_tps:9,.0f} tokens/s  MFU {f_train * ours_tps / peak:.1%}")
        print(f"   reference {ref_tps:9,.0f} tokens/s  MFU {f_train * ref_tps / peak:.1%}")
        print(f"   ratio trainer/reference: {ours_tps / ref_tps:.3f}  (target >= 1.0)")

        # a teacher 4x the student's size; its weights need not be trained for timing
        t_shape = family_shape(5, seq_len=128)
        ratio_size = forward_flops_per_token(t_shape) / forward_flops_per_token(shape)
        n_s, n_t = count_params(shape).non_embedding, count_params(t_shape).non_embedding
        t_config = RunConfig(**{**base, "shape": t_shape, "tokens": B * 128, "kind": "teacher"})
        t_result = train_run(t_config, root / "teacher")
        teacher = load_teacher(t_result.checkpoint)
        cache = build_logit_cache(
            teacher, DATA, tokens=B * 128 * steps, seq_len=128, top_k=64,
            path=root / "t.logits", batch_size=B,
        )  # fmt: skip
        kd = KDConfig(top_k=64)
        cached_cfg = RunConfig(**base, kind="student", teacher_cache=cache.path, kd=kd)
        online_cfg = RunConfig(**base, kind="student", teacher=teacher, kd=KDConfig())
        sup, cached, online = [], [], []
        for _ in range(args.repeats):
            sup.append(trainer_step_times(RunConfig(**base), root, "sup"))
            cached.append(trainer_step_times(cached_cfg, root, "cached"))
            online.append(trainer_step_times(online_cfg, root, "online"))
        t_sup, t_cached, t_online = step_time(sup), step_time(cached), step_time(online)
        print(f"\n2. distillation from a logit cache (k=64, {cache.bytes_per_token} bytes/token)")
        print(
            f"   supervised {tok / t_sup:9,.0f} tokens/s; cached-KD {tok / t_cached:9,.0f} tokens/s"
        )
        print(f"   step time cached-KD/supervised: {t_cached / t_sup:.3f}  (target <= 1.15)")
        predicted = (3 + ratio_size) / 3
        print(
            f"\n3. online teacher: depth 5, {n_t / n_s:.2f}x the student's non-embedding "
            f"params, forward FLOPs {ratio_size:.2f}x"
        )
        print(f"   online-KD {tok / t_online:9,.0f} tokens/s")
        print(
            f"   step time online/supervised: {t_online / t_sup:.3f}; accountant predicts "
            f"(3 F_S + F_T)/(3 F_S) = {predicted:.3f}"
        )


if __name__ == "__main__":
    main()
