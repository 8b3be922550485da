"""What checksums cost: verifying a logit cache on open, and a checkpoint on save and load.

1. A synthetic cache of ``--positions`` positions at k = ``--top-k`` (vocabulary 256, seq_len
   256; the default, 1M positions at k = 64, is a 258 MB file, the size a quickstart-scale
   student reads) is written with its per-chunk SHA-256s. Then, with the file in the page
   cache (the common case: students open a cache another task just wrote), it times
   ``open_logit_cache`` (header and size checks, memory maps and the chunk checks of every
   sequence) against reading every array once as a student does over its whole run
   (``LogitCache.read`` in batches of 16 sequences).
2. A checkpoint of a ``--params``-parameter GPT with its AdamW state: ``torch.save`` and
   ``torch.load`` alone, and the digest of its content that each adds.

Usage: ``.venv/bin/python bench/integrity_cost.py [--positions 1000000] [--top-k 64]``
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
from distillscale.train.integrity import array_digests, state_digest
from distillscale.train.logit_cache import MAGIC, _header_text, open_logit_cache
from distillscale.train.model import GPT


def _write_cache(path: Path, sequences: int, seq_len: int, top_k: int) -> None:
    header = {
        "format": "distillscale.logit_cache/2", "teacher_run_id": "bench", "teacher_shape": {},
        "data_hash": "bench", "seed": 0, "seq_len": seq_len, "sequences": sequences,
        "n_tokens": sequences * seq_len, "top_k": top_k, "vocab_size": 256,
        "index_dtype": "<u2", "temperature": 1.0, "flops": 0.0, "chunk_sequences": 0,
    }  # fmt: skip
    rng = np.random.default_rng(0)
    logp = rng.standard_normal((sequences, seq_len, top_k)).astype(np.float16)
    index = rng.integers(0, 256, (sequences, seq_len, top_k), dtype=np.uint16)
    rest = rng.standard_normal((sequences, seq_len)).astype(np.float16)
    chunk = max(1, (4 << 20) // (2 * seq_len * top_k))
    header["chunk_sequences"] = chunk
    header["sha256"] = {
        "logp": array_digests(logp, chunk),
        "index": array_digests(index, chunk),
        "log_rest": array_digests(rest, chunk),
    }
    text = _header_text(header)
    with path.open("wb") as fh:
        fh.write(MAGIC + len(text).to_bytes(8, "little") + text)
        for array in (logp, index, rest):
            fh.write(array.tobytes())


def _best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--top-k", type=int, default=64)
    parser.add_argument("--depth", type=int, default=8, help="GPT depth of the checkpoint")
    args = parser.parse_args()
    print(describe_machine(f"torch {torch.__version__}", f"numpy {np.__version__}"))
    torch.set_num_threads(1)
    seq_len = 256
    sequences = args.positions // seq_len
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.logits"
        _write_cache(path, sequences, seq_len, args.top_k)
        size = path.stat().st_size

        def opened():
            return open_logit_cache(
                path, data_hash="bench", vocab_size=256, seq_len=seq_len, seed=0,
                sequences=sequences, top_k=None,
            )  # fmt: skip

        cache = opened()

        def read_all() -> None:
            for first in range(0, sequences, 16):
                cache.read(first, min(16, sequences - first))

        t_open = _best(opened)
        t_read = _best(read_all)
        print(
            f"cache: {size / 1e6:.0f} MB ({args.positions} positions, k={args.top_k}); "
            f"open with checksums {t_open:.3f} s ({size / t_open / 1e9:.2f} GB/s); one full "
            f"read by a student {t_read:.3f} s; open / read = {t_open / t_read:.2f}"
        )
        model = GPT(family_shape(args.depth, aspect=64, head_dim=64, seq_len=256))
        opt = torch.optim.AdamW(model.parameters())
        model(torch.zeros(1, 8, dtype=torch.long)).sum().backward()
        opt.step()
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 1}
        ckpt = Path(tmp) / "checkpoint.pt"
        t_save = _best(lambda: torch.save(state, ckpt))
        t_load = _best(lambda: torch.load(ckpt, weights_only=True))
        t_digest = _best(lambda: state_digest(state))
        params = sum(p.numel() for p in model.parameters())
        print(
            f"checkpoint: {params / 1e6:.1f}M parameters, {ckpt.stat().st_size / 1e6:.0f} MB; "
            f"torch.save {t_save:.3f} s, torch.load {t_load:.3f} s, digest {t_digest:.3f} s "
            f"(+{100 * t_digest / t_save:.0f} % on save, +{100 * t_digest / t_load:.0f} % on load)"
        )


if __name__ == "__main__":
    main()
