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

import dataclasses
import hashlib
import json
import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

from distillscale.errors import InputError, require
from distillscale.flops import TransformerShape
from distillscale.runs.config import TeacherRef

__all__ = [
    "HF_PREFIX",
    "SUPPORTED",
    "check_hf_student",
    "files_digest",
    "hf_shape",
    "hf_student",
    "hf_teacher_ref",
    "is_hf_source",
    "read_config",
    "read_student_config",
    "resolve_hf",
    "scale_hf_config",
    "student_tokenizer",
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


def read_config(folder: Path, key: str = "teacher") -> dict[str, Any]:
    """The parsed ``config.json`` of a model directory (``folder`` may also be the file)."""
    path = folder if folder.suffix == ".json" and folder.is_file() else folder / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{key}: cannot read {path}: {exc}") from None
    if not isinstance(config, dict):
        raise InputError(f"{key}: {path} is not a JSON object")
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


# ---- students: a transformers config scaled by the depth dial --------------------------------

#: Per ``model_type``: the config keys of (layers, width, query heads, key/value heads, FFN width).
_DIAL_KEYS = {
    "gpt2": ("n_layer", "n_embd", "n_head", None, "n_inner"),
    "llama": (
        "num_hidden_layers", "hidden_size", "num_attention_heads", "num_key_value_heads",
        "intermediate_size",
    ),
}  # fmt: skip


def read_student_config(
    source: str, key: str = "students.hf_config"
) -> tuple[Path, dict[str, Any]]:
    """The ``config.json`` a student family is scaled from: its path and parsed content.

    ``source`` is a local directory holding ``config.json`` or a ``.json`` file (never fetched
    from the hub: a student's config is a few keys, its weights are random).

    Raises
    ------
    InputError
        Not a directory with ``config.json`` nor a JSON file, unreadable, or not an object,
        named under ``key``.
    """
    path = Path(source.removeprefix(HF_PREFIX)).expanduser()
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise InputError(
            f"{key}: {source!r} is neither a directory holding config.json nor a config .json "
            "file; give a local transformers config (save_pretrained output, or config.json)"
        )
    path = path.resolve()
    return path, read_config(path, key)


def scale_hf_config(config: dict[str, Any], depth: int, *, source: str) -> dict[str, Any]:
    """``config`` (GPT-2 or Llama) scaled to ``depth`` layers by the family's one dial.

    As :func:`distillscale.flops.family_shape` scales distillscale's GPT: the head width
    ``head_dim = d / heads`` stays, ``d_model = aspect x depth`` with the config's aspect
    ``d / layers``, rounded to the nearest multiple of ``head_dim`` (at least one head); query
    heads ``d_model / head_dim``; key/value heads keep the config's query heads per key/value
    head; the FFN width keeps the config's ratio to ``d`` (rounded to the nearest integer;
    GPT-2's ``n_inner: null``, 4 d, stays null). Every other key is kept. At the config's own
    depth the result equals the config.

    Raises
    ------
    InputError
        Another ``model_type``, missing keys, or a depth whose head count the config's
        grouped-query attention cannot group (naming ``source`` and the key).
    """
    kind = config.get("model_type")
    base = hf_shape(config, source)  # refuses other model types, missing keys, bad head_dim
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise InputError(f"{source}: depth {depth!r} is not a positive number of layers")
    k_layers, k_width, k_heads, k_kv, k_ffn = _DIAL_KEYS[str(kind)]
    head_dim = base.head_dim
    aspect = Fraction(base.d_model, base.n_layers)
    heads = max(1, math.floor(aspect * depth / head_dim + Fraction(1, 2)))
    width = heads * head_dim
    out = dict(config)
    out[k_layers], out[k_width], out[k_heads] = depth, width, heads
    if k_kv is not None and config.get(k_kv) is not None:
        group = base.n_heads // base.kv_heads  # query heads per key/value head
        if heads % group:
            raise InputError(
                f"{source}: depth {depth} gives {heads} query heads (d_model {width} / head_dim "
                f"{head_dim}), which the config's {group} query heads per key/value head "
                f"({k_heads} {base.n_heads} / {k_kv} {base.kv_heads}) cannot group; choose a "
                f"depth whose head count is a multiple of {group}"
            )
        out[k_kv] = heads // group
    if "head_dim" in config and kind == "llama" and config["head_dim"] is not None:
        out["head_dim"] = head_dim
    if config.get(k_ffn) is not None:
        out[k_ffn] = max(
            1, math.floor(Fraction(base.ffn_width * width, base.d_model) + Fraction(1, 2))
        )
    return out


def hf_student(
    config: dict[str, Any], depth: int, seq_len: int, *, source: str
) -> tuple[TransformerShape, dict[str, Any]]:
    """The accountant's shape (context ``seq_len``) and the scaled config of one student.

    Raises
    ------
    InputError
        As :func:`scale_hf_config`, or a context (``n_positions`` /
        ``max_position_embeddings``) shorter than ``seq_len``.
    """
    scaled = scale_hf_config(config, depth, source=source)
    shape = hf_shape(scaled, source)
    if shape.seq_len < seq_len:
        key = "n_positions" if config.get("model_type") == "gpt2" else "max_position_embeddings"
        raise InputError(
            f"{source}: context {key} {shape.seq_len} is shorter than the training seq_len "
            f"{seq_len}; raise {key} or use a seq_len <= {shape.seq_len}"
        )
    return dataclasses.replace(shape, seq_len=seq_len), scaled


def check_hf_student(hf_config: dict[str, Any], shape: TransformerShape) -> None:
    """Refuse a run whose ``shape`` is not its transformers config's (a hand-made config).

    Raises
    ------
    InputError
        The config's model type is unsupported, or its shape (context aside) differs.
    """
    theirs = hf_shape(hf_config, "hf_config")
    if theirs.seq_len < shape.seq_len:
        raise InputError(
            f"hf_config: context {theirs.seq_len} tokens is shorter than seq_len "
            f"{shape.seq_len}; use a seq_len <= {theirs.seq_len}"
        )
    if dataclasses.replace(theirs, seq_len=shape.seq_len) != shape:
        raise InputError(
            f"hf_config: the transformers config's shape {theirs} is not the run's shape "
            f"{shape}; build both with distillscale.train.hf_config.hf_student"
        )


def student_tokenizer(source: str) -> str | None:
    """``hf:DIR`` when ``source`` is a model directory holding a tokenizer, else None.

    A student config given as a directory brings its tokenizer (``tokenizer.save_pretrained``
    beside ``config.json``); one given as a ``.json`` file, or a directory without tokenizer
    files, uses the data's tokenizer.
    """
    folder = Path(source.removeprefix(HF_PREFIX)).expanduser()
    if folder.is_dir() and any((folder / name).is_file() for name in _TOKENIZER_FILES):
        return HF_PREFIX + str(folder.resolve())
    return None
