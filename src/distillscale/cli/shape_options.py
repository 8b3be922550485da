"""Shape options shared by ``distillscale flops`` and ``distillscale train``.

The option declarations (``--depth``, ``--layers``, ``--d-model``, ``--heads``, ``--kv-heads``,
``--ffn``) and their conversion to one :class:`~distillscale.flops.TransformerShape`.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from distillscale.errors import InputError

if TYPE_CHECKING:
    from distillscale.flops import TransformerShape


class Ffn(StrEnum):
    """FFN kinds accepted by ``--ffn``."""

    gated = "gated"
    plain = "plain"


def shape_from_options(
    depth: int | None,
    layers: int | None,
    d_model: int | None,
    heads: int | None,
    kv_heads: int | None,
    ffn: Ffn,
    ffn_dim: int | None,
    vocab: int,
    seq_len: int,
    tied: bool,
    qk_norm: bool | None,
) -> TransformerShape:
    """Build the shape from ``--depth`` (the family dial) or explicit ``--layers``/``--d-model``."""
    from distillscale.flops import TransformerShape, family_shape

    if depth is not None:
        if layers is not None or d_model is not None or heads is not None:
            raise InputError(
                "--depth picks layers, width and heads from the model family; drop --layers, "
                "--d-model and --heads, or drop --depth"
            )
        shape = family_shape(depth, vocab_size=vocab, seq_len=seq_len, ffn=ffn.value)
        return dataclasses.replace(
            shape,
            tied_embeddings=tied,
            n_kv_heads=shape.n_kv_heads if kv_heads is None else kv_heads,
            ffn_dim=shape.ffn_dim if ffn_dim is None else ffn_dim,
            qk_norm=shape.qk_norm if qk_norm is None else qk_norm,
        )
    if layers is None or d_model is None:
        raise InputError(
            "give the shape as --layers L --d-model D (optionally --heads H ...), "
            "or pick a family member with --depth N"
        )
    if heads is None:
        if d_model % 64:
            raise InputError(
                f"--d-model {d_model} is not a multiple of 64, so --heads has no default "
                "(head_dim 64); pass --heads H with H dividing d_model"
            )
        heads = d_model // 64
    return TransformerShape(
        n_layers=layers,
        d_model=d_model,
        n_heads=heads,
        n_kv_heads=kv_heads,
        ffn=ffn.value,
        ffn_dim=ffn_dim,
        vocab_size=vocab,
        seq_len=seq_len,
        tied_embeddings=tied,
        qk_norm=bool(qk_norm),
    )


DepthOption = Annotated[
    int | None,
    typer.Option(help="Model-family size dial: layers = N, width 64·N, head_dim 64."),
]
LayersOption = Annotated[int | None, typer.Option(help="Transformer blocks.")]
DModelOption = Annotated[int | None, typer.Option(help="Model width (features).")]
HeadsOption = Annotated[
    int | None, typer.Option(help="Query heads [default: d_model / 64].", show_default=False)
]
KvHeadsOption = Annotated[
    int | None,
    typer.Option(help="Key/value heads (GQA) [default: heads].", show_default=False),
]
FfnOption = Annotated[Ffn, typer.Option(help="FFN kind: gated (3 matrices) or plain (2).")]
