"""``distillscale flops``: parameters and FLOPs of a transformer shape, from the accountant."""

from __future__ import annotations

import dataclasses
import math
from typing import Annotated

import typer
from rich.table import Table

from distillscale.cli.app import app, emit_json, err_console
from distillscale.cli.shape_options import (
    DepthOption,
    DModelOption,
    Ffn,
    FfnOption,
    HeadsOption,
    KvHeadsOption,
    LayersOption,
    shape_from_options,
)
from distillscale.errors import InputError


@app.command("flops")
def flops(
    depth: DepthOption = None,
    layers: LayersOption = None,
    d_model: DModelOption = None,
    heads: HeadsOption = None,
    kv_heads: KvHeadsOption = None,
    ffn: FfnOption = Ffn.gated,
    ffn_dim: Annotated[
        int | None,
        typer.Option(
            help="FFN width (features) [default: gated ceil(8/3·d_model/128)·128, plain "
            "4·d_model].",
            show_default=False,
        ),
    ] = None,
    vocab: Annotated[int, typer.Option(help="Vocabulary size (tokens).")] = 256,
    seq_len: Annotated[int, typer.Option(help="Context length (tokens).")] = 256,
    tied: Annotated[
        bool, typer.Option("--tied/--untied", help="LM head tied to the token embedding.")
    ] = False,
    qk_norm: Annotated[
        bool | None,
        typer.Option(
            "--qk-norm/--no-qk-norm",
            help="Per-head RMSNorm on q and k [default: on with --depth, else off].",
            show_default=False,
        ),
    ] = None,
    causal: Annotated[
        bool,
        typer.Option(
            "--causal/--full-context",
            help="Attention FLOPs over half the context (causal average) or all of it.",
        ),
    ] = True,
    tokens: Annotated[
        float | None,
        typer.Option(help="Training tokens (count, e.g. 2e9): adds total training FLOPs."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Count parameters (non-embedding, embedding, total) and FLOPs per token of one shape.

    Forward FLOPs count 2 per matmul weight, attention over the context and the LM head;
    training FLOPs are 3 x forward. See docs/flops.md for the conventions.
    """
    from distillscale.flops import (
        count_params,
        forward_flops_per_token,
        kaplan_forward_flops,
    )

    shape = shape_from_options(
        depth, layers, d_model, heads, kv_heads, ffn, ffn_dim, vocab, seq_len, tied, qk_norm
    )
    if tokens is not None and not (math.isfinite(tokens) and tokens > 0):
        raise InputError(f"--tokens {tokens:g}: must be a positive finite count of training tokens")
    pc = count_params(shape)
    forward = forward_flops_per_token(shape, causal=causal)
    document: dict[str, object] = {
        "params": {"non_embedding": pc.non_embedding, "embedding": pc.embedding, "total": pc.total},
        "forward_flops_per_token": forward,
        "training_flops_per_token": 3.0 * forward,
        "forward_flops_per_token_2n": forward_flops_per_token(shape, exact=False),
        "kaplan_forward_flops_per_token": kaplan_forward_flops(shape),
        "causal": causal,
        "shape": dataclasses.asdict(shape),
        "tokens": None if tokens is None else int(tokens),
        "training_flops": None if tokens is None else 3.0 * forward * int(tokens),
        "tokens_per_param": None if tokens is None else int(tokens) / pc.non_embedding,
    }
    if json_out:
        emit_json(document)
        return
    table = Table(title="distillscale flops", show_header=False)
    s = shape
    table.add_row(
        "shape",
        f"layers {s.n_layers}, d_model {s.d_model}, heads {s.n_heads}/{s.n_kv_heads} kv, "
        f"{s.ffn} ffn {s.ffn_dim}, vocab {s.vocab_size}, seq_len {s.seq_len}, "
        f"{'tied' if s.tied_embeddings else 'untied'}{', qk-norm' if s.qk_norm else ''}",
    )
    table.add_row("params (non-embedding)", f"{pc.non_embedding:,}")
    table.add_row("params (embedding)", f"{pc.embedding:,}")
    table.add_row("params (total)", f"{pc.total:,}")
    table.add_row(
        f"forward FLOPs/token ({'causal' if causal else 'full context'})", f"{forward:.6g}"
    )
    table.add_row("forward FLOPs/token (2N)", f"{2 * pc.non_embedding:.6g}")
    table.add_row("training FLOPs/token (3 x forward)", f"{3 * forward:.6g}")
    if tokens is not None:
        table.add_row("training FLOPs", f"{3 * forward * int(tokens):.6g}")
        table.add_row("tokens per parameter", f"{int(tokens) / pc.non_embedding:.4g}")
    err_console.print(table)
