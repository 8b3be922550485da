"""Teacher-logit cache: bytes per token, and what truncating the teacher to top-k costs.

A small study on the default corpus (stdlib bytes, vocabulary 256), all in one process:

1. A teacher trained for a few minutes on CPU; its held-out loss against the corpus's unigram
   entropy (the loss of the best context-free model).
2. One k = 64 cache over the students' token stream: file bytes per token (the format stores
   float16 log-probs, uint16 ids and a float16 log remaining mass: 4k + 2 bytes).
3. Students of one size and token budget: supervised; distilled from full logits (online
   teacher); and from the cache truncated to k (renormalised, docs/references.md: KD losses) with
   lambda = 1
   and lambda = 0.7. Busbridge et al. (2025) report +0.11 nats for k = 128 of a 32k
   vocabulary at lambda = 1, and within 0.01 nats of full logits at lambda = 0.7.

Usage: ``.venv/bin/python bench/logit_cache.py [--teacher-tokens 400000] [--student-steps 100]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from _machine import machine as describe_machine
from distillscale.flops import count_params, family_shape
from distillscale.train import DataConfig, KDConfig, RunConfig, build_logit_cache, train_run
from distillscale.train.data import load_corpus, unigram_entropy
from distillscale.train.trainer import load_teacher

DATA = DataConfig(max_corpus_bytes=4_000_000, val_fraction=0.1)
SEQ, BATCH = 128, 16


def machine() -> str:
    return describe_machine(f"torch {torch.__version__}", f"{torch.get_num_threads()} threads")


def config(depth: int, tokens: int, **kw) -> RunConfig:
    return RunConfig(
        shape=family_shape(depth, seq_len=SEQ),
        tokens=tokens,
        batch_size=BATCH,
        lr=3e-3,
        data=DATA,
        eval_tokens=32_768,
        device="cpu",
        **kw,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--teacher-tokens", type=int, default=400_000)
    parser.add_argument("--student-steps", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}")
    corpus = load_corpus(DATA)
    h = unigram_entropy(corpus.val, corpus.vocab_size)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        t_cfg = config(2, args.teacher_tokens, kind="teacher")
        t_res = train_run(t_cfg, root / "teacher")
        n_t = count_params(t_cfg.shape).non_embedding
        print(
            f"\n1. teacher depth 2 ({n_t:,} non-embedding params), {t_res.tokens:,} tokens in "
            f"{time.perf_counter() - t0:.0f} s: held-out loss {t_res.loss:.4f} nats/token; "
            f"unigram entropy of the held-out text {h:.4f} nats/token "
            f"(gap {h - t_res.loss:.3f})"
        )
        teacher = load_teacher(t_res.checkpoint)

        s_tokens = args.student_steps * BATCH * SEQ
        cache = build_logit_cache(
            teacher, DATA, tokens=s_tokens, seq_len=SEQ, top_k=64, path=root / "t.logits",
            batch_size=BATCH,
        )  # fmt: skip
        size = os.path.getsize(cache.path)
        print(
            f"\n2. k=64 cache over {cache.tokens:,} tokens: {size:,} bytes = "
            f"{size / cache.tokens:.1f} bytes/token (format: {cache.bytes_per_token}); "
            f"teacher FLOPs charged to the cache {cache.flops:.3g}"
        )

        runs = {
            "supervised": config(1, s_tokens, kind="baseline"),
            "full logits, lambda=1": config(
                1, s_tokens, kind="student", teacher=teacher, kd=KDConfig()
            ),
        }
        for k in (4, 16, 64):
            for weight in (1.0, 0.7):
                runs[f"top-{k}, lambda={weight:g}"] = config(
                    1, s_tokens, kind="student", teacher=teacher, teacher_cache=cache.path,
                    kd=KDConfig(top_k=k, weight=weight),
                )  # fmt: skip
        runs["full logits, lambda=0.7"] = config(
            1, s_tokens, kind="student", teacher=teacher, kd=KDConfig(weight=0.7)
        )
        losses = {}
        for i, (name, cfg) in enumerate(runs.items()):
            losses[name] = train_run(cfg, root / f"s{i}").loss
        full1, full7 = losses["full logits, lambda=1"], losses["full logits, lambda=0.7"]
        n_s = count_params(runs["supervised"].shape).non_embedding
        print(
            f"\n3. students depth 1 ({n_s:,} non-embedding params), {s_tokens:,} tokens each; "
            "held-out loss, nats/token"
        )
        print(f"   {'run':26s} {'loss':>8s} {'vs full (same lambda)':>22s}")
        for name, loss in losses.items():
            ref = full7 if "lambda=0.7" in name else full1
            delta = "" if name == "supervised" else f"{loss - ref:+.4f}"
            print(f"   {name:26s} {loss:8.4f} {delta:>22s}")


if __name__ == "__main__":
    main()
