"""Parameter and forward-FLOPs counts of a :class:`~distillscale.flops.shape.TransformerShape`.

Counting convention (the one the trainer's torch model must match with ``numel()``):

* **embedding** parameters are the token embedding (``vocab_size * d_model``) plus the LM head
  (another ``vocab_size * d_model`` unless tied; zero extra when tied).
* **non-embedding** parameters are everything else: per layer the attention projections
  q, k, v, o (k and v have ``n_kv_heads * head_dim`` outputs), the FFN matrices (3 gated,
  2 plain), two RMSNorm weight vectors (``d_model`` each) and, with QK-norm, two per-head norm
  weights of ``head_dim`` each; plus the final RMSNorm (``d_model``). No biases, and RoPE has no
  parameters. Norm weights count as non-embedding.

Forward FLOPs per token (one multiply-add = 2 FLOPs):

* ``2 * (matmul parameters of the blocks)`` — every non-embedding parameter except norm weights;
* attention scores and values, ``2 * 2 * n_layers * n_ctx * d_model`` for a token that attends to
  ``n_ctx`` positions (Q K^T and A V, each ``2 * n_ctx * d_model``). With ``causal=True`` (the
  default) a token attends on average to half the context, ``n_ctx = seq_len / 2``, giving
  ``2 * n_layers * seq_len * d_model``: the convention of Kaplan et al. (2020) Table 1 and of
  Busbridge et al. (2025) App. H, which reproduces their Table 13. ``causal=False`` counts the
  full context, ``4 * n_layers * seq_len * d_model`` (what a dense attention kernel executes);
* the LM head, ``2 * d_model * vocab_size`` (the embedding lookup costs nothing);
* norms, softmax, RoPE and residual adds are not counted (well under 1%).

References: Kaplan et al. 2020, Table 1; Busbridge et al. 2025, App. H eq. 69 and Table 13.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from distillscale.errors import InputError
from distillscale.flops.shape import TransformerShape

__all__ = [
    "ParamCount",
    "busbridge_forward_flops",
    "busbridge_sigmas",
    "count_params",
    "forward_flops_per_token",
    "kaplan_forward_flops",
    "matmul_params",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamCount:
    """Parameter counts of a shape (see the module docstring for the convention).

    Parameters
    ----------
    non_embedding : int
        Parameters excluding token embedding and LM head; norm weights included (count).
    embedding : int
        Token embedding plus (untied) LM head (count).
    total : int
        ``non_embedding + embedding`` (count).
    """

    non_embedding: int
    embedding: int
    total: int


def _norm_params(shape: TransformerShape) -> int:
    """RMSNorm weights: two per layer, QK-norm pairs, the final norm (count)."""
    per_layer = 2 * shape.d_model + (2 * shape.head_dim if shape.qk_norm else 0)
    return shape.n_layers * per_layer + shape.d_model


def matmul_params(shape: TransformerShape) -> int:
    """Weights of the blocks' matrix multiplies: attention projections and FFN (count).

    Parameters
    ----------
    shape : TransformerShape
        The architecture.

    Returns
    -------
    int
        ``n_layers * (2 d^2 + 2 d * n_kv_heads * head_dim + n_mat * d * ffn_dim)``, with
        ``n_mat`` = 3 (gated) or 2 (plain). Excludes embedding, LM head and norms.
    """
    d = shape.d_model
    kv_dim = shape.kv_heads * shape.head_dim
    attention = 2 * d * d + 2 * d * kv_dim  # q, o: (d, d); k, v: (d, kv_dim)
    n_mat = 3 if shape.ffn == "gated" else 2
    return shape.n_layers * (attention + n_mat * d * shape.ffn_width)


def count_params(shape: TransformerShape) -> ParamCount:
    """Count parameters: non-embedding, embedding and total.

    Parameters
    ----------
    shape : TransformerShape
        The architecture.

    Returns
    -------
    ParamCount
        Counts in parameters; non-embedding excludes token embedding and LM head and includes
        norm weights.
    """
    non_embedding = matmul_params(shape) + _norm_params(shape)
    table = shape.vocab_size * shape.d_model
    embedding = table if shape.tied_embeddings else 2 * table
    assert non_embedding > 0 and embedding > 0  # groups add up by construction
    return ParamCount(
        non_embedding=non_embedding, embedding=embedding, total=non_embedding + embedding
    )


def forward_flops_per_token(
    shape: TransformerShape, exact: bool = True, *, causal: bool = True
) -> float:
    """Forward-pass FLOPs per token.

    Parameters
    ----------
    shape : TransformerShape
        The architecture.
    exact : bool
        True: matmuls + attention over the context + LM head (module docstring). False: the
        ``2N`` approximation, ``2 * non_embedding`` parameters.
    causal : bool
        With ``exact``: count the causal half of the attention context (``seq_len / 2``
        positions per token on average, Kaplan/Busbridge convention) or the full ``seq_len``.

    Returns
    -------
    float
        Forward FLOPs per token (operations).
    """
    if not exact:
        return 2.0 * count_params(shape).non_embedding
    context = shape.seq_len / 2 if causal else shape.seq_len
    attention = 2 * 2 * shape.n_layers * context * shape.d_model
    lm_head = 2 * shape.d_model * shape.vocab_size
    return float(2 * matmul_params(shape) + attention + lm_head)


def kaplan_forward_flops(shape: TransformerShape) -> float:
    """Kaplan et al. (2020) Eq. 2.2: ``C_fwd = 2N + 2 n_layer n_ctx d_model``.

    Parameters
    ----------
    shape : TransformerShape
        The architecture; ``N`` is its non-embedding count, ``n_ctx`` its ``seq_len``.

    Returns
    -------
    float
        Forward FLOPs per token (operations); LM head not included, as in Kaplan.
    """
    n = count_params(shape).non_embedding
    return float(2 * n + 2 * shape.n_layers * shape.seq_len * shape.d_model)


def busbridge_sigmas(
    *,
    rho_model: float = 128.0,
    g_size: float = 1.0,
    n_ffn: float = 3.0,
    rho_ffn: float = 8.0 / 3.0,
) -> tuple[float, float]:
    """Coefficients sigma1, sigma2 of Busbridge et al. (2025) App. H eq. 69.

    ``omega = 2 + 2/g_size + n_ffn * rho_ffn``; ``sigma1 = (rho_model * omega^2)^(-1/3)``;
    ``sigma2 = (rho_model / omega)^(1/3)``. Defaults give 0.037857 and 2.20128.

    Parameters
    ----------
    rho_model : float
        ``d_model / n_layers``.
    g_size : float
        Query heads per key/value head (1 for multi-head attention).
    n_ffn : float
        FFN matrices (3 gated, 2 plain).
    rho_ffn : float
        ``ffn_dim / d_model``.

    Returns
    -------
    tuple of float
        ``(sigma1, sigma2)``, dimensionless.
    """
    omega = 2.0 + 2.0 / g_size + n_ffn * rho_ffn
    return (rho_model * omega**2) ** (-1.0 / 3.0), (rho_model / omega) ** (1.0 / 3.0)


def busbridge_forward_flops(
    N: ArrayLike,
    n_ctx: int = 4096,
    n_vocab: int = 32168,
    *,
    rho_model: float = 128.0,
    g_size: float = 1.0,
    n_ffn: float = 3.0,
    rho_ffn: float = 8.0 / 3.0,
) -> NDArray[np.float64] | float:
    """Forward FLOPs per token from the non-embedding size alone, Busbridge et al. App. H eq. 69.

    ``F(N) = 2N (1 + sigma1 n_ctx / N^(1/3) + sigma2 n_vocab / N^(2/3))``; with
    ``N = n_layers d_model^2 omega`` this equals ``2N + 2 n_layers n_ctx d_model + 2 d_model
    n_vocab``, i.e. :func:`forward_flops_per_token` with causal attention and no norms.

    Parameters
    ----------
    N : array_like
        Non-embedding parameters (count), > 0.
    n_ctx : int
        Context length (tokens).
    n_vocab : int
        Vocabulary size (tokens); App. G.4 states 32168.
    rho_model, g_size, n_ffn, rho_ffn : float
        Architecture ratios, see :func:`busbridge_sigmas`.

    Returns
    -------
    float or ndarray
        Forward FLOPs per token (operations), a float for scalar ``N``.
    """
    n = np.asarray(N, dtype=np.float64)
    if not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise InputError(f"busbridge_forward_flops N: {N!r} must be finite and > 0 (parameters)")
    sigma1, sigma2 = busbridge_sigmas(
        rho_model=rho_model, g_size=g_size, n_ffn=n_ffn, rho_ffn=rho_ffn
    )
    flops = 2.0 * n * (1.0 + sigma1 * n_ctx / np.cbrt(n) + sigma2 * n_vocab / np.cbrt(n) ** 2)
    return float(flops) if flops.ndim == 0 else flops
