"""The GPT of distillscale's model family, in one readable module.

Architectural choices (nanoGPT / nanochat style, matching the accountant in
:mod:`distillscale.flops.count` parameter for parameter):

* pre-norm RMSNorm with a learned weight, no biases anywhere;
* rotary position embeddings (RoPE, Su et al. 2021), so no positional parameters;
* grouped-query attention (``n_kv_heads`` divides ``n_heads``), optional QK-norm (a per-head
  RMSNorm on queries and keys, as in Busbridge et al. 2025 App. G);
* gated FFN (SwiGLU, Shazeer 2020: ``W2 (silu(W1 x) * W3 x)``) or plain FFN (``W2 gelu(W1 x)``);
* q, k, v share one fused matmul, and so do W1 and W3 (fewer, larger matmuls run faster);
* a final RMSNorm and an LM head, tied to the token embedding or not.

The size is set by one dial: :func:`distillscale.flops.family_shape` (``depth``) gives the
:class:`~distillscale.flops.TransformerShape` this module builds from, so the accountant's counts
and ``numel()`` agree (a test asserts it).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from distillscale.flops import TransformerShape

__all__ = ["GPT", "ROPE_BASE"]

#: RoPE base frequency. 10000 as in Su et al. (2021) and nanoGPT-era models; our contexts are short.
ROPE_BASE = 10_000.0


class RMSNorm(nn.Module):
    """Root-mean-square norm with a learned gain (Zhang & Sennrich 2019); no bias."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise the last dimension of ``x``."""
        return F.rms_norm(x, (x.size(-1),), self.weight, self.eps)


def rope_tables(seq_len: int, head_dim: int, base: float = ROPE_BASE) -> torch.Tensor:
    """Cosines and sines of the rotary angles, shape ``(2, seq_len, head_dim // 2)``."""
    inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float64), inv_freq)  # (T, hd/2)
    return torch.stack([angles.cos(), angles.sin()]).float()


def apply_rope(x: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (first half, second half) of the last dimension; x is (B, h, T, hd)."""
    cos, sin = rope[0, : x.size(-2)], rope[1, : x.size(-2)]  # (T, hd/2)
    x1, x2 = x.chunk(2, dim=-1)  # (B, h, T, hd/2) each
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).type_as(x)


class Attention(nn.Module):
    """Causal grouped-query self-attention with RoPE and optional QK-norm."""

    def __init__(self, shape: TransformerShape) -> None:
        super().__init__()
        self.n_heads = shape.n_heads
        self.n_kv_heads = shape.kv_heads
        self.head_dim = shape.head_dim
        d, kv_dim = shape.d_model, shape.kv_heads * shape.head_dim
        self.split = (d, kv_dim, kv_dim)
        self.qkv = nn.Linear(d, d + 2 * kv_dim, bias=False)  # q, k, v fused: one matmul
        self.o = nn.Linear(d, d, bias=False)
        self.q_norm = RMSNorm(self.head_dim) if shape.qk_norm else None
        self.k_norm = RMSNorm(self.head_dim) if shape.qk_norm else None

    def forward(self, x: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
        """Attend causally over ``x`` of shape (B, T, d); returns (B, T, d)."""
        B, T, _ = x.shape
        q, k, v = self.qkv(x).split(self.split, dim=-1)  # (B, T, d), (B, T, G hd) x 2
        q = q.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, hd)
        k = k.view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, G, T, hd)
        v = v.view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, G, T, hd)
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = apply_rope(q, rope), apply_rope(k, rope)
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, enable_gqa=self.n_kv_heads != self.n_heads
        )  # (B, H, T, hd)
        return self.o(y.transpose(1, 2).reshape(B, T, -1))  # (B, T, d)


class FeedForward(nn.Module):
    """Gated (SwiGLU) or plain (GELU) two-layer MLP without biases."""

    def __init__(self, shape: TransformerShape) -> None:
        super().__init__()
        self.gated = shape.ffn == "gated"
        d, f = shape.d_model, shape.ffn_width
        # gated: W1 and W3 fused into one (d, 2f) matmul
        self.w13 = nn.Linear(d, 2 * f if self.gated else f, bias=False)
        self.w2 = nn.Linear(f, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (B, T, d) to (B, T, d)."""
        if self.gated:
            gate, up = self.w13(x).chunk(2, dim=-1)  # (B, T, f) each
            return self.w2(F.silu(gate) * up)  # (B, T, d)
        return self.w2(F.gelu(self.w13(x)))  # (B, T, d)


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm(x))`` then ``x + ffn(norm(x))``."""

    def __init__(self, shape: TransformerShape) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(shape.d_model)
        self.attn = Attention(shape)
        self.ffn_norm = RMSNorm(shape.d_model)
        self.ffn = FeedForward(shape)

    def forward(self, x: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
        """Apply the block to (B, T, d)."""
        x = x + self.attn(self.attn_norm(x), rope)
        return x + self.ffn(self.ffn_norm(x))


class GPT(nn.Module):
    """Decoder-only transformer built from a :class:`~distillscale.flops.TransformerShape`.

    ``__init__`` only creates modules; :meth:`init_weights` sets every value (called by
    ``__init__`` and again by the trainer after seeding).
    """

    def __init__(self, shape: TransformerShape) -> None:
        super().__init__()
        self.shape = shape
        self.embed = nn.Embedding(shape.vocab_size, shape.d_model)
        self.blocks = nn.ModuleList(Block(shape) for _ in range(shape.n_layers))
        self.norm = RMSNorm(shape.d_model)
        self.lm_head = nn.Linear(shape.d_model, shape.vocab_size, bias=False)
        if shape.tied_embeddings:
            self.lm_head.weight = self.embed.weight
        self.register_buffer("rope", rope_tables(shape.seq_len, shape.head_dim), persistent=False)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self) -> None:
        """Initialise from the default torch generator (seed it first for reproducibility).

        Matrices: normal with std ``1/sqrt(fan_in)``; output projections (attention ``o``, FFN
        ``w2``) scaled by ``1/sqrt(2 n_layers)`` (GPT-2 residual scaling); embedding std 1 (its
        rows are normalised before use); untied LM head std ``1/sqrt(d_model)``; norm gains 1.
        """
        residual_scale = 1.0 / math.sqrt(2 * self.shape.n_layers)
        for name, p in self.named_parameters():
            if p.ndim == 1:
                p.fill_(1.0)
            elif name == "embed.weight":
                p.normal_(0.0, 1.0 if not self.shape.tied_embeddings else self.shape.d_model**-0.5)
            else:
                std = p.size(1) ** -0.5
                if name.endswith(("attn.o.weight", "ffn.w2.weight")):
                    std *= residual_scale
                p.normal_(0.0, std)

    def param_groups(self) -> dict[str, list[torch.Tensor]]:
        """Parameters by accountant group: ``{"non_embedding": [...], "embedding": [...]}``.

        Embedding = token embedding plus the (untied) LM head; everything else, norm gains
        included, is non-embedding (the convention of :mod:`distillscale.flops.count`).
        """
        embedding: list[torch.Tensor] = [self.embed.weight]
        if not self.shape.tied_embeddings:
            embedding.append(self.lm_head.weight)
        ids = {id(p) for p in embedding}
        other: list[torch.Tensor] = [p for p in self.parameters() if id(p) not in ids]
        return {"non_embedding": other, "embedding": embedding}

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) for token ids ``idx`` of shape (B, T), T <= seq_len."""
        x = self.embed(idx)  # (B, T, d)
        for block in self.blocks:
            x = block(x, self.rope)  # (B, T, d)
        return self.lm_head(self.norm(x))  # (B, T, V)
