"""Transformer shapes: the architecture description every FLOPs and parameter count starts from.

The model family counted here is a decoder-only transformer with pre-norm RMSNorm (weights only,
no biases anywhere), grouped-query attention with RoPE (no positional embedding parameters),
optional QK-norm, a gated (SwiGLU-style, three matrices) or plain (two matrices) FFN, a final
norm, a token embedding and an LM head that is tied to the embedding or not.

Two shape families are provided:

* :func:`family_shape` — distillscale's own one-dial family (``--depth N``), used by the trainer
  in ``train/`` (which must build its torch model from this function so that the accountant and
  ``numel()`` agree).
* :func:`busbridge_shape` — the Apple family of Busbridge et al. (2025), App. G / Table 13.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from distillscale.errors import InputError

__all__ = [
    "FFN_MULTIPLE",
    "TransformerShape",
    "busbridge_shape",
    "default_ffn_dim",
    "family_shape",
]

#: Gated FFN width is ``8/3 * d_model`` rounded *up* to a multiple of this. 128 reproduces every
#: d_ffn of Busbridge et al. (2025) Table 13 (e.g. 1152 -> 3072, 1792 -> 4864, 5120 -> 13696).
FFN_MULTIPLE = 128

FfnKind = Literal["gated", "plain"]


def default_ffn_dim(d_model: int, ffn: FfnKind) -> int:
    """Default FFN hidden width for a model width.

    Parameters
    ----------
    d_model : int
        Residual stream width (features).
    ffn : {"gated", "plain"}
        ``"gated"``: ``ceil(8/3 * d_model / 128) * 128`` (three matrices, so roughly the
        parameters of a plain 4x FFN; the rounding reproduces Busbridge et al. Table 13).
        ``"plain"``: ``4 * d_model``.

    Returns
    -------
    int
        FFN hidden width (features).
    """
    if ffn == "plain":
        return 4 * d_model
    # integer ceil of 8*d/(3*M) avoids float rounding at exact multiples (d = 1152 -> 3072)
    return -(-8 * d_model // (3 * FFN_MULTIPLE)) * FFN_MULTIPLE


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError(
            f"TransformerShape.{name}: {value!r} is not a positive integer; "
            f"give {name} as a whole number >= 1"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TransformerShape:
    """Architecture of a decoder-only transformer, as far as counting needs it.

    Parameters
    ----------
    n_layers : int
        Transformer blocks.
    d_model : int
        Residual stream width (features); a multiple of ``n_heads``.
    n_heads : int
        Query heads; head dimension is ``d_model // n_heads``.
    n_kv_heads : int, optional
        Key/value heads (grouped-query attention); divides ``n_heads``. Default (None) is
        ``n_heads`` (multi-head attention); after construction it is always an int.
    ffn : {"gated", "plain"}
        Gated FFN (three matrices: gate, up, down) or plain (two: up, down).
    ffn_dim : int, optional
        FFN hidden width (features). Default (None): see :func:`default_ffn_dim`; after
        construction it is always an int.
    vocab_size : int
        Vocabulary size (tokens).
    seq_len : int
        Training context length (tokens).
    tied_embeddings : bool
        LM head shares the token embedding matrix.
    qk_norm : bool
        Per-head RMSNorm on queries and keys (one weight vector of ``head_dim`` each per layer).
    """

    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int | None = None
    ffn: FfnKind = "gated"
    ffn_dim: int | None = None
    vocab_size: int
    seq_len: int
    tied_embeddings: bool = False
    qk_norm: bool = False

    def __post_init__(self) -> None:
        for name in ("n_layers", "d_model", "n_heads", "vocab_size", "seq_len"):
            _positive_int(name, getattr(self, name))
        if self.ffn not in ("gated", "plain"):
            raise InputError(
                f"TransformerShape.ffn: {self.ffn!r} is not a known FFN; use 'gated' or 'plain'"
            )
        if self.d_model % self.n_heads:
            raise InputError(
                f"TransformerShape.d_model: {self.d_model} is not a multiple of "
                f"n_heads={self.n_heads}; pick n_heads dividing d_model "
                f"(e.g. {self.d_model // 64 or 1} for head_dim 64)"
            )
        if self.n_kv_heads is None:
            object.__setattr__(self, "n_kv_heads", self.n_heads)
        _positive_int("n_kv_heads", self.n_kv_heads)
        if self.n_heads % self.n_kv_heads:  # type: ignore[operator]
            raise InputError(
                f"TransformerShape.n_kv_heads: {self.n_kv_heads} does not divide "
                f"n_heads={self.n_heads}; use a divisor of n_heads (n_heads itself for MHA)"
            )
        if self.ffn_dim is None:
            object.__setattr__(self, "ffn_dim", default_ffn_dim(self.d_model, self.ffn))
        _positive_int("ffn_dim", self.ffn_dim)
        for name in ("tied_embeddings", "qk_norm"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(
                    f"TransformerShape.{name}: {getattr(self, name)!r} is not a bool; "
                    "use true or false"
                )

    @property
    def head_dim(self) -> int:
        """Features per attention head, ``d_model // n_heads``."""
        return self.d_model // self.n_heads

    @property
    def kv_heads(self) -> int:
        """Key/value heads as an int (``n_kv_heads`` once resolved)."""
        return int(self.n_kv_heads if self.n_kv_heads is not None else self.n_heads)

    @property
    def ffn_width(self) -> int:
        """FFN hidden width as an int (``ffn_dim`` once resolved)."""
        if self.ffn_dim is None:
            return default_ffn_dim(self.d_model, self.ffn)
        return int(self.ffn_dim)


def family_shape(
    depth: int,
    *,
    aspect: int = 64,
    head_dim: int = 64,
    vocab_size: int = 256,
    seq_len: int = 256,
    ffn: FfnKind = "gated",
) -> TransformerShape:
    """Shape of distillscale's model family from its one size dial, ``depth``.

    ``n_layers = depth``; ``d_model = aspect * depth`` rounded to the nearest multiple of
    ``head_dim`` (at least one head); ``n_heads = d_model // head_dim``; multi-head attention,
    untied embeddings, QK-norm on, FFN width by :func:`default_ffn_dim`. The trainer builds its
    torch model from this shape (``--depth N`` on every command).

    Parameters
    ----------
    depth : int
        Transformer blocks (the size dial).
    aspect : int
        Model width per layer (features per block), nanochat's ``model_dim = 64 * depth``.
    head_dim : int
        Features per attention head.
    vocab_size : int
        Vocabulary size (tokens); 256 is the byte-level tokenizer.
    seq_len : int
        Context length (tokens).
    ffn : {"gated", "plain"}
        FFN kind.

    Returns
    -------
    TransformerShape
        The family member.
    """
    for name, value in (("depth", depth), ("aspect", aspect), ("head_dim", head_dim)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InputError(
                f"family_shape {name}: {value!r} is not a positive integer; give {name} >= 1"
            )
    n_heads = max(1, math.floor(aspect * depth / head_dim + 0.5))
    return TransformerShape(
        n_layers=depth,
        d_model=n_heads * head_dim,
        n_heads=n_heads,
        ffn=ffn,
        vocab_size=vocab_size,
        seq_len=seq_len,
        qk_norm=True,
    )


def busbridge_shape(
    n_layers: int,
    *,
    vocab_size: int = 32168,
    seq_len: int = 4096,
) -> TransformerShape:
    """Shape of the Busbridge et al. (2025) model family (App. G, Table 13).

    ``d_model = 128 * n_layers`` (rho_model = 128), multi-head attention, gated FFN of width
    ``ceil(8/3 d_model / 128) * 128`` (the published d_ffn values), pre-RMSNorm, QK-norm,
    context 4096. App. G.4 states ``n_vocab = 32168``; Table 13's forward FLOPs are reproduced
    to within 2e-4 with 32768 instead (see ``docs/flops.md``), so pass ``vocab_size=32768`` to
    reproduce that table.

    Parameters
    ----------
    n_layers : int
        Transformer blocks (8 to 40 in the paper).
    vocab_size : int
        Vocabulary size (tokens).
    seq_len : int
        Context length (tokens).

    Returns
    -------
    TransformerShape
        The family member; ``head_dim`` is 128.
    """
    _positive_int("n_layers", n_layers)
    d_model = 128 * n_layers
    return TransformerShape(
        n_layers=n_layers,
        d_model=d_model,
        n_heads=n_layers,
        ffn="gated",
        vocab_size=vocab_size,
        seq_len=seq_len,
        qk_norm=True,
    )
