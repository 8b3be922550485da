"""Hugging Face model directories, without torch or transformers: shape, identity, location.

The torch-free half of :mod:`distillscale.train.hf` (the study planner imports it to expand and
hash runs). A model is named by a local directory holding a ``config.json``
(``save_pretrained`` output), or by ``hf:ID`` (a hub id, fetched through ``huggingface_hub``;
offline, only what is already in the local hub cache).

The architectures in :data:`SUPPORTED` map exactly onto the accountant's
:class:`~distillscale.flops.TransformerShape` as far as FLOPs go (every matmul of the forward
pass: attention projections, FFN, LM head; biases, norms and position embeddings cost no matmul
FLOPs, as in the accountant). Other architectures are refused with an error naming the
``model_type``. Identity is content: SHA-256 over the directory's config, weight and tokenizer
files (every byte, read in 4 MiB blocks).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from distillscale.errors import InputError, require
from distillscale.flops import TransformerShape
from distillscale.runs.config import TeacherRef

__all__ = [
    "HF_PREFIX",
    "SUPPORTED",
    "files_digest",
    "hf_shape",
    "hf_teacher_ref",
    "is_hf_source",
    "read_config",
    "resolve_hf",
    "tokenizer_files_digest",
]

#: Prefix of a Hugging Face teacher or tokenizer reference (``hf:DIR`` or ``hf:ID``).
HF_PREFIX = "hf:"
#: ``model_type`` values whose forward FLOPs the accountant counts exactly.
SUPPORTED = ("gpt2", "llama")
#: Files of a model directory hashed into the teacher's id (weights, config, tokenizer).
_HASHED_SUFFIXES = (".json", ".safetensors", ".bin", ".model", ".txt", ".tiktoken")
#: Files fetched for a hub id: config, safetensors weights, tokenizer (not other frameworks').
_HUB_PATTERNS = ("*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken")
#: Tokenizer files (hashed into a tokenizer's identity).
_TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
    "merges.txt", "tokenizer.model", "added_tokens.json", "vocab.txt",
)  # fmt: skip


def is_hf_source(source: str) -> bool:
    """True for ``hf:...`` or a local directory holding a transformers ``config.json``."""
    if source.startswith(HF_PREFIX):
        return True
    path = Path(source)
    return (
        path.is_dir() and (path / "config.json").is_file() and not (path / "checkpoint.pt").exists()
    )


def resolve_hf(source: str, key: str = "teacher") -> Path:
    """The local directory of an HF model: ``DIR``, ``hf:DIR`` or ``hf:ID`` (hub, cached).

    Raises
    ------
    InputError
        Not a directory with a ``config.json``, and not fetchable from the hub (offline, no
        such id, no network), named under ``key``.
    """
    name = source[len(HF_PREFIX) :] if source.startswith(HF_PREFIX) else source
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputError(
                f"{key}: {source!r} is a directory without config.json; give a directory "
                "written by transformers' save_pretrained, or hf:ID"
            )
        return path.resolve()
    hub = require("huggingface_hub", "hf", "a Hugging Face hub teacher")
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
    try:
        folder = hub.snapshot_download(
            name, local_files_only=offline, allow_patterns=list(_HUB_PATTERNS)
        )
    except Exception as exc:  # hub errors: offline, not found, network, bad id
        why = (
            "offline (HF_HUB_OFFLINE=1) and not in the local hub cache"
            if offline
            else (f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        )
        raise InputError(
            f"{key}: {source!r} is not a local model directory and cannot be fetched from the "
            f"Hugging Face hub ({why}); give a directory saved with save_pretrained"
        ) from None
    return Path(folder).resolve()


def read_config(folder: Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a model directory."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"teacher: cannot read {folder / 'config.json'}: {exc}") from None
    if not isinstance(config, dict):
        raise InputError(f"teacher: {folder / 'config.json'} is not a JSON object")
    return config


def hf_shape(config: dict[str, Any], source: str = "teacher") -> TransformerShape:
    """The accountant's shape of a transformers ``config.json`` (GPT-2 or Llama style).

    GPT-2: plain GELU FFN of width ``n_inner`` (default 4 d), multi-head attention, tied
    embeddings, context ``n_positions``. Llama: gated FFN of width ``intermediate_size``,
    ``num_key_value_heads`` (GQA), context ``max_position_embeddings``. Matmul FLOPs are equal;
    parameter counts are not (GPT-2's biases and position embeddings are not in the shape).

    Raises
    ------
    InputError
        Another ``model_type``, or a Llama ``head_dim`` other than ``hidden_size / heads``.
    """
    kind = config.get("model_type")
    try:
        if kind == "gpt2":
            d = int(config["n_embd"])
            return TransformerShape(
                n_layers=int(config["n_layer"]),
                d_model=d,
                n_heads=int(config["n_head"]),
                ffn="plain",
                ffn_dim=int(config.get("n_inner") or 4 * d),
                vocab_size=int(config["vocab_size"]),
                seq_len=int(config["n_positions"]),
                tied_embeddings=bool(config.get("tie_word_embeddings", True)),
            )
        if kind == "llama":
            d, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
            head_dim = config.get("head_dim")
            if head_dim is not None and int(head_dim) * heads != d:
                raise InputError(
                    f"{source}: head_dim {head_dim} x {heads} heads != hidden_size {d}; the "
                    "FLOPs accountant needs head_dim = hidden_size / num_attention_heads"
                )
            return TransformerShape(
                n_layers=int(config["num_hidden_layers"]),
                d_model=d,
                n_heads=heads,
                n_kv_heads=int(config.get("num_key_value_heads") or heads),
                ffn="gated",
                ffn_dim=int(config["intermediate_size"]),
                vocab_size=int(config["vocab_size"]),
                seq_len=int(config["max_position_embeddings"]),
                tied_embeddings=bool(config.get("tie_word_embeddings", False)),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{source}: config.json of model_type {kind!r} lacks {exc}") from None
    raise InputError(
        f"{source}: model_type {kind!r} is not supported (its FLOPs cannot be counted exactly); "
        f"supported: {', '.join(SUPPORTED)}"
    )


def files_digest(folder: Path) -> str:
    """SHA-256 over the names and bytes of a model directory's config, weight, tokenizer files."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in _HASHED_SUFFIXES and ".cache" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 22):
                    digest.update(chunk)
    return digest.hexdigest()


def hf_teacher_ref(source: str) -> TeacherRef:
    """A :class:`TeacherRef` for a transformers causal LM (``checkpoint`` is ``hf:DIR``).

    The run id is the first 16 hex digits of the SHA-256 of the directory's config, weight and
    tokenizer files, so an edited model or tokenizer is another teacher. ``loss`` and
    ``tokens`` are unknown (None).
    """
    folder = resolve_hf(source)
    shape = hf_shape(read_config(folder), f"teacher {source!r}")
    return TeacherRef(
        checkpoint=HF_PREFIX + str(folder),
        shape=shape,
        run_id=files_digest(folder)[:16],
    )


def tokenizer_files_digest(source: str) -> str:
    """SHA-256 over the names and bytes of the tokenizer files of a model directory.

    Raises
    ------
    InputError
        The directory holds no tokenizer file.
    """
    folder = resolve_hf(source, "data.tokenizer")
    digest = hashlib.sha256()
    found = False
    for name in _TOKENIZER_FILES:
        path = folder / name
        if path.is_file():
            found = True
            digest.update(name.encode() + b"\0" + path.read_bytes())
    if not found:
        raise InputError(
            f"data.tokenizer: {source!r} holds no tokenizer files (tokenizer.json, vocab.json, "
            "...); save the tokenizer next to the model (tokenizer.save_pretrained)"
        )
    return digest.hexdigest()
